//! `zkdump sessions PATH`: the restore-safety report. Which sessions a restored server would keep
//! alive (until they time out), and their ephemeral nodes grouped by parent, so that locks,
//! leader elections and service registrations held by sessions stand out.
//!
//! `PATH` may be a snapshot (its session table and ephemeral nodes), a data dir (replayed to its
//! end with [`zkformat::tree::replay_datadir`]) or a txn log (sessions created and closed in it,
//! and the ephemerals they created that the log does not delete).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use zkformat::recipe::{classify, Recipe};
use zkformat::sessions::SessionTracker;
use zkformat::txn::Txn;

use super::render::json::{quote, Obj};
use super::source::{is_snapshot_kind, LogSource, SnapSource};
use super::{hex64, parent_of, path_str, plural};
use crate::cli::{output_error, unknown_kind_error, CliError, Input, EXIT_OK};

/// Sessions and their ephemerals.
#[derive(Debug, Clone, Default)]
pub struct SessionTable {
    /// Session id → timeout (`None`: not in the table, e.g. created before a log starts).
    pub sessions: BTreeMap<i64, Option<i32>>,
    /// Owner → ephemeral paths.
    pub ephemerals: BTreeMap<i64, BTreeSet<Vec<u8>>>,
    /// Where the table comes from.
    pub source: String,
}

/// Runs `sessions`. Returns the exit code.
///
/// # Errors
/// Opening the input; output errors.
pub fn run(
    arg: &str,
    json: bool,
    limits: zkformat::Limits,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let opened = crate::inputs::materialize(arg)?;
    let (path, temp) = opened.path(arg);
    let shown = |t: String| crate::inputs::show_as(&t, temp, arg);
    let table = if path.is_dir() {
        let dd = zkformat::datadir::DataDir::scan(path).map_err(|e| CliError::io(arg, &e))?;
        let rp = zkformat::tree::replay_datadir(&dd, None, limits)
            .map_err(|fe| CliError::format(&shown(fe.path.display().to_string()), &fe.error))?;
        let mut t = SessionTable {
            source: shown(
                format!(
                    "data dir replayed to zxid {} from {}",
                    rp.tree.last_zxid,
                    rp.snapshot
                        .as_ref()
                        .map_or_else(|| "the empty tree".to_string(), |p| p.display().to_string())
                ) + &opened.note().map(|n| format!(" ({n})")).unwrap_or_default(),
            ),
            ..SessionTable::default()
        };
        for (id, timeout) in &rp.tree.sessions {
            t.sessions.insert(*id, Some(*timeout));
            let eph: BTreeSet<Vec<u8>> = rp.tree.ephemerals_of(*id).map(<[u8]>::to_vec).collect();
            if !eph.is_empty() {
                t.ephemerals.insert(*id, eph);
            }
        }
        t
    } else {
        let input = Input::open(&path.display().to_string())?;
        let kind = input.kind();
        let name = if temp.is_some() {
            arg.to_string()
        } else {
            input.name()
        };
        if kind == zkformat::kind::FileKind::TxnLog {
            from_log(&input, &name, limits)?
        } else if is_snapshot_kind(kind) {
            from_snapshot(&input, &name, limits)?
        } else {
            let prefix = input.head();
            return Err(unknown_kind_error(&name, &prefix));
        }
    };
    render(&table, json, out).map_err(output_error)?;
    out.flush().map_err(output_error)?;
    Ok(EXIT_OK)
}

fn from_snapshot(
    input: &Input,
    name: &str,
    limits: zkformat::Limits,
) -> Result<SessionTable, CliError> {
    std::thread::scope(|scope| {
        let mut src =
            SnapSource::open(scope, input, limits).map_err(|e| CliError::format(name, &e))?;
        let mut tracker = SessionTracker::default();
        while let Some(item) = src.next_item().map_err(|e| CliError::format(name, &e))? {
            tracker.see_item(&item.value);
        }
        Ok(table_of(tracker, format!("snapshot {name}")))
    })
}

fn from_log(input: &Input, name: &str, limits: zkformat::Limits) -> Result<SessionTable, CliError> {
    let (_, mut src) = LogSource::open(input, limits).map_err(|e| CliError::format(name, &e))?;
    let mut tracker = SessionTracker::default();
    // Sessions that create an ephemeral without a createSession in the log were opened before
    // it: live (with no timeout known here) until the log closes them.
    let mut opened_before: BTreeSet<i64> = BTreeSet::new();
    while let Some(e) = src.next_entry().map_err(|e| CliError::format(name, &e))? {
        let Ok(rec) = e.record() else { continue };
        let sid = rec.header.session;
        match &rec.body {
            Txn::CloseSession(_) => {
                opened_before.remove(&sid);
            }
            Txn::Multi(m)
                if !m.failed()
                    && m.ops()
                        .any(|o| matches!(o.txn(), Ok(t) if creates_ephemeral(&t))) =>
            {
                opened_before.insert(sid);
            }
            other if creates_ephemeral(other) => {
                opened_before.insert(sid);
            }
            _ => {}
        }
        tracker.see_txn(&rec);
    }
    for sid in opened_before {
        tracker.sessions.entry(sid).or_insert(None);
    }
    Ok(table_of(
        tracker,
        format!("txn log {name} (sessions opened before the log have no timeout here)"),
    ))
}

fn creates_ephemeral(t: &Txn<'_>) -> bool {
    matches!(t, Txn::Create(c) | Txn::Create2(c) if c.ephemeral.get())
}

/// The table of what a [`SessionTracker`] saw.
fn table_of(tracker: SessionTracker, source: String) -> SessionTable {
    let mut t = SessionTable {
        sessions: tracker.sessions,
        source,
        ..SessionTable::default()
    };
    for (path, owner) in tracker.ephemerals {
        t.ephemerals.entry(owner).or_default().insert(path);
    }
    t
}

/// The recipe of every parent of an ephemeral, judged from all its ephemeral children
/// (whichever session owns them), with [`zkformat::recipe::classify`] — the rule `zkfilter`'s
/// report uses, so a parent gets the same name in both.
pub fn recipes(t: &SessionTable) -> BTreeMap<&[u8], Recipe> {
    let mut children: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
    for p in t.ephemerals.values().flatten() {
        children.entry(parent_of(p)).or_default().push(p);
    }
    children
        .into_iter()
        .map(|(parent, kids)| (parent, classify(parent, kids)))
        .collect()
}

/// Renders the table.
///
/// # Errors
/// Output errors.
pub fn render(t: &SessionTable, json: bool, out: &mut dyn Write) -> io::Result<()> {
    let owners: BTreeSet<i64> = t
        .sessions
        .keys()
        .chain(t.ephemerals.keys())
        .copied()
        .collect();
    let recipes = recipes(t);
    let recipe_of = |parent: &[u8]| recipes.get(parent).map_or("other", |r| r.name());
    if json {
        let mut o = Obj::kind("sessionsReport");
        o.str("source", &t.source)
            .int("sessions", t.sessions.len() as u64)
            .int(
                "ephemerals",
                t.ephemerals.values().map(|s| s.len() as u64).sum::<u64>(),
            );
        o.line(out)?;
    } else {
        writeln!(out, "Sessions in {}:", t.source)?;
        writeln!(
            out,
            "{}, {}. A restored server keeps every live session until its timeout passes without the client reconnecting; until then its ephemerals (locks, leader latches, registrations) stay in place.",
            plural(t.sessions.len() as u64, "live session", "live sessions"),
            plural(
                t.ephemerals.values().map(BTreeSet::len).sum::<usize>() as u64,
                "ephemeral node",
                "ephemeral nodes"
            )
        )?;
    }
    for id in owners {
        let timeout = t.sessions.get(&id).copied();
        let eph = t.ephemerals.get(&id);
        let mut groups: BTreeMap<&[u8], Vec<&Vec<u8>>> = BTreeMap::new();
        if let Some(e) = eph {
            for p in e {
                groups.entry(parent_of(p)).or_default().push(p);
            }
        }
        if json {
            let mut o = Obj::kind("session");
            o.hex("session", id)
                .bool("live", timeout.is_some())
                .opt_int("timeout", timeout.flatten().map(i64::from))
                .int("ephemerals", eph.map_or(0, |e| e.len() as u64));
            let gs: Vec<String> = groups
                .iter()
                .map(|(parent, kids)| {
                    let mut g = Obj::new();
                    let paths: Vec<String> = kids.iter().map(|k| quote(&path_str(k))).collect();
                    g.str("parent", &path_str(parent))
                        .str("recipe", recipe_of(parent))
                        .raw("paths", &format!("[{}]", paths.join(",")));
                    g.finish()
                })
                .collect();
            o.raw("groups", &format!("[{}]", gs.join(",")));
            o.line(out)?;
        } else {
            let state = match timeout {
                Some(Some(ms)) => format!("live, timeout {ms} ms"),
                Some(None) => "live (opened before this log)".to_string(),
                None => "NOT IN THE SESSION TABLE (orphaned ephemerals)".to_string(),
            };
            writeln!(
                out,
                "session {}: {state}, {}",
                hex64(id),
                plural(
                    eph.map_or(0, BTreeSet::len) as u64,
                    "ephemeral",
                    "ephemerals"
                )
            )?;
            for (parent, kids) in &groups {
                writeln!(out, "  {} [{}]", path_str(parent), recipe_of(parent))?;
                for k in kids {
                    writeln!(out, "    {}", path_str(k))?;
                }
            }
        }
    }
    Ok(())
}
