//! `zkdump [dump] FILE|-`: every record of a txn log or snapshot, as text or JSON Lines.
//!
//! Logs are streamed entry by entry. Snapshots are read twice (the first pass counts children per
//! parent-path hash, since `numChildren` is not stored): memory is one small map entry per node
//! that has children; the tree is never built. Standard input holding a snapshot is first copied
//! to a temporary file.

use std::io::Write;
use std::path::Path;

use zkformat::kind::FileKind;
use zkformat::snapshot::SnapshotItem;
use zkformat::zxid::parse_file_name;
use zkformat::Zxid;

use super::pipeline::NodePipeline;
use super::render::json::Json;
use super::render::text::Text;
use super::render::{AclCache, Ctx, LogTally, NodeView, OwnedAcl, Render, SnapTally};
use super::source::{is_snapshot_kind, LogSource, SnapSource};
use super::{parent_of, path_hash, DumpOptions};
use crate::cli::{output_error, unknown_kind_error, CliError, Input, EXIT_ERROR, EXIT_OK};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text.
    Text,
    /// JSON Lines.
    Json,
}

/// The zxid in a file name (`log.<hex>`, `snapshot.<hex>[.gz|.snappy]`).
pub fn name_zxid(name: &str) -> Option<Zxid> {
    Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_file_name)
        .map(|n| n.zxid)
}

/// Dumps `arg` (a path or `-`) to `out`. Returns the exit code: 0 when everything was read, 2
/// when reading stopped at an error (the error is also printed to `err`).
///
/// # Errors
/// Opening the input, and output errors (a broken pipe maps to a quiet exit 0).
pub fn run(
    arg: &str,
    opts: &DumpOptions,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let input = Input::open(arg)?;
    let kind = input.kind();
    if is_snapshot_kind(kind) && !opts.filter.ops.is_empty() {
        // `--op` selects txns; a snapshot holds nodes: refused rather than showing nothing.
        let mut e = CliError::msg(format!(
            "--op applies to txn logs only, and {} is a snapshot: it holds nodes, not txns",
            if arg == "-" { "standard input" } else { arg }
        ));
        e.hint = Some(
            "select nodes with --path-prefix, --session or --from-zxid/--to-zxid (czxid, mzxid or pzxid in range)".into(),
        );
        return Err(e);
    }
    let input = if is_snapshot_kind(kind) {
        input.spool()?
    } else {
        input
    };
    let name = if arg == "-" {
        "-".to_string()
    } else {
        input.name()
    };
    let mut renderer: Box<dyn Render> = match format {
        Format::Text => Box::new(Text::default()),
        Format::Json => Box::new(Json),
    };
    let cx = Ctx {
        opts,
        name: &name,
        name_zxid: name_zxid(&name),
    };
    let problem = match kind {
        FileKind::TxnLog => dump_log(&input, &cx, renderer.as_mut(), out).map_err(output_error)?,
        k if is_snapshot_kind(k) => {
            dump_snapshot(&input, &cx, renderer.as_mut(), out).map_err(output_error)?
        }
        _ => {
            let prefix = input.head();
            return Err(unknown_kind_error(&name, &prefix));
        }
    };
    out.flush().map_err(output_error)?;
    match problem {
        Some(e) => {
            let _ = e.print(err);
            Ok(EXIT_ERROR)
        }
        None => Ok(EXIT_OK),
    }
}

/// Dumps a txn log. Returns the error that stopped reading, if any.
///
/// # Errors
/// Output errors.
pub fn dump_log(
    input: &Input,
    cx: &Ctx<'_>,
    r: &mut dyn Render,
    out: &mut dyn Write,
) -> std::io::Result<Option<CliError>> {
    let (header, mut src) = match LogSource::open(input, cx.opts.limits) {
        Ok(x) => x,
        Err(e) => return Ok(Some(CliError::format(cx.name, &e))),
    };
    r.log_header(out, cx, &header)?;
    let mut t = LogTally::default();
    let filter = &cx.opts.filter;
    loop {
        let entry = match src.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                t.error = Some(CliError::format(cx.name, &e));
                break;
            }
        };
        t.txns += 1;
        if !entry.checksum_ok() {
            t.checksum_errors += 1;
        }
        let h = *entry.header();
        if !filter.header_matches(h.zxid, h.session) {
            continue;
        }
        match entry.record() {
            Ok(rec) => {
                if filter.txn_matches(&rec) {
                    t.shown += 1;
                    r.txn(out, cx, &entry, &rec)?;
                }
            }
            Err(e) => {
                t.decode_errors += 1;
                if filter.ops.is_empty() && filter.path_prefix.is_none() {
                    t.shown += 1;
                    r.txn_error(out, cx, &entry, &e)?;
                }
            }
        }
    }
    t.end = src.end();
    r.log_end(out, cx, &t)?;
    Ok(t.error)
}

/// Counts children per parent-path hash (first pass of a snapshot dump).
pub fn count_children(bytes: &[u8], limits: zkformat::Limits) -> foldhash::HashMap<u64, u32> {
    let mut counts = foldhash::HashMap::default();
    if FileKind::detect(bytes) == FileKind::Snapshot {
        // Uncompressed: only the paths are read (a third of the time of a full parse).
        for path in zkformat::snapshot::Snapshot::new(bytes, limits).node_paths() {
            if !path.is_empty() {
                *counts.entry(path_hash(parent_of(path))).or_insert(0) += 1;
            }
        }
        return counts;
    }
    std::thread::scope(|scope| {
        let Ok(mut src) = SnapSource::from_slice(scope, bytes, limits) else {
            return counts;
        };
        // The dump itself checks seals and the digest; counting needs neither.
        src.skip_checks();
        while let Ok(Some(item)) = src.next_item() {
            if let SnapshotItem::Node(n) = item.value {
                if !n.path.is_empty() {
                    *counts.entry(path_hash(parent_of(n.path))).or_insert(0) += 1;
                }
            }
        }
        counts
    })
}

/// Dumps a snapshot (plain or compressed). Returns the error that stopped reading, if any.
///
/// # Errors
/// Output errors.
pub fn dump_snapshot(
    input: &Input,
    cx: &Ctx<'_>,
    r: &mut dyn Render,
    out: &mut dyn Write,
) -> std::io::Result<Option<CliError>> {
    let Some(bytes) = input.bytes() else {
        return Ok(Some(
            CliError::msg("internal: snapshot input was not spooled").with_path(cx.name),
        ));
    };
    // An uncompressed snapshot on two cores: children are counted, and nodes rendered, on a
    // helper thread (see `pipeline`); otherwise children are counted first, here.
    let two_cores = std::thread::available_parallelism().map_or(1, usize::from) > 1;
    let pipelined = two_cores && FileKind::detect(bytes) == FileKind::Snapshot;
    let children = if pipelined {
        foldhash::HashMap::default()
    } else {
        count_children(bytes, cx.opts.limits)
    };
    std::thread::scope(|scope| {
        let mut src = match SnapSource::from_slice(scope, bytes, cx.opts.limits) {
            Ok(s) => s,
            Err(e) => return Ok(Some(CliError::format(cx.name, &e))),
        };
        let compression = src.compression();
        let mut acls = AclCache::default();
        let mut t = SnapTally::default();
        let filter = &cx.opts.filter;
        let mut pipeline =
            pipelined.then(|| NodePipeline::start(scope, r.for_another_thread(), cx, bytes));
        loop {
            let item = match src.next_item() {
                Ok(Some(i)) => i,
                Ok(None) => {
                    t.complete = true;
                    break;
                }
                Err(e) => {
                    t.error = Some(CliError::format(cx.name, &e));
                    break;
                }
            };
            let off = item.offset;
            if let SnapshotItem::Node(n) = &item.value {
                if filter.node_matches(n.path, &n.stat) {
                    t.shown += 1;
                    if let Some(p) = pipeline.as_mut() {
                        p.push(off, item.raw.len(), &acls, out)?;
                        continue;
                    }
                    let acl = acls.get(n.acl_key);
                    let num_children = children.get(&path_hash(n.path)).copied().unwrap_or(0);
                    r.node(
                        out,
                        cx,
                        &NodeView {
                            node: n,
                            offset: off,
                            num_children,
                            acl,
                        },
                    )?;
                }
                continue;
            }
            // Every other record comes after the nodes before it.
            if let Some(p) = pipeline.as_mut() {
                p.flush(out)?;
            }
            match item.value {
                SnapshotItem::Header(h) => r.snap_header(out, cx, &h, compression, off)?,
                SnapshotItem::SessionCount(n) => r.session_count(out, cx, n)?,
                SnapshotItem::Session(s) if filter.session.map_or(true, |id| id == s.id) => {
                    t.sessions_shown += 1;
                    r.session(out, cx, &s, off)?;
                }
                SnapshotItem::AclCacheCount(n) => r.acl_count(out, cx, n)?,
                SnapshotItem::AclEntry(a) => {
                    let list = OwnedAcl::list(&a.acls);
                    r.acl(out, cx, a.key, &list, off)?;
                    acls.insert(a.key, list);
                }
                SnapshotItem::TreeEnd => r.tree_end(out, cx, off)?,
                SnapshotItem::Seal(s) => r.seal(out, cx, &s, off)?,
                SnapshotItem::Digest(d) => {
                    let check = src.summary().digest_check(cx.name_zxid);
                    r.digest(out, cx, &d, check, off)?;
                }
                SnapshotItem::LastZxid(z) => r.last_zxid(out, cx, z, off)?,
                _ => {}
            }
        }
        if let Some(p) = pipeline.as_mut() {
            p.flush(out)?;
        }
        t.summary = src.summary();
        r.snap_end(out, cx, &t)?;
        Ok(t.error)
    })
}
