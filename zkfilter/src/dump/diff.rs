//! `zkdump diff A B`: nodes added, removed and changed (data, ACL, stat fields) between two
//! snapshots, or a snapshot and a data dir replayed to `--zxid` ([`zkformat::tree`]). Both
//! sides are loaded into [`DataTree`]s. Exit code 1 when they differ.

use std::io::{self, Write};
use std::path::Path;

use zkformat::data::Stat;
use zkformat::snapshot::SnapshotReader;
use zkformat::source::FileBytes;
use zkformat::tree::{DataTree, TreeNode};
use zkformat::{Limits, Zxid};

use super::render::json::{data_json, Obj};
use super::render::{Ctx, OwnedAcl};
use super::{hex64, path_str, DumpOptions};
use crate::cli::{output_error, CliError, EXIT_OK, EXIT_PROBLEMS};

/// Loads one side: a data dir (replayed to `zxid`, or to its end) or a snapshot file.
///
/// # Errors
/// Unreadable or damaged inputs.
pub fn load(arg: &str, zxid: Option<Zxid>, limits: Limits) -> Result<(DataTree, String), CliError> {
    let path = Path::new(arg);
    if path.is_dir() {
        let dd = zkformat::datadir::DataDir::scan(path).map_err(|e| CliError::io(arg, &e))?;
        let rp = zkformat::tree::replay_datadir(&dd, zxid, limits)
            .map_err(|fe| CliError::format(&fe.path.display().to_string(), &fe.error))?;
        let what = format!("{arg} (replayed to {})", rp.tree.last_zxid);
        return Ok((rp.tree, what));
    }
    let bytes = FileBytes::open(path).map_err(|e| CliError::io(arg, &e))?;
    let name_zxid = super::records::name_zxid(arg).unwrap_or_default();
    let reader = SnapshotReader::open(&bytes[..], limits).map_err(|e| CliError::format(arg, &e))?;
    let (tree, _) =
        DataTree::from_snapshot(reader, name_zxid).map_err(|e| CliError::format(arg, &e))?;
    Ok((tree, arg.to_string()))
}

fn acl_of(t: &DataTree, key: i64) -> Vec<OwnedAcl> {
    if key == -1 {
        return vec![OwnedAcl::from_acl(&zkformat::data::Acl::OPEN_UNSAFE)];
    }
    t.acls
        .get(key)
        .map(|l| l.iter().map(|a| OwnedAcl::from_acl(&a.as_acl())).collect())
        .unwrap_or_default()
}

fn stat_fields(s: &Stat) -> [(&'static str, i64, bool); 9] {
    [
        ("czxid", s.czxid, true),
        ("mzxid", s.mzxid, true),
        ("pzxid", s.pzxid, true),
        ("ctime", s.ctime, false),
        ("mtime", s.mtime, false),
        ("version", i64::from(s.version), false),
        ("cversion", i64::from(s.cversion), false),
        ("aversion", i64::from(s.aversion), false),
        ("ephemeralOwner", s.ephemeral_owner, true),
    ]
}

fn value(v: i64, hex: bool) -> String {
    if hex {
        hex64(v)
    } else {
        v.to_string()
    }
}

/// Compares two trees and renders the differences. Returns the number of differing nodes.
///
/// # Errors
/// Output errors.
pub fn render_diff(
    a: &DataTree,
    b: &DataTree,
    opts: &DumpOptions,
    json: bool,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let cx = Ctx {
        opts,
        name: "",
        name_zxid: None,
    };
    let pa = a.sorted_paths();
    let pb = b.sorted_paths();
    let (mut i, mut j) = (0, 0);
    let mut diffs = 0u64;
    let node_line =
        |kind: &str, p: &[u8], n: &TreeNode, t: &DataTree, out: &mut dyn Write| -> io::Result<()> {
            if json {
                let mut o = Obj::kind(kind);
                o.str("path", &path_str(p))
                    .int("dataLength", n.data.as_ref().map_or(0, |d| d.len() as u64))
                    .hex("mzxid", n.stat.mzxid)
                    .hex("ephemeralOwner", n.stat.ephemeral_owner);
                if opts.data {
                    o.raw("data", &data_json(&cx, n.data.as_deref()));
                }
                let _ = t;
                o.line(out)
            } else {
                let sign = if kind == "added" { "+" } else { "-" };
                writeln!(
                    out,
                    "{sign} {} (dataLength {}, mzxid {}, ephemeralOwner {})",
                    path_str(p),
                    n.data.as_ref().map_or(0, Vec::len),
                    hex64(n.stat.mzxid),
                    hex64(n.stat.ephemeral_owner)
                )
            }
        };
    while i < pa.len() || j < pb.len() {
        let (x, y) = (pa.get(i).copied(), pb.get(j).copied());
        match (x, y) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                let (Some(na), Some(nb)) = (a.get(x), b.get(y)) else {
                    continue;
                };
                let mut changes: Vec<(String, String, String)> = Vec::new();
                if na.data != nb.data {
                    let show = |d: &Option<Vec<u8>>| {
                        if opts.data {
                            data_json(&cx, d.as_deref())
                        } else {
                            d.as_ref().map_or_else(
                                || "null".to_string(),
                                |d| format!("{} bytes", d.len()),
                            )
                        }
                    };
                    changes.push(("data".into(), show(&na.data), show(&nb.data)));
                }
                let (aa, ab) = (acl_of(a, na.acl_key), acl_of(b, nb.acl_key));
                if aa != ab {
                    let t =
                        |l: &[OwnedAcl]| l.iter().map(OwnedAcl::text).collect::<Vec<_>>().join(",");
                    changes.push(("acl".into(), t(&aa), t(&ab)));
                }
                for ((name, va, hex), (_, vb, _)) in
                    stat_fields(&na.stat).into_iter().zip(stat_fields(&nb.stat))
                {
                    if va != vb {
                        changes.push((name.to_string(), value(va, hex), value(vb, hex)));
                    }
                }
                if changes.is_empty() {
                    continue;
                }
                diffs += 1;
                if json {
                    let items: Vec<String> = changes
                        .iter()
                        .map(|(f, l, r)| {
                            let mut o = Obj::new();
                            o.str("field", f).str("left", l).str("right", r);
                            o.finish()
                        })
                        .collect();
                    let mut o = Obj::kind("changed");
                    o.str("path", &path_str(x))
                        .raw("changes", &format!("[{}]", items.join(",")));
                    o.line(out)?;
                } else {
                    writeln!(out, "~ {}", path_str(x))?;
                    for (f, l, r) in &changes {
                        writeln!(out, "    {f}: {l} -> {r}")?;
                    }
                }
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                diffs += 1;
                if let Some(n) = a.get(x) {
                    node_line("removed", x, n, a, out)?;
                }
            }
            (Some(x), None) => {
                i += 1;
                diffs += 1;
                if let Some(n) = a.get(x) {
                    node_line("removed", x, n, a, out)?;
                }
            }
            (_, Some(y)) => {
                j += 1;
                diffs += 1;
                if let Some(n) = b.get(y) {
                    node_line("added", y, n, b, out)?;
                }
            }
            (None, None) => break,
        }
    }
    Ok(diffs)
}

/// Runs `diff`. Returns 0 when identical, 1 when different.
///
/// # Errors
/// Unreadable inputs; output errors.
pub fn run(
    a: &str,
    b: &str,
    zxid: Option<Zxid>,
    opts: &DumpOptions,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let (ta, wa) = load(a, zxid, opts.limits)?;
    let (tb, wb) = load(b, zxid, opts.limits)?;
    if !json {
        writeln!(out, "--- {wa} ({} nodes)", ta.len()).map_err(output_error)?;
        writeln!(out, "+++ {wb} ({} nodes)", tb.len()).map_err(output_error)?;
    }
    let n = render_diff(&ta, &tb, opts, json, out).map_err(output_error)?;
    let mut sa: Vec<(i64, i32)> = ta.sessions.iter().map(|(k, v)| (*k, *v)).collect();
    let mut sb: Vec<(i64, i32)> = tb.sessions.iter().map(|(k, v)| (*k, *v)).collect();
    sa.sort_unstable();
    sb.sort_unstable();
    let sessions_differ = sa != sb;
    if json {
        let mut o = Obj::kind("diffEnd");
        o.str("left", &wa)
            .str("right", &wb)
            .int("leftNodes", ta.len() as u64)
            .int("rightNodes", tb.len() as u64)
            .int("differences", n)
            .bool("sessionsDiffer", sessions_differ)
            .bool("identical", n == 0 && !sessions_differ);
        o.line(out).map_err(output_error)?;
    } else {
        if sessions_differ {
            writeln!(
                out,
                "sessions differ: {} on the left, {} on the right",
                sa.len(),
                sb.len()
            )
            .map_err(output_error)?;
        }
        writeln!(out, "{n} nodes differ.").map_err(output_error)?;
    }
    out.flush().map_err(output_error)?;
    Ok(if n == 0 && !sessions_differ {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}
