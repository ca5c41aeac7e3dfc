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

use super::render::json::{acl_json, data_json, quote, Obj};
use super::render::{Ctx, OwnedAcl};
use super::{hex64, path_str, plural, DumpOptions};
use crate::cli::{output_error, CliError, EXIT_OK, EXIT_PROBLEMS};

/// Loads one side: a data dir (replayed to `zxid`, or to its end) or a snapshot file.
///
/// # Errors
/// Unreadable or damaged inputs.
pub fn load(arg: &str, zxid: Option<Zxid>, limits: Limits) -> Result<(DataTree, String), CliError> {
    let opened = crate::inputs::materialize(arg)?;
    let (path, temp) = opened.path(arg);
    if path.is_dir() {
        let dd = zkformat::datadir::DataDir::scan(path).map_err(|e| CliError::io(arg, &e))?;
        let rp = zkformat::tree::replay_datadir(&dd, zxid, limits).map_err(|fe| {
            let file = crate::inputs::show_as(&fe.path.display().to_string(), temp, arg);
            CliError::format(&file, &fe.error)
        })?;
        let what = match opened.note() {
            Some(note) => format!("{arg} (replayed to {}; {note})", rp.tree.last_zxid),
            None => format!("{arg} (replayed to {})", rp.tree.last_zxid),
        };
        return Ok((rp.tree, what));
    }
    let bytes = FileBytes::open(path).map_err(|e| CliError::io(arg, &e))?;
    if !super::source::is_snapshot_kind(zkformat::kind::FileKind::detect(&bytes)) {
        let name = match temp {
            Some(_) => arg.to_string(),
            None => path.display().to_string(),
        };
        return Err(crate::cli::kind_error(
            "zkdump diff",
            "a snapshot, a data dir, or a tar archive of one",
            &name,
            bytes.get(..512).unwrap_or(&bytes),
        ));
    }
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

/// One changed field: its text for people and its JSON value (64-bit ids as `"0x…"` strings,
/// versions, counts and times as integers, ACLs as ACL lists, data as data objects or lengths).
struct Change {
    field: &'static str,
    left: String,
    right: String,
    left_json: String,
    right_json: String,
}

fn stat_change(field: &'static str, a: i64, b: i64, hex: bool) -> Change {
    if hex {
        Change {
            field,
            left: hex64(a),
            right: hex64(b),
            left_json: quote(&hex64(a)),
            right_json: quote(&hex64(b)),
        }
    } else {
        Change {
            field,
            left: a.to_string(),
            right: b.to_string(),
            left_json: a.to_string(),
            right_json: b.to_string(),
        }
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
                let mut changes: Vec<Change> = Vec::new();
                if na.data != nb.data {
                    let show = |d: &Option<Vec<u8>>| {
                        if opts.data {
                            data_json(&cx, d.as_deref())
                        } else {
                            d.as_ref().map_or_else(
                                || "null".to_string(),
                                |d| plural(d.len() as u64, "byte", "bytes"),
                            )
                        }
                    };
                    // JSON: the data objects with --data, else the lengths (null: null data).
                    let json = |d: &Option<Vec<u8>>| {
                        if opts.data {
                            data_json(&cx, d.as_deref())
                        } else {
                            d.as_ref()
                                .map_or_else(|| "null".to_string(), |d| d.len().to_string())
                        }
                    };
                    changes.push(Change {
                        field: "data",
                        left: show(&na.data),
                        right: show(&nb.data),
                        left_json: json(&na.data),
                        right_json: json(&nb.data),
                    });
                }
                let (aa, ab) = (acl_of(a, na.acl_key), acl_of(b, nb.acl_key));
                if aa != ab {
                    let t =
                        |l: &[OwnedAcl]| l.iter().map(OwnedAcl::text).collect::<Vec<_>>().join(",");
                    changes.push(Change {
                        field: "acl",
                        left: t(&aa),
                        right: t(&ab),
                        left_json: acl_json(&aa),
                        right_json: acl_json(&ab),
                    });
                }
                for ((name, va, hex), (_, vb, _)) in
                    stat_fields(&na.stat).into_iter().zip(stat_fields(&nb.stat))
                {
                    if va != vb {
                        changes.push(stat_change(name, va, vb, hex));
                    }
                }
                if changes.is_empty() {
                    continue;
                }
                diffs += 1;
                if json {
                    let items: Vec<String> = changes
                        .iter()
                        .map(|c| {
                            let mut o = Obj::new();
                            o.str("field", c.field)
                                .raw("left", &c.left_json)
                                .raw("right", &c.right_json);
                            o.finish()
                        })
                        .collect();
                    let mut o = Obj::kind("changed");
                    o.str("path", &path_str(x))
                        .raw("changes", &format!("[{}]", items.join(",")));
                    o.line(out)?;
                } else {
                    writeln!(out, "~ {}", path_str(x))?;
                    for c in &changes {
                        writeln!(out, "    {}: {} -> {}", c.field, c.left, c.right)?;
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
    if a == "-" && b == "-" {
        return Err(CliError::msg(
            "standard input (-) is named on both sides; it can be read only once",
        ));
    }
    let is_data_dir = |p: &str| {
        Path::new(p).is_dir()
            || matches!(
                crate::inputs::sniff_file(Path::new(p)),
                Ok(crate::inputs::Sniffed::Archive(_))
            )
    };
    if let Some(z) = zxid {
        if a != "-" && b != "-" && !is_data_dir(a) && !is_data_dir(b) {
            let mut e = CliError::msg(format!(
                "--zxid {z} replays data dirs to that zxid, and {a} and {b} are both snapshot files (each holds the tree at its own zxid)"
            ));
            e.hint = Some("drop --zxid, or give a data dir on one side".into());
            return Err(e);
        }
    }
    let (ta, wa) = load(a, zxid, opts.limits)?;
    let (tb, wb) = load(b, zxid, opts.limits)?;
    if !json {
        let nodes = |n: usize| plural(n as u64, "node", "nodes");
        writeln!(out, "--- {wa} ({})", nodes(ta.len())).map_err(output_error)?;
        writeln!(out, "+++ {wb} ({})", nodes(tb.len())).map_err(output_error)?;
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
                plural(sa.len() as u64, "session", "sessions"),
                plural(sb.len() as u64, "session", "sessions")
            )
            .map_err(output_error)?;
        }
        writeln!(
            out,
            "{} {}.",
            plural(n, "node", "nodes"),
            if n == 1 { "differs" } else { "differ" }
        )
        .map_err(output_error)?;
    }
    out.flush().map_err(output_error)?;
    Ok(if n == 0 && !sessions_differ {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}
