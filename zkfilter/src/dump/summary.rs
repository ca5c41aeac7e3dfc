//! `zkdump summary PATH...`: counts and bytes by op type (logs); sessions and their ephemerals,
//! the largest nodes and a subtree size table to `--depth N` (snapshots, like
//! `SnapshotRecursiveSummary`); the same for a data dir's replayed tree
//! ([`zkformat::tree::replay_datadir`], as `sessions` and `diff` replay one), with the snapshot
//! and logs the replay used and the zxid it reached.
//!
//! Several inputs give one section each (text) or one JSON object each (`--json`), in the order
//! given. An input that cannot be read is reported and the others are still summarised; the exit
//! code is then 2. Memory: one entry per op type / session / path at depth ≤ N for files; the
//! replayed tree for a data dir.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::Path;

use zkformat::data::NodeKind;
use zkformat::snapshot::SnapshotItem;
use zkformat::txn::{op_name, Txn};
use zkformat::txnlog::LogEnd;
use zkformat::Zxid;

use super::render::json::{error_json, Obj};
use super::source::{is_snapshot_kind, LogSource, SnapSource};
use super::{hex64, path_str, plural};
use crate::cli::{kind_error, output_error, CliError, Input, EXIT_ERROR, EXIT_OK};
use crate::inputs::{ArchiveCompression, DataDirInput, Sniffed};

/// Default subtree table depth.
pub const DEFAULT_DEPTH: usize = 2;
/// Default number of largest nodes listed.
pub const DEFAULT_TOP: usize = 10;

/// What `summary` reads, for messages.
const EXPECTED: &str =
    "a ZooKeeper txn log, a snapshot, a data dir, or a tar archive of a data dir";

/// Options of `summary`.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    /// Subtree table depth (0 = unlimited; `None`: [`DEFAULT_DEPTH`]). Snapshots and data dirs.
    pub depth: Option<usize>,
    /// How many largest nodes to list (`None`: [`DEFAULT_TOP`]). Snapshots and data dirs.
    pub top: Option<usize>,
    /// JSON output (one object per input).
    pub json: bool,
    /// Read limits.
    pub limits: zkformat::Limits,
}

impl SummaryOptions {
    fn depth(&self) -> usize {
        self.depth.unwrap_or(DEFAULT_DEPTH)
    }

    fn top(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP)
    }
}

/// An input, opened and told apart.
enum Opened {
    /// A txn log (a file or standard input).
    Log(Input),
    /// A snapshot, plain or compressed (a file or standard input).
    Snapshot(Input),
    /// A data dir: a folder, or an archive unpacked into a temporary one.
    DataDir(DataDirInput),
}

/// Opens `arg`: `-` (a log, a snapshot or a tar archive on standard input), a folder, a tar
/// archive, or a file.
fn open(arg: &str) -> Result<Opened, CliError> {
    let input = if arg == "-" {
        crate::cli::refuse_terminal_stdin()?;
        let mut stdin = io::stdin().lock();
        let prefix = crate::inputs::read_prefix(&mut stdin).map_err(|e| CliError::io("-", &e))?;
        if let Sniffed::Archive(c) = crate::inputs::sniff(&prefix) {
            return crate::inputs::unpack(io::Cursor::new(prefix).chain(stdin), c, "-")
                .map(Opened::DataDir);
        }
        // Logs and snapshots are streamed: the rest of standard input follows the prefix.
        Input::Stdin { prefix }
    } else {
        let path = Path::new(arg);
        if path.is_dir() || matches!(crate::inputs::sniff_file(path), Ok(Sniffed::Archive(_))) {
            return crate::inputs::open_data_dir(arg, "zkdump summary").map(Opened::DataDir);
        }
        Input::open(arg)?
    };
    let kind = input.kind();
    if kind == zkformat::kind::FileKind::TxnLog {
        Ok(Opened::Log(input))
    } else if is_snapshot_kind(kind) {
        Ok(Opened::Snapshot(input))
    } else {
        Err(kind_error("zkdump summary", EXPECTED, arg, &input.head()))
    }
}

/// Runs `summary` over `args` in order. Returns the exit code: 0 when every input was read to
/// its end, 2 when one could not be (each such error is printed to `err`, and in JSON also
/// written as a `summaryError` object when nothing of the input could be read).
///
/// # Errors
/// Usage errors (options that apply to no input, `-` twice); output errors.
pub fn run(
    args: &[String],
    o: &SummaryOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    if args.iter().filter(|a| a.as_str() == "-").count() > 1 {
        return Err(CliError::msg(
            "standard input (-) is named twice; it can be read only once",
        ));
    }
    let opened: Vec<(&String, Result<Opened, CliError>)> =
        args.iter().map(|a| (a, open(a))).collect();
    refuse_tree_options_on_logs(&opened, o)?;
    let several = args.len() > 1;
    let mut code = EXIT_OK;
    for (i, (arg, opened)) in opened.into_iter().enumerate() {
        if i > 0 && !o.json {
            writeln!(out).map_err(output_error)?;
        }
        let outcome = match opened {
            Err(e) => Outcome::Unreadable(e),
            Ok(Opened::Log(input)) => summarize_log(&input, arg, o, out).map_err(output_error)?,
            Ok(Opened::Snapshot(input)) => {
                summarize_snapshot(&input, arg, o, out).map_err(output_error)?
            }
            Ok(Opened::DataDir(d)) => match replay(&d, arg, o) {
                Ok(s) => {
                    render_datadir(&s, arg, &d, o, out).map_err(output_error)?;
                    Outcome::Done
                }
                Err(e) => Outcome::Unreadable(e),
            },
        };
        let e = match outcome {
            Outcome::Done => continue,
            Outcome::Partial(e) => {
                // JSON: the object's `error` says it already.
                if several && !o.json {
                    writeln!(out, "  stopped by an error: {}", without_path(&e, arg))
                        .map_err(output_error)?;
                }
                e
            }
            Outcome::Unreadable(e) => {
                if o.json {
                    let mut l = Obj::kind("summaryError");
                    l.str("file", arg)
                        .opt_str("errorFile", e.path.as_deref())
                        .raw("error", &error_json(Some(&e)));
                    l.line(out).map_err(output_error)?;
                } else if several {
                    writeln!(out, "{arg}: unreadable: {}", without_path(&e, arg))
                        .map_err(output_error)?;
                }
                e
            }
        };
        // The summary first, so that on a terminal the error follows the section it ends.
        out.flush().map_err(output_error)?;
        let _ = e.print(err);
        code = code.max(e.exit_code.max(EXIT_ERROR));
    }
    out.flush().map_err(output_error)?;
    Ok(code)
}

/// The error's text without its file name when that is `arg` (already named before it).
fn without_path(e: &CliError, arg: &str) -> String {
    let mut e = e.clone();
    if e.path.as_deref() == Some(arg) {
        e.path = None;
    }
    e.to_string()
}

/// How the summary of one input went.
enum Outcome {
    /// Read to its end.
    Done,
    /// Summarised up to an error.
    Partial(CliError),
    /// Nothing could be summarised.
    Unreadable(CliError),
}

/// `--depth` and `--top` are about a tree: refused (not ignored) when no input has one.
fn refuse_tree_options_on_logs(
    opened: &[(&String, Result<Opened, CliError>)],
    o: &SummaryOptions,
) -> Result<(), CliError> {
    let any_tree = opened
        .iter()
        .any(|(_, r)| matches!(r, Ok(Opened::Snapshot(_) | Opened::DataDir(_))));
    let logs: Vec<&str> = opened
        .iter()
        .filter(|(_, r)| matches!(r, Ok(Opened::Log(_))))
        .map(|(a, _)| a.as_str())
        .collect();
    if any_tree || logs.is_empty() {
        return Ok(());
    }
    for (opt, set) in [("--depth", o.depth.is_some()), ("--top", o.top.is_some())] {
        if set {
            return Err(CliError::msg(match logs.as_slice() {
                [one] if opened.len() == 1 => format!(
                    "{opt} applies to a snapshot's summary (its subtree table and largest nodes), and {one} is a txn log"
                ),
                _ => format!(
                    "{opt} applies to the summary of a snapshot or a data dir (its subtree table and largest nodes), and no input is one ({} {})",
                    logs.join(", "),
                    if logs.len() == 1 { "is a txn log" } else { "are txn logs" }
                ),
            }));
        }
    }
    Ok(())
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
) -> io::Result<Outcome> {
    let (_, mut src) = match LogSource::open(input, o.limits) {
        Ok(x) => x,
        Err(e) => return Ok(Outcome::Unreadable(CliError::format(name, &e))),
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
        let op_list: Vec<String> = ops
            .iter()
            .map(|(op, st)| {
                let mut l = Obj::new();
                l.str("op", op)
                    .int("count", st.count)
                    .int("bytes", st.bytes);
                l.finish()
            })
            .collect();
        let session_list: Vec<String> = sessions
            .iter()
            .map(|(id, s)| {
                let mut l = Obj::new();
                l.hex("session", *id)
                    .bool("created", s.created)
                    .bool("closed", s.closed)
                    .opt_int("timeout", s.timeout.map(i64::from))
                    .int("txns", s.txns)
                    .int("ephemeralsCreated", s.ephemerals_created);
                l.finish()
            })
            .collect();
        let mut l = Obj::kind("logSummary");
        l.str("file", name)
            .int("txns", total.count)
            .int("bytes", total.bytes)
            .opt_str("firstZxid", first.map(|z| hex64(z.0)).as_deref())
            .opt_str("lastZxid", last.map(|z| hex64(z.0)).as_deref())
            .opt_int("firstTime", (total.count > 0).then_some(tmin))
            .opt_int("lastTime", (total.count > 0).then_some(tmax))
            .opt_str("end", end.map(|e| e.describe()).as_deref())
            .raw("ops", &format!("[{}]", op_list.join(",")))
            .int("sessions", sessions.len() as u64)
            .raw("sessionActivity", &format!("[{}]", session_list.join(",")))
            .raw("error", &error_json(error.as_ref()));
        l.line(out)?;
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
    Ok(error.map_or(Outcome::Done, Outcome::Partial))
}

/// Subtree totals of one path.
#[derive(Debug, Clone, Copy, Default)]
struct Subtree {
    descendants: u64,
    bytes: u64,
}

/// The node-type names, in the order JSON lists their counts.
const NODE_TYPES: [&str; 4] = ["persistent", "ephemeral", "container", "ttl"];

/// What the summary of a tree (a snapshot's, or a data dir's replayed one) counts, fed session
/// by session (first) and node by node, in any node order.
struct TreeTally {
    depth: usize,
    top: usize,
    sessions: BTreeMap<i64, (i32, u64)>,
    orphans: BTreeMap<i64, u64>,
    kinds: BTreeMap<&'static str, u64>,
    largest: Vec<(u64, String)>,
    subtrees: HashMap<Vec<u8>, Subtree>,
    total_bytes: u64,
}

/// A tree's summary, ready to render.
struct TreeSummary {
    /// Nodes.
    nodes: u64,
    /// Sessions in the table.
    sessions: u64,
    /// ACL entries.
    acl_entries: u64,
    /// Bytes of node data.
    data_bytes: u64,
    /// Depth of the subtree table (0 = unlimited).
    depth: usize,
    /// Node counts by type name (types present only).
    kinds: BTreeMap<&'static str, u64>,
    /// Session → (timeout, ephemerals owned).
    session_table: BTreeMap<i64, (i32, u64)>,
    /// Owners of ephemerals that are not in the session table → ephemerals.
    orphans: BTreeMap<i64, u64>,
    /// (data length, path), largest first.
    largest: Vec<(u64, String)>,
    /// Non-leaf paths down to the depth, sorted.
    table: Vec<(Vec<u8>, Subtree)>,
}

impl TreeTally {
    fn new(o: &SummaryOptions) -> TreeTally {
        TreeTally {
            depth: o.depth(),
            top: o.top(),
            sessions: BTreeMap::new(),
            orphans: BTreeMap::new(),
            kinds: BTreeMap::new(),
            largest: Vec::new(),
            subtrees: HashMap::new(),
            total_bytes: 0,
        }
    }

    fn session(&mut self, id: i64, timeout: i32) {
        self.sessions.insert(id, (timeout, 0));
    }

    /// A node (`path` as stored: the root is `""`).
    fn node(&mut self, path: &[u8], len: u64, ephemeral_owner: i64) {
        let (depth, top) = (self.depth, self.top);
        self.total_bytes += len;
        *self
            .kinds
            .entry(super::render::node_type_name(ephemeral_owner))
            .or_default() += 1;
        if let NodeKind::Ephemeral(owner) = NodeKind::from_owner(ephemeral_owner) {
            match self.sessions.get_mut(&owner) {
                Some(s) => s.1 += 1,
                None => *self.orphans.entry(owner).or_default() += 1,
            }
        }
        if top > 0 {
            self.largest.push((len, path_str(path).into_owned()));
            if self.largest.len() > top * 4 {
                self.largest
                    .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                self.largest.truncate(top);
            }
        }
        // Every ancestor (and the node itself) at depth ≤ N gets the node's bytes; every
        // proper ancestor counts it as a descendant.
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
            let st = self.subtrees.entry(pre.to_vec()).or_default();
            st.bytes += len;
            if i < k {
                st.descendants += 1;
            }
        }
    }

    fn finish(mut self, nodes: u64, sessions: u64, acl_entries: u64) -> TreeSummary {
        self.largest
            .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.largest.truncate(self.top);
        let mut table: Vec<(Vec<u8>, Subtree)> = self.subtrees.into_iter().collect();
        table.retain(|(_, st)| st.descendants > 0);
        table.sort_by(|a, b| a.0.cmp(&b.0));
        TreeSummary {
            nodes,
            sessions,
            acl_entries,
            data_bytes: self.total_bytes,
            depth: self.depth,
            kinds: self.kinds,
            session_table: self.sessions,
            orphans: self.orphans,
            largest: self.largest,
            table,
        }
    }
}

impl TreeSummary {
    /// The tree's fields of a JSON object (after the fields that say what the input is).
    fn json_fields(&self, l: &mut Obj) {
        l.int("nodes", self.nodes)
            .int("dataBytes", self.data_bytes)
            .int("sessions", self.sessions)
            .int("aclEntries", self.acl_entries);
        for k in NODE_TYPES {
            l.int(k, self.kinds.get(k).copied().unwrap_or(0));
        }
        let sessions: Vec<String> = self
            .session_table
            .iter()
            .map(|(id, (timeout, eph))| {
                let mut s = Obj::new();
                s.hex("session", *id)
                    .int("timeout", *timeout)
                    .int("ephemerals", *eph);
                s.finish()
            })
            .collect();
        let orphans: Vec<String> = self
            .orphans
            .iter()
            .map(|(id, eph)| {
                let mut s = Obj::new();
                s.hex("session", *id).int("ephemerals", *eph);
                s.finish()
            })
            .collect();
        let largest: Vec<String> = self
            .largest
            .iter()
            .map(|(len, p)| {
                let mut s = Obj::new();
                s.str("path", p).int("dataLength", *len);
                s.finish()
            })
            .collect();
        let subtrees: Vec<String> = self
            .table
            .iter()
            .map(|(p, st)| {
                let mut s = Obj::new();
                s.str("path", &path_str(p))
                    .int("depth", p.iter().filter(|&&b| b == b'/').count() as u64)
                    .int("descendants", st.descendants)
                    .int("dataBytes", st.bytes);
                s.finish()
            })
            .collect();
        l.raw("sessionTable", &format!("[{}]", sessions.join(",")))
            .raw("orphanOwners", &format!("[{}]", orphans.join(",")))
            .raw("largestNodes", &format!("[{}]", largest.join(",")))
            .int("subtreeDepth", self.depth as u64)
            .raw("subtrees", &format!("[{}]", subtrees.join(",")));
    }

    /// The tree's lines of a text section (after its header lines).
    fn text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "  nodes: {} ({} of data), sessions: {}, ACL entries: {}",
            self.nodes,
            plural(self.data_bytes, "byte", "bytes"),
            self.sessions,
            self.acl_entries
        )?;
        let kinds_text: Vec<String> = self.kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "  node types: {}", kinds_text.join(", "))?;
        writeln!(out, "  sessions ({}):", self.session_table.len())?;
        for (id, (timeout, eph)) in &self.session_table {
            writeln!(out, "    {} timeout={timeout} ephemerals={eph}", hex64(*id))?;
        }
        for (id, eph) in &self.orphans {
            writeln!(
                out,
                "    {} NOT IN SESSION TABLE ephemerals={eph}",
                hex64(*id)
            )?;
        }
        writeln!(out, "  largest nodes:")?;
        writeln!(out, "    {:>10} path", "data bytes")?;
        for (len, p) in &self.largest {
            writeln!(out, "    {len:>10} {p}")?;
        }
        writeln!(
            out,
            "  subtrees (depth {}):",
            if self.depth == 0 {
                "unlimited".to_string()
            } else {
                self.depth.to_string()
            }
        )?;
        writeln!(
            out,
            "    {:>11} {:>13}  path",
            "descendants", "subtree bytes"
        )?;
        for (p, st) in &self.table {
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
        Ok(())
    }
}

fn summarize_snapshot(
    input: &Input,
    name: &str,
    o: &SummaryOptions,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    std::thread::scope(|scope| {
        let mut src = match SnapSource::open(scope, input, o.limits) {
            Ok(s) => s,
            Err(e) => return Ok(Outcome::Unreadable(CliError::format(name, &e))),
        };
        let mut tally = TreeTally::new(o);
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
                SnapshotItem::Session(s) => tally.session(s.id, s.timeout),
                SnapshotItem::Node(n) => tally.node(
                    n.path,
                    n.data.map_or(0, |d| d.len() as u64),
                    n.stat.ephemeral_owner,
                ),
                _ => {}
            }
        }
        let s = src.summary();
        let t = tally.finish(s.nodes, s.sessions, s.acl_entries);
        if o.json {
            let mut l = Obj::kind("snapshotSummary");
            l.str("file", name).str(
                "compression",
                super::render::compression_name(src.compression()),
            );
            t.json_fields(&mut l);
            l.raw("error", &error_json(error.as_ref()));
            l.line(out)?;
        } else {
            writeln!(out, "{name}: snapshot")?;
            t.text(out)?;
        }
        Ok(error.map_or(Outcome::Done, Outcome::Partial))
    })
}

/// A data dir's replay, summarised.
struct DirSummary {
    /// The tree's summary.
    tree: TreeSummary,
    /// Zxid reached.
    zxid: Zxid,
    /// The snapshot the replay started from (shown name, its zxid), `None` for the empty tree.
    snapshot: Option<(String, Zxid)>,
    /// Newer snapshots ZooKeeper would skip too (shown name, why).
    skipped: Vec<(String, String)>,
    /// Logs read (shown name, how each ended).
    logs: Vec<(String, Option<LogEnd>)>,
    /// Txns applied.
    txns: u64,
}

/// Replays the data dir `d` to its end (as ZooKeeper restores it) and summarises the tree.
fn replay(d: &DataDirInput, arg: &str, o: &SummaryOptions) -> Result<DirSummary, CliError> {
    let temp = d.archive.map(|_| d.dir.as_path());
    let shown = |p: &Path| crate::inputs::show_as(&p.display().to_string(), temp, arg);
    let dd = zkformat::datadir::DataDir::scan(&d.dir).map_err(|e| CliError::io(arg, &e))?;
    if let Some(found) = super::verify::not_a_zookeeper_folder(&d.dir, &dd) {
        let found = found
            .replace(": verify it", ": summarise it")
            .replace(": verify each", ": summarise each");
        let mut e = CliError::msg(format!(
            "this is {found}; zkdump summary expects {}",
            crate::inputs::DATA_DIR_EXPECTED
        ))
        .with_path(arg);
        e.hint = Some(match crate::inputs::SplitFolders::find(&d.dir) {
            Some(split) => {
                e.message = e.message.replace(
                    &format!("; {}", split.hint("zkdump verify")),
                    "",
                );
                split.hint("zkdump summary")
            }
            None => "pass a data dir (the folder holding version-2/), a version-2 folder, an archive of one, or a log or snapshot file".into(),
        });
        return Err(e);
    }
    let rp = zkformat::tree::replay_datadir(&dd, None, o.limits)
        .map_err(|fe| CliError::format(&shown(&fe.path), &fe.error))?;
    let tree = &rp.tree;
    let mut tally = TreeTally::new(o);
    for (id, timeout) in &tree.sessions {
        tally.session(*id, *timeout);
    }
    // ZooKeeper keeps an ACL list while a node uses it (ReferenceCountedACLCache): a snapshot
    // written at this zxid would hold the lists in use.
    let mut acls_in_use: HashSet<i64> = HashSet::new();
    for (path, n) in tree.sorted_nodes() {
        tally.node(
            path,
            n.data.as_ref().map_or(0, |d| d.len() as u64),
            n.stat.ephemeral_owner,
        );
        if n.acl_key != -1 {
            acls_in_use.insert(n.acl_key);
        }
    }
    Ok(DirSummary {
        tree: tally.finish(
            tree.len() as u64,
            tree.sessions.len() as u64,
            acls_in_use.len() as u64,
        ),
        zxid: tree.last_zxid,
        snapshot: rp.snapshot.as_deref().map(|p| (shown(p), rp.snapshot_zxid)),
        skipped: rp
            .rejected_snapshots
            .iter()
            .map(|fe| {
                // The reason without the file name (shown beside it).
                let mut e = CliError::format(&shown(&fe.path), &fe.error);
                e.path = None;
                (shown(&fe.path), e.to_string())
            })
            .collect(),
        logs: rp.logs.iter().map(|(p, end)| (shown(p), *end)).collect(),
        txns: tree.stats.txns,
    })
}

fn archive_name(c: ArchiveCompression) -> &'static str {
    match c {
        ArchiveCompression::None => "tar",
        ArchiveCompression::Gzip => "tar.gz",
        ArchiveCompression::Zstd => "tar.zst",
    }
}

fn render_datadir(
    s: &DirSummary,
    name: &str,
    d: &DataDirInput,
    o: &SummaryOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    if o.json {
        let snapshot = match &s.snapshot {
            Some((file, zxid)) => {
                let mut l = Obj::new();
                l.str("file", file).hex("zxid", zxid.0);
                l.finish()
            }
            None => "null".to_string(),
        };
        let skipped: Vec<String> = s
            .skipped
            .iter()
            .map(|(file, why)| {
                let mut l = Obj::new();
                l.str("file", file).str("reason", why);
                l.finish()
            })
            .collect();
        let logs: Vec<String> = s
            .logs
            .iter()
            .map(|(file, end)| {
                let mut l = Obj::new();
                l.str("file", file)
                    .opt_str("end", end.map(|e| e.describe()).as_deref());
                l.finish()
            })
            .collect();
        let mut l = Obj::kind("dataDirSummary");
        l.str("file", name)
            .opt_str("archive", d.archive.map(archive_name))
            .hex("zxid", s.zxid.0)
            .raw("snapshot", &snapshot)
            .raw("skippedSnapshots", &format!("[{}]", skipped.join(",")))
            .raw("logs", &format!("[{}]", logs.join(",")))
            .int("txnsReplayed", s.txns);
        s.tree.json_fields(&mut l);
        l.null("error");
        return l.line(out);
    }
    writeln!(
        out,
        "{name}: data dir{}, replayed to zxid {}",
        d.archive
            .map(|c| format!(" ({} archive)", archive_name(c)))
            .unwrap_or_default(),
        s.zxid
    )?;
    if let Some(note) = d.note() {
        writeln!(out, "  note: {note}")?;
    }
    match &s.snapshot {
        Some((file, zxid)) => writeln!(out, "  snapshot: {file} (zxid {zxid})")?,
        None => writeln!(out, "  snapshot: none (replayed from the empty tree)")?,
    }
    if !s.skipped.is_empty() {
        writeln!(
            out,
            "  skipped snapshots ({}), as ZooKeeper skips them:",
            s.skipped.len()
        )?;
        for (file, why) in &s.skipped {
            writeln!(out, "    {file}: {why}")?;
        }
    }
    writeln!(out, "  logs read ({}):", s.logs.len())?;
    for (file, end) in &s.logs {
        match end {
            Some(e) => writeln!(out, "    {file} (end: {})", e.describe())?,
            None => writeln!(out, "    {file}")?,
        }
    }
    writeln!(out, "  txns replayed: {}", s.txns)?;
    s.tree.text(out)
}
