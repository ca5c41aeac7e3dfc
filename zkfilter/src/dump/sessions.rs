//! `zkdump sessions PATH`: the restore-safety report. Which sessions a restored server would keep
//! alive (until they time out), and their ephemeral nodes grouped by parent, so that locks,
//! leader elections and service registrations held by sessions stand out.
//!
//! `PATH` may be a snapshot (its session table and ephemeral nodes), a data dir (replayed to its
//! end with [`zkformat::tree::replay_datadir`]) or a txn log (sessions created and closed in it,
//! and the ephemerals they created that the log does not delete).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use zkformat::data::NodeKind;
use zkformat::snapshot::SnapshotItem;
use zkformat::txn::Txn;

use super::render::json::{quote, Obj};
use super::source::{is_snapshot_kind, LogSource, SnapSource};
use super::{hex64, parent_of, path_str};
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
    let path = Path::new(arg);
    let table = if arg != "-" && path.is_dir() {
        let dd = zkformat::datadir::DataDir::scan(path).map_err(|e| CliError::io(arg, &e))?;
        let rp = zkformat::tree::replay_datadir(&dd, None, limits)
            .map_err(|fe| CliError::format(&fe.path.display().to_string(), &fe.error))?;
        let mut t = SessionTable {
            source: format!(
                "data dir replayed to zxid {} from {}",
                rp.tree.last_zxid,
                rp.snapshot
                    .as_ref()
                    .map_or_else(|| "the empty tree".to_string(), |p| p.display().to_string())
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
        let input = Input::open(arg)?;
        let kind = input.kind();
        let name = input.name();
        if kind == zkformat::kind::FileKind::TxnLog {
            from_log(&input, &name, limits)?
        } else if is_snapshot_kind(kind) {
            from_snapshot(&input, &name, limits)?
        } else {
            let prefix = input
                .bytes()
                .map(|b| b.get(..8).unwrap_or(b).to_vec())
                .unwrap_or_default();
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
        let mut t = SessionTable {
            source: format!("snapshot {name}"),
            ..SessionTable::default()
        };
        while let Some(item) = src.next_item().map_err(|e| CliError::format(name, &e))? {
            match item.value {
                SnapshotItem::Session(s) => {
                    t.sessions.insert(s.id, Some(s.timeout));
                }
                SnapshotItem::Node(n) => {
                    if let NodeKind::Ephemeral(owner) = n.stat.kind() {
                        t.ephemerals
                            .entry(owner)
                            .or_default()
                            .insert(n.path.to_vec());
                    }
                }
                _ => {}
            }
        }
        Ok(t)
    })
}

fn from_log(input: &Input, name: &str, limits: zkformat::Limits) -> Result<SessionTable, CliError> {
    let (_, mut src) = LogSource::open(input, limits).map_err(|e| CliError::format(name, &e))?;
    let mut t = SessionTable {
        source: format!("txn log {name} (sessions opened before the log have no timeout here)"),
        ..SessionTable::default()
    };
    // Ephemeral path → owner, for paths created in this log.
    let mut owner_of: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    while let Some(e) = src.next_entry().map_err(|e| CliError::format(name, &e))? {
        let Ok(rec) = e.record() else { continue };
        let sid = rec.header.session;
        let mut apply = |body: &Txn<'_>, t: &mut SessionTable| match body {
            Txn::Create(c) | Txn::Create2(c) if c.ephemeral.get() => {
                owner_of.insert(c.path.to_vec(), sid);
                t.ephemerals.entry(sid).or_default().insert(c.path.to_vec());
                t.sessions.entry(sid).or_insert(None);
            }
            Txn::Delete { path } | Txn::DeleteContainer { path } => {
                if let Some(o) = owner_of.remove(*path) {
                    if let Some(set) = t.ephemerals.get_mut(&o) {
                        set.remove(*path);
                    }
                }
            }
            _ => {}
        };
        match &rec.body {
            Txn::CreateSession { timeout } => {
                t.sessions.insert(sid, Some(*timeout));
            }
            Txn::CloseSession(_) => {
                t.sessions.remove(&sid);
                if let Some(set) = t.ephemerals.remove(&sid) {
                    for p in set {
                        owner_of.remove(&p);
                    }
                }
            }
            Txn::Multi(m) if !m.failed() => {
                for sub in m.ops() {
                    if let Ok(b) = sub.txn() {
                        apply(&b, &mut t);
                    }
                }
            }
            other => apply(other, &mut t),
        }
    }
    t.ephemerals.retain(|_, s| !s.is_empty());
    Ok(t)
}

fn is_sequential(path: &[u8]) -> bool {
    path.len() >= 10 && path.iter().rev().take(10).all(u8::is_ascii_digit)
}

/// What a group of ephemerals under one parent looks like.
fn pattern(children: &[&Vec<u8>]) -> &'static str {
    let seq = children.iter().filter(|p| is_sequential(p)).count();
    let lockish = children.iter().any(|p| {
        let s = String::from_utf8_lossy(p).to_ascii_lowercase();
        s.contains("lock") || s.contains("lease") || s.contains("mutex") || s.contains("semaphore")
    });
    let election = children.iter().any(|p| {
        let s = String::from_utf8_lossy(p).to_ascii_lowercase();
        s.contains("election") || s.contains("leader") || s.contains("latch")
    });
    if seq > 0 && election {
        "election (sequential)"
    } else if seq > 0 && lockish {
        "lock (sequential)"
    } else if seq > 0 {
        "sequential (lock/election/queue recipe)"
    } else if lockish {
        "lock"
    } else {
        "registration"
    }
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
            "{} live sessions, {} ephemeral nodes. A restored server keeps every live session until its timeout passes without the client reconnecting; until then its ephemerals (locks, leader latches, registrations) stay in place.",
            t.sessions.len(),
            t.ephemerals.values().map(BTreeSet::len).sum::<usize>()
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
                        .str("pattern", pattern(kids))
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
                "session {}: {state}, {} ephemerals",
                hex64(id),
                eph.map_or(0, BTreeSet::len)
            )?;
            for (parent, kids) in &groups {
                writeln!(out, "  {} [{}]", path_str(parent), pattern(kids))?;
                for k in kids {
                    writeln!(out, "    {}", path_str(k))?;
                }
            }
        }
    }
    Ok(())
}
