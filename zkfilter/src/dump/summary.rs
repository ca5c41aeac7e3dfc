//! `zkdump summary PATH`: counts and bytes by op type (logs); sessions and their ephemerals, the
//! largest nodes and a subtree size table to `--depth N` (snapshots, like
//! `SnapshotRecursiveSummary`). Memory: one entry per op type / session / path at depth ≤ N.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use zkformat::data::NodeKind;
use zkformat::snapshot::SnapshotItem;
use zkformat::txn::{op_name, Txn};

use super::render::json::Obj;
use super::source::{is_snapshot_kind, LogSource, SnapSource};
use super::{hex64, path_str, plural};
use crate::cli::{output_error, unknown_kind_error, CliError, Input, EXIT_ERROR, EXIT_OK};

/// Default subtree table depth.
pub const DEFAULT_DEPTH: usize = 2;
/// Default number of largest nodes listed.
pub const DEFAULT_TOP: usize = 10;

/// Options of `summary`.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    /// Subtree table depth (0 = unlimited; `None`: [`DEFAULT_DEPTH`]). Snapshots only.
    pub depth: Option<usize>,
    /// How many largest nodes to list (`None`: [`DEFAULT_TOP`]). Snapshots only.
    pub top: Option<usize>,
    /// JSON Lines output.
    pub json: bool,
    /// Read limits.
    pub limits: zkformat::Limits,
}

/// Runs `summary`. Returns the exit code.
///
/// # Errors
/// Opening the input; output errors.
pub fn run(
    arg: &str,
    o: &SummaryOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let input = Input::open(arg)?;
    let kind = input.kind();
    let name = input.name();
    let problem = if kind == zkformat::kind::FileKind::TxnLog {
        // The subtree table and the largest nodes are a snapshot's: refused, not ignored.
        for (opt, set) in [("--depth", o.depth.is_some()), ("--top", o.top.is_some())] {
            if set {
                return Err(CliError::msg(format!(
                    "{opt} applies to a snapshot's summary (its subtree table and largest nodes), and {name} is a txn log"
                )));
            }
        }
        summarize_log(&input, &name, o, out).map_err(output_error)?
    } else if is_snapshot_kind(kind) {
        summarize_snapshot(&input, &name, o, out).map_err(output_error)?
    } else {
        let prefix = input.head();
        return Err(unknown_kind_error(&name, &prefix));
    };
    out.flush().map_err(output_error)?;
    Ok(match problem {
        Some(e) => {
            let _ = e.print(err);
            EXIT_ERROR
        }
        None => EXIT_OK,
    })
}

#[derive(Default)]
struct OpStat {
    count: u64,
    bytes: u64,
}

#[derive(Default)]
struct LogSession {
    created: bool,
    closed: bool,
    timeout: Option<i32>,
    txns: u64,
    ephemerals_created: u64,
}

fn summarize_log(
    input: &Input,
    name: &str,
    o: &SummaryOptions,
    out: &mut dyn Write,
) -> io::Result<Option<CliError>> {
    let (_, mut src) = match LogSource::open(input, o.limits) {
        Ok(x) => x,
        Err(e) => return Ok(Some(CliError::format(name, &e))),
    };
    let mut ops: BTreeMap<String, OpStat> = BTreeMap::new();
    let mut sessions: BTreeMap<i64, LogSession> = BTreeMap::new();
    let (mut first, mut last, mut tmin, mut tmax) = (None, None, i64::MAX, i64::MIN);
    let mut total = OpStat::default();
    let mut error = None;
    loop {
        let e = match src.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                error = Some(CliError::format(name, &e));
                break;
            }
        };
        let h = *e.header();
        first.get_or_insert(h.zxid);
        last = Some(h.zxid);
        tmin = tmin.min(h.time);
        tmax = tmax.max(h.time);
        let len = e.raw().len() as u64;
        total.count += 1;
        total.bytes += len;
        let st = ops.entry(op_name(h.op).into_owned()).or_default();
        st.count += 1;
        st.bytes += len;
        if h.session == 0 {
            continue;
        }
        let s = sessions.entry(h.session).or_default();
        s.txns += 1;
        if let Ok(rec) = e.record() {
            match rec.body {
                Txn::CreateSession { timeout } => {
                    s.created = true;
                    s.timeout = Some(timeout);
                }
                Txn::CloseSession(_) => s.closed = true,
                Txn::Create(c) | Txn::Create2(c) if c.ephemeral.get() => s.ephemerals_created += 1,
                Txn::Multi(m) => {
                    for sub in m.ops() {
                        if let Ok(Txn::Create(c) | Txn::Create2(c)) = sub.txn() {
                            if c.ephemeral.get() && !m.failed() {
                                s.ephemerals_created += 1;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let end = src.end();
    if o.json {
        let mut l = Obj::kind("logSummary");
        l.str("file", name)
            .int("txns", total.count)
            .int("bytes", total.bytes)
            .opt_str("firstZxid", first.map(|z| hex64(z.0)).as_deref())
            .opt_str("lastZxid", last.map(|z| hex64(z.0)).as_deref())
            .opt_int("firstTime", (total.count > 0).then_some(tmin))
            .opt_int("lastTime", (total.count > 0).then_some(tmax))
            .opt_str("end", end.map(|e| e.describe()).as_deref());
        l.line(out)?;
        for (op, st) in &ops {
            let mut l = Obj::kind("opSummary");
            l.str("op", op)
                .int("count", st.count)
                .int("bytes", st.bytes);
            l.line(out)?;
        }
        for (id, s) in &sessions {
            let mut l = Obj::kind("sessionSummary");
            l.hex("session", *id)
                .bool("created", s.created)
                .bool("closed", s.closed)
                .opt_int("timeout", s.timeout.map(i64::from))
                .int("txns", s.txns)
                .int("ephemeralsCreated", s.ephemerals_created);
            l.line(out)?;
        }
    } else {
        writeln!(out, "{name}: txn log")?;
        writeln!(
            out,
            "  txns: {} ({})",
            total.count,
            plural(total.bytes, "byte", "bytes")
        )?;
        if let (Some(a), Some(b)) = (first, last) {
            writeln!(out, "  zxids: {a} .. {b}")?;
            writeln!(
                out,
                "  time: {} .. {}",
                super::format_time(tmin),
                super::format_time(tmax)
            )?;
        }
        if let Some(e) = end {
            writeln!(out, "  end: {}", e.describe())?;
        }
        writeln!(out, "  by op:")?;
        writeln!(out, "    {:<18} {:>10} {:>12}", "op", "txns", "entry bytes")?;
        for (op, st) in &ops {
            writeln!(out, "    {op:<18} {:>10} {:>12}", st.count, st.bytes)?;
        }
        writeln!(out, "  sessions ({}):", sessions.len())?;
        for (id, s) in &sessions {
            writeln!(
                out,
                "    {} txns={} timeout={} {}{} ephemeralsCreated={}",
                hex64(*id),
                s.txns,
                s.timeout.map_or_else(|| "?".to_string(), |t| t.to_string()),
                if s.created {
                    "created"
                } else {
                    "created-before"
                },
                if s.closed { ",closed" } else { ",open" },
                s.ephemerals_created
            )?;
        }
    }
    Ok(error)
}

/// Subtree totals of one path.
#[derive(Debug, Clone, Copy, Default)]
struct Subtree {
    descendants: u64,
    bytes: u64,
}

fn summarize_snapshot(
    input: &Input,
    name: &str,
    o: &SummaryOptions,
    out: &mut dyn Write,
) -> io::Result<Option<CliError>> {
    let depth = o.depth.unwrap_or(DEFAULT_DEPTH);
    let top = o.top.unwrap_or(DEFAULT_TOP);
    std::thread::scope(|scope| {
        let mut src = match SnapSource::open(scope, input, o.limits) {
            Ok(s) => s,
            Err(e) => return Ok(Some(CliError::format(name, &e))),
        };
        let mut sessions: BTreeMap<i64, (i32, u64)> = BTreeMap::new();
        let mut orphans: BTreeMap<i64, u64> = BTreeMap::new();
        let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut largest: Vec<(u64, String)> = Vec::new();
        let mut subtrees: HashMap<Vec<u8>, Subtree> = HashMap::new();
        let mut total_bytes = 0u64;
        let mut error = None;
        loop {
            let item = match src.next_item() {
                Ok(Some(i)) => i,
                Ok(None) => break,
                Err(e) => {
                    error = Some(CliError::format(name, &e));
                    break;
                }
            };
            match item.value {
                SnapshotItem::Session(s) => {
                    sessions.insert(s.id, (s.timeout, 0));
                }
                SnapshotItem::Node(n) => {
                    let len = n.data.map_or(0, |d| d.len() as u64);
                    total_bytes += len;
                    *kinds
                        .entry(super::render::node_type_name(n.stat.ephemeral_owner))
                        .or_default() += 1;
                    if let NodeKind::Ephemeral(owner) = n.stat.kind() {
                        match sessions.get_mut(&owner) {
                            Some(s) => s.1 += 1,
                            None => *orphans.entry(owner).or_default() += 1,
                        }
                    }
                    if top > 0 {
                        largest.push((len, path_str(n.path).into_owned()));
                        if largest.len() > top * 4 {
                            largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                            largest.truncate(top);
                        }
                    }
                    // Every ancestor (and the node itself) at depth ≤ N gets the node's bytes; every
                    // proper ancestor counts it as a descendant.
                    let path = n.path;
                    let mut prefixes: Vec<&[u8]> = vec![b""];
                    for (i, b) in path.iter().enumerate() {
                        if *b == b'/' && i > 0 {
                            prefixes.push(path.get(..i).unwrap_or(b""));
                        }
                    }
                    if !path.is_empty() {
                        prefixes.push(path);
                    }
                    let k = prefixes.len() - 1;
                    for (i, pre) in prefixes.iter().enumerate() {
                        if depth != 0 && i > depth {
                            break;
                        }
                        let st = subtrees.entry(pre.to_vec()).or_default();
                        st.bytes += len;
                        if i < k {
                            st.descendants += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        largest.truncate(top);
        let s = src.summary();
        let mut table: Vec<(Vec<u8>, Subtree)> = subtrees.into_iter().collect();
        table.retain(|(_, st)| st.descendants > 0);
        table.sort_by(|a, b| a.0.cmp(&b.0));
        if o.json {
            let mut l = Obj::kind("snapshotSummary");
            l.str("file", name)
                .int("nodes", s.nodes)
                .int("dataBytes", total_bytes)
                .int("sessions", s.sessions)
                .int("aclEntries", s.acl_entries);
            for (k, v) in &kinds {
                l.int(k, *v);
            }
            l.line(out)?;
            for (id, (timeout, eph)) in &sessions {
                let mut l = Obj::kind("sessionSummary");
                l.hex("session", *id)
                    .int("timeout", *timeout)
                    .int("ephemerals", *eph);
                l.line(out)?;
            }
            for (id, eph) in &orphans {
                let mut l = Obj::kind("orphanOwner");
                l.hex("session", *id).int("ephemerals", *eph);
                l.line(out)?;
            }
            for (len, p) in &largest {
                let mut l = Obj::kind("largeNode");
                l.str("path", p).int("dataLength", *len);
                l.line(out)?;
            }
            for (p, st) in &table {
                let mut l = Obj::kind("subtree");
                l.str("path", &path_str(p))
                    .int("depth", p.iter().filter(|&&b| b == b'/').count() as u64)
                    .int("descendants", st.descendants)
                    .int("dataBytes", st.bytes);
                l.line(out)?;
            }
        } else {
            writeln!(out, "{name}: snapshot")?;
            writeln!(
                out,
                "  nodes: {} ({} of data), sessions: {}, ACL entries: {}",
                s.nodes,
                plural(total_bytes, "byte", "bytes"),
                s.sessions,
                s.acl_entries
            )?;
            let kinds_text: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(out, "  node types: {}", kinds_text.join(", "))?;
            writeln!(out, "  sessions ({}):", sessions.len())?;
            for (id, (timeout, eph)) in &sessions {
                writeln!(out, "    {} timeout={timeout} ephemerals={eph}", hex64(*id))?;
            }
            for (id, eph) in &orphans {
                writeln!(
                    out,
                    "    {} NOT IN SESSION TABLE ephemerals={eph}",
                    hex64(*id)
                )?;
            }
            writeln!(out, "  largest nodes:")?;
            writeln!(out, "    {:>10} path", "data bytes")?;
            for (len, p) in &largest {
                writeln!(out, "    {len:>10} {p}")?;
            }
            writeln!(
                out,
                "  subtrees (depth {}):",
                if depth == 0 {
                    "unlimited".to_string()
                } else {
                    depth.to_string()
                }
            )?;
            writeln!(
                out,
                "    {:>11} {:>13}  path",
                "descendants", "subtree bytes"
            )?;
            for (p, st) in &table {
                let level = p.iter().filter(|&&b| b == b'/').count();
                writeln!(
                    out,
                    "    {:>11} {:>13}  {}{}",
                    st.descendants,
                    st.bytes,
                    "--".repeat(level),
                    path_str(p)
                )?;
            }
        }
        Ok(error)
    })
}
