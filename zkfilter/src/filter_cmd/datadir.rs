//! `zkfilter datadir`: replay a data dir as ZooKeeper would, filter the tree, and write a fresh
//! data dir holding one snapshot at the last zxid.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;
use zkformat::compression::{Compression, Compressor};
use zkformat::datadir::DataDir;
use zkformat::filter::filter_tree;
use zkformat::snapshot::Tail;
use zkformat::tree::replay_datadir_with;
use zkformat::zxid::snapshot_file_name;
use zkformat::zxid::NameCompression;
use zkformat::Zxid;

use super::snapshot::parse_compression;
use super::{finish, Outcome, PolicyArgs, RunArgs};
use crate::cli::{self, CliError};
use crate::inputs::{describe_folder, open_data_dir, SplitFolders, DATA_DIR_EXPECTED};
use crate::plan::{write_synced, Output};

/// `zkfilter datadir --help` examples (they run as pasted from the project's root).
pub(super) const EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  # A data dir into a fresh data dir a stock server loads, with a JSON report:
  zkfilter datadir testdata/zk-3.8/recipes -o /tmp/zkfilter-example-restored --report /tmp/zkfilter-example-restored.json
  # A tar.gz of a data dir from standard input, to a point in time:
  tar -C testdata/zk-3.8/recipes -cz version-2 | zkfilter datadir - --to-zxid 0x33 -o /tmp/zkfilter-example-pit
  # The single stream ZooKeeper 3.9's admin `restore` accepts:
  zkfilter datadir testdata/zk-3.9/recipes --admin-restore /tmp/zkfilter-example-restore.snap
  # What would be dropped, as JSON on standard output, writing nothing:
  zkfilter datadir testdata/zk-3.8/recipes --dry-run --report -

Exit status: 0 success; 2 nothing was written (usage, input or output error); 3 --salvage kept
what came before damage.";

/// Arguments of `zkfilter datadir`.
#[derive(Debug, Args, Default)]
pub struct DatadirArgs {
    /// The data dir (holding `version-2/`, or `version-2` itself), or a `.tar`, `.tar.gz` or
    /// `.tar.zst` of one (`-` = such an archive on standard input).
    pub input: String,
    /// The data dir to write (ZooKeeper's `dataDir`: the files go to OUT/version-2/). A new
    /// folder, or an existing one without version-2/ (its myid and other files stay).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The txn logs' folder when the server had a separate `dataLogDir` (its `version-2` or the
    /// folder holding it); the output puts everything in one data dir.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Stop at this zxid (point-in-time restore; `0x…` or decimal).
    #[arg(long, value_name = "ZXID", value_parser = cli::parse_zxid)]
    pub to_zxid: Option<Zxid>,
    /// Stop at this time: the last txn stamped at or before it (RFC 3339, or ms since the
    /// epoch); the zxid chosen and its time are printed and reported.
    #[arg(long, value_name = "TIME", value_parser = cli::parse_time_ms, conflicts_with = "to_zxid")]
    pub to_time: Option<i64>,
    /// Write the restored state at the first zxid of this epoch (default: the highest epoch the
    /// data shows + 10; see --no-fence).
    #[arg(long, value_name = "EPOCH", conflicts_with = "no_fence")]
    pub fence_epoch: Option<u32>,
    /// Keep the state at its last zxid: clients that saw later zxids are then refused by the
    /// restored server until they give up their session. (The default for --admin-restore.)
    #[arg(long)]
    pub no_fence: bool,
    /// Write the state at this zxid (at or above the data's last), in the running ensemble's
    /// epoch: for --admin-restore on live members, the highest zxid they handed out, so their
    /// clients are not refused and their next txns stay above it.
    #[arg(long, value_name = "ZXID", value_parser = cli::parse_zxid, conflicts_with_all = ["fence_epoch", "no_fence"])]
    pub fence_zxid: Option<Zxid>,
    /// Write the snapshot for this ZooKeeper version: 3.4/3.5 (no digest, no compression),
    /// 3.6/3.7/3.8 (digest), 3.9 (digest and last zxid). Default: what the input's snapshot has.
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,
    /// Compression of the written snapshot: none, gz or snappy (default: the input snapshot's).
    #[arg(long, value_name = "METHOD", value_parser = parse_compression)]
    pub compress: Option<Compression>,
    /// Instead of a data dir, write the uncompressed snapshot stream that ZooKeeper 3.9's admin
    /// `restore` command accepts (digest and last-processed-zxid sections included; `-` =
    /// standard output).
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub admin_restore: Option<String>,
    /// What to drop.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// A `--target-version`: 3.4 to 3.9 (a patch level is accepted and ignored).
fn parse_target_version(v: &str) -> Result<(u32, u32), CliError> {
    let t = v.trim();
    let mut parts = t.split('.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    let rest_ok = parts.all(|p| p.parse::<u32>().is_ok());
    match (major, minor, rest_ok) {
        (Some(3), Some(m @ 4..=9), true) => Ok((3, m)),
        (Some(_), Some(_), true) => Err(CliError::msg(format!(
            "--target-version {t}: this zkfilter writes snapshots for ZooKeeper 3.4 to 3.9 only, and does not know the format of {t}"
        ))),
        _ => Err(CliError::msg(format!(
            "--target-version {t:?} is not a ZooKeeper version (3.4 to 3.9, e.g. 3.8)"
        ))),
    }
}

fn tail_for_version((_, minor): (u32, u32)) -> Tail {
    match minor {
        4 | 5 => Tail::NONE,
        6..=8 => Tail::DIGEST,
        _ => Tail::DIGEST_AND_LAST_ZXID,
    }
}

fn version_of_tail(t: Tail) -> &'static str {
    match (t.digest, t.last_zxid) {
        (false, false) => "3.4/3.5 (or 3.6+ with digests off)",
        (true, false) => "3.6-3.8",
        (true, true) => "3.9",
        (false, true) => "3.9 with digests off",
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn list_names(paths: &[&Path]) -> String {
    let mut s = paths
        .iter()
        .take(6)
        .map(|p| name_of(p))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > 6 {
        s.push_str(&format!(", … {} in all", paths.len()));
    }
    s
}

/// The first zxid a fresh server writes: 1 (standalone 3.4) or the first of epoch 1.
fn is_first_zxid(z: Zxid) -> bool {
    z.0 == 1 || z.0 == 0x1_0000_0001
}

/// Runs `zkfilter datadir` (also for `zkbackup restore` and `export`, which filter through the
/// same code): returns the exit code; the summary goes to stderr, the report where asked.
///
/// # Errors
/// Everything that stops a run; nothing is left at the destination then.
pub fn run(a: DatadirArgs, run: &RunArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy(run.force)?;
    let limits = run.limits();
    // Options that cannot go together are refused before anything is read or written.
    let target = a
        .target_version
        .as_deref()
        .map(parse_target_version)
        .transpose()?;
    if a.admin_restore.is_some() {
        if let Some(t) = target.filter(|t| t.1 != 9) {
            return Err(CliError::msg(format!(
                "--admin-restore writes ZooKeeper 3.9's admin restore stream; --target-version 3.{} cannot apply",
                t.1
            )));
        }
        if a.compress.is_some_and(|c| c != Compression::None) {
            return Err(CliError::msg(
                "--admin-restore writes an uncompressed stream (ZooKeeper's admin restore reads no other); --compress cannot apply",
            ));
        }
    }
    if let (Some((_, m @ (4 | 5))), Some(c)) = (target, a.compress) {
        if c != Compression::None {
            let mut e = CliError::msg(format!(
                "--target-version 3.{m} --compress {}: ZooKeeper 3.{m} cannot read compressed snapshots (compression came in 3.6)",
                format!("{c:?}").to_lowercase()
            ));
            e.hint = Some("drop --compress, or use --compress none".into());
            return Err(e);
        }
    }
    if a.output.is_none() && a.admin_restore.is_none() && !run.dry_run {
        let mut e =
            CliError::msg("zkfilter datadir needs -o DIR (or --admin-restore FILE, or --dry-run)");
        e.hint = Some("e.g. zkfilter datadir /backups/data -o /var/lib/zookeeper-restored".into());
        return Err(e);
    }
    // Inputs and outputs are checked before anything is read.
    let mut plan = run.plan(&a.policy)?;
    plan.input(&a.input, "the input data dir")?;
    if let Some(ld) = &a.log_dir {
        plan.input_path(ld, "--log-dir")?;
    }
    let data = if let Some(f) = &a.admin_restore {
        Some(plan.output(f, "the admin restore stream (--admin-restore)", true)?)
    } else if let Some(o) = &a.output {
        Some(Output::DataDir(plan.data_dir(o, "the output data dir")?))
    } else {
        None
    };
    let report_out = run.plan_report(&mut plan)?;

    let src = open_data_dir(&a.input, "zkfilter datadir")?;
    let input_name = src.shown.clone();
    let mut dd = DataDir::scan(&src.dir).map_err(|e| CliError::io(&input_name, &e))?;
    if let Some(ld) = &a.log_dir {
        let shown = ld.display().to_string();
        if !ld.is_dir() {
            return Err(CliError::msg(
                "--log-dir must be a folder (the server's dataLogDir, or its version-2)",
            )
            .with_path(&shown));
        }
        let logs = DataDir::scan(ld).map_err(|e| CliError::io(&shown, &e))?;
        if !dd.logs.is_empty() {
            return Err(CliError::msg(format!(
                "{} holds txn logs too; with --log-dir the logs must be in one place (ZooKeeper refuses such a layout)",
                // An archive's unpacked folder is temporary: name the archive.
                if src.archive.is_some() {
                    input_name.clone()
                } else {
                    dd.dir.display().to_string()
                }
            )));
        }
        if logs.logs.is_empty() {
            return Err(CliError::msg(format!(
                "--log-dir holds no txn log (log.*): {}",
                describe_folder(&logs.dir)
            ))
            .with_path(&shown));
        }
        dd.logs = logs.logs;
    }
    if dd.snapshots.is_empty() && dd.logs.is_empty() {
        let found = if src.archive.is_some() {
            "an archive without ZooKeeper files".to_string()
        } else {
            describe_folder(&src.dir)
        };
        let mut e = CliError::msg(format!(
            "this is {found}; zkfilter datadir expects {DATA_DIR_EXPECTED}"
        ))
        .with_path(&input_name);
        if src.archive.is_none() {
            e.hint = SplitFolders::find(&src.dir).map(|s| s.hint("zkfilter datadir"));
        }
        return Err(e);
    }
    // A point in time is the zxid of the last txn stamped at or before it.
    let mut to_zxid = a.to_zxid;
    let mut to_time_hit = None;
    if let Some(t) = a.to_time {
        let hit = zkformat::tree::zxid_at_time(&dd, t, limits)
            .map_err(|e| CliError::format(&e.path.display().to_string(), &e.error))?;
        match hit {
            Some((z, zt)) => {
                to_zxid = Some(z);
                to_time_hit = Some((z, zt));
            }
            None => {
                let mut e = CliError::msg(format!(
                    "--to-time {}: every txn in the logs is later; that point is before the data",
                    crate::dump::format_time(t)
                ))
                .with_path(&input_name);
                e.hint =
                    Some("choose a later time, or restore a snapshot alone with --to-zxid".into());
                return Err(e);
            }
        }
    }
    // The snapshot to start from must exist: a result that is not what was asked is an error.
    let candidates: Vec<_> = dd
        .snapshot_candidates()
        .into_iter()
        .filter(|c| to_zxid.map_or(true, |z| c.zxid() <= z))
        .collect();
    let mut warnings = Vec::new();
    if candidates.is_empty() {
        if let Some(z) = to_zxid.filter(|_| !dd.snapshot_candidates().is_empty()) {
            let oldest = dd
                .snapshot_candidates()
                .last()
                .map(|f| (f.zxid(), name_of(&f.path)));
            let mut e = CliError::msg(format!(
                "--to-zxid {z}: no snapshot at or before it (the oldest is {}), so that point cannot be restored",
                oldest.map_or_else(String::new, |(z, n)| format!("{n}, zxid {z}"))
            ))
            .with_path(&input_name);
            e.hint = Some("choose a zxid at or after the oldest snapshot, or add older snapshots to the input".into());
            return Err(e);
        }
        let first_log = dd.logs.first().map(|l| l.zxid());
        if dd.snapshots.is_empty() && first_log.is_some_and(is_first_zxid) {
            warnings.push("no snapshot: every log was replayed from an empty tree (they start at the first zxid, so nothing is missing); ZooKeeper 3.5.3+ would refuse this data dir as it is, the output loads".into());
        } else {
            let what = if dd.snapshots.is_empty() {
                "it holds no snapshot".to_string()
            } else {
                format!(
                    "no snapshot passes ZooKeeper's validity check ({})",
                    list_names(
                        &dd.snapshots
                            .iter()
                            .map(|f| f.path.as_path())
                            .collect::<Vec<_>>()
                    )
                )
            };
            let mut e = CliError::msg(format!(
                "{what}, and its logs ({}) start after the first zxid: they cannot be replayed from any snapshot, the state before them is unknown",
                list_names(&dd.logs.iter().map(|f| f.path.as_path()).collect::<Vec<_>>())
            ))
            .with_path(&input_name);
            e.hint = Some("add the snapshot taken before the first log (ZooKeeper 3.5.3+ refuses such a data dir too: \"No snapshot found, but there are log entries\")".into());
            return Err(e);
        }
    }
    let interactive = !run.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    if interactive {
        let bytes: u64 =
            dd.logs.iter().map(|l| l.len).sum::<u64>() + dd.snapshots.first().map_or(0, |s| s.len);
        eprintln!(
            "zkfilter: replaying {} ({} snapshots, {} logs, {:.1} MiB)…",
            dd.dir.display(),
            dd.snapshots.len(),
            dd.logs.len(),
            bytes as f64 / 1048576.0
        );
    }
    let replay = replay_datadir_with(&dd, to_zxid, limits, run.salvage).map_err(|e| {
        let shown = match &src.archive {
            Some(_) => format!("{input_name}: {}", name_of(&e.path)),
            None => e.path.display().to_string(),
        };
        let mut c = CliError::format(&shown, &e.error);
        if dd.snapshot_candidates().is_empty() && !dd.snapshots.is_empty() {
            c.hint = Some("no snapshot passed ZooKeeper's validity check; the data dir is not restorable as it is".into());
        }
        c
    })?;
    if replay.snapshot.is_none() && !dd.snapshots.is_empty() {
        let mut e = CliError::msg(format!(
            "no snapshot could be read ({})",
            replay
                .rejected_snapshots
                .iter()
                .map(|r| format!("{}: {}", name_of(&r.path), r.error))
                .collect::<Vec<_>>()
                .join("; ")
        ))
        .with_path(&input_name);
        e.hint =
            Some("the data dir is not restorable as it is; restore from an older backup".into());
        return Err(e);
    }
    for r in &replay.rejected_snapshots {
        warnings.push(format!(
            "skipped damaged snapshot {} ({}), as ZooKeeper would",
            name_of(&r.path),
            r.error
        ));
    }
    if let Some(z) = to_zxid {
        let stopped_early =
            replay.stopped_by.is_none() && replay.logs.last().is_some_and(|(_, end)| end.is_none());
        if replay.tree.last_zxid < z && !stopped_early && replay.stopped_by.is_none() {
            let mut e = CliError::msg(format!(
                "--to-zxid {z} is past the end of the data: the last txn is {}",
                replay.tree.last_zxid
            ))
            .with_path(&input_name);
            e.hint = Some(format!(
                "omit --to-zxid to restore to the end, or pass --to-zxid {}",
                replay.tree.last_zxid
            ));
            return Err(e);
        }
    }
    for (p, end) in &replay.logs {
        if let Some(e) = end {
            if !e.is_clean() {
                warnings.push(format!("{} ends with a {}", name_of(p), e.describe()));
            }
        }
    }
    let input_tail = replay.snapshot_summary.map(|s| s.tail);
    let input_compression = replay
        .snapshot
        .as_ref()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(zkformat::zxid::parse_file_name)
        .map(|n| match n.kind {
            zkformat::zxid::FileNameKind::Snapshot(NameCompression::Gzip) => Compression::Gzip,
            zkformat::zxid::FileNameKind::Snapshot(NameCompression::Snappy) => Compression::Snappy,
            _ => Compression::None,
        })
        .unwrap_or(Compression::None);
    let tail = match (target, a.admin_restore.is_some()) {
        (_, true) => Tail::DIGEST_AND_LAST_ZXID,
        (Some(v), false) => tail_for_version(v),
        (None, false) => input_tail.unwrap_or(Tail::DIGEST),
    };
    if tail
        == (Tail {
            digest: false,
            last_zxid: true,
        })
    {
        warnings.push("the snapshot keeps the input's last-zxid-only tail (3.9 with digests off): a default 3.9 server refuses it; pass --target-version 3.9 for a default server".into());
    }
    let old_format = matches!(target, Some((_, 4 | 5)));
    let compression = match a.compress {
        Some(c) => c,
        // 3.4 and 3.5 read only plain snapshots.
        None if old_format => Compression::None,
        None if a.admin_restore.is_some() => Compression::None,
        None => input_compression,
    };
    let mut tree = replay.tree;
    // A fuzzy snapshot with no log after it (an admin snapshot, say) holds txns past its name:
    // the state is at least as far as its node zxids and last-zxid section go, or a server
    // restored from it would hand those zxids out again.
    if to_zxid.is_none() {
        if let Some(s) = &replay.snapshot_summary {
            let reach = s.last_zxid.unwrap_or_default().max(Zxid(s.max_node_zxid));
            if reach > tree.last_zxid {
                warnings.push(format!(
                    "the snapshot is fuzzy and no log follows it: it holds txns up to {reach}, past its name's {}; the state is taken to be at {reach}",
                    tree.last_zxid
                ));
                tree.last_zxid = reach;
            }
        }
    }
    if interactive {
        eprintln!(
            "zkfilter: replayed to {} ({} nodes) in {:.1} s; filtering and writing…",
            tree.last_zxid,
            tree.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let report = filter_tree(&mut tree, &policy);
    if let Some((_, m)) = target {
        let mut cannot = Vec::new();
        if report.ttl_nodes > 0 && m < 5 {
            cannot.push(format!(
                "{} TTL {}",
                report.ttl_nodes,
                if report.ttl_nodes == 1 {
                    "node"
                } else {
                    "nodes"
                }
            ));
        }
        if report.container_nodes > 0 && m < 5 {
            cannot.push(format!(
                "{} container {}",
                report.container_nodes,
                if report.container_nodes == 1 {
                    "node"
                } else {
                    "nodes"
                }
            ));
        }
        if !cannot.is_empty() {
            let mut e = CliError::msg(format!(
                "--target-version 3.{m}: the restored tree holds {}, which ZooKeeper 3.{m} cannot express",
                cannot.join(" and ")
            ));
            e.hint = Some(
                "restore to 3.5 or later, or drop those nodes' prefix with --drop-prefix".into(),
            );
            return Err(e);
        }
    }
    // The zxid fence: the state moves to the first zxid of a new epoch, the epoch files with it.
    let data_last = tree.last_zxid;
    let fence = if let Some(z) = a.fence_zxid {
        if z < data_last {
            return Err(CliError::msg(format!(
                "--fence-zxid {z} is below the data's last zxid {data_last}"
            )));
        }
        tree.last_zxid = z;
        Some(zkformat::fence::Fence {
            epoch: z.epoch(),
            zxid: z,
            floor: data_last.epoch(),
            reason: format!("--fence-zxid {z}"),
        })
    } else if a.no_fence || (a.admin_restore.is_some() && a.fence_epoch.is_none()) {
        None
    } else {
        let mut seen = Vec::new();
        for (name, content) in [
            ("acceptedEpoch", &dd.accepted_epoch),
            ("currentEpoch", &dd.current_epoch),
        ] {
            if let Some(e) = content.as_deref().and_then(zkformat::fence::parse_epoch) {
                seen.push(zkformat::fence::SeenEpoch {
                    epoch: e,
                    source: format!("the input's {name}"),
                });
            }
        }
        // Logs beyond a point in time show epochs clients may have seen too.
        if let Some(z) = dd.logs.last().map(|l| l.zxid()) {
            seen.push(zkformat::fence::SeenEpoch {
                epoch: z.epoch(),
                source: "the input's newest log".to_string(),
            });
        }
        let f = zkformat::fence::choose(data_last, &seen, a.fence_epoch).map_err(CliError::msg)?;
        tree.last_zxid = f.zxid;
        Some(f)
    };
    let epoch_files: [(&str, Option<String>); 2] = match &fence {
        Some(f) => [
            ("acceptedEpoch", Some(f.epoch.to_string())),
            ("currentEpoch", Some(f.epoch.to_string())),
        ],
        None => [
            ("acceptedEpoch", dd.accepted_epoch.clone()),
            ("currentEpoch", dd.current_epoch.clone()),
        ],
    };
    let last = tree.last_zxid;
    let snap_name = snapshot_file_name(
        last,
        match compression {
            Compression::None => NameCompression::None,
            Compression::Gzip => NameCompression::Gzip,
            Compression::Snappy => NameCompression::Snappy,
        },
    );
    let mut data = data;
    let mut written = None;
    if !run.dry_run {
        match data.as_mut() {
            Some(Output::DataDir(staged)) => {
                let v2 = staged.version2();
                fs::create_dir_all(&v2).map_err(|e| CliError::io(&v2.display().to_string(), &e))?;
                write_synced(&v2.join(&snap_name), |w| {
                    let c = Compressor::new(BufWriter::new(w), compression);
                    let c = tree.write_snapshot(c, tail)?;
                    c.finish()?.into_inner().map_err(|e| e.into_error())?;
                    Ok(())
                })?;
                for (file, content) in &epoch_files {
                    if let Some(c) = content {
                        write_synced(&v2.join(file), |w| w.write_all(c.as_bytes()))?;
                    }
                }
                written = Some(format!("{}/version-2/{snap_name}", staged.dest().display()));
            }
            Some(Output::File(f)) => {
                let shown = f.dest().display().to_string();
                let mut w = BufWriter::with_capacity(1 << 20, f.file());
                tree.write_snapshot(&mut w, tail)
                    .and_then(|w| w.flush())
                    .map_err(|e| CliError::io(&shown, &e).with_what("the admin restore stream"))?;
                drop(w);
                written = Some(shown);
            }
            Some(Output::Stdout) => {
                let mut w = BufWriter::with_capacity(1 << 20, io::stdout().lock());
                tree.write_snapshot(&mut w, tail)
                    .and_then(|w| w.flush())
                    .map_err(cli::output_error)?;
                written = Some("standard output".to_string());
            }
            None => {}
        }
    }
    let salvaged = replay
        .stopped_by
        .as_ref()
        .map(|e| format!("{e} — txns from here on were not replayed"));
    let shown_path = |p: &Path| match &src.archive {
        Some(_) => format!("{input_name}: {}", name_of(p)),
        None => p.display().to_string(),
    };
    let extra = json!({
        "snapshotUsed": replay.snapshot.as_deref().map(shown_path),
        "snapshotZxid": format!("{}", replay.snapshot_zxid),
        "logsUsed": replay.logs.iter().map(|(p, _)| shown_path(p)).collect::<Vec<_>>(),
        "lastZxid": format!("{last}"),
        "txnsReplayed": tree.stats.txns,
        "replayErrorsIgnored": tree.stats.ignored_errors,
        "digestChecks": tree.stats.digests_checked,
        "digestMismatches": tree.stats.digest_mismatches,
        "inputFormat": input_tail.map(version_of_tail),
        "outputFormat": version_of_tail(tail),
        "outputCompression": format!("{compression:?}").to_lowercase(),
        "outputSnapshot": (!run.dry_run && a.output.is_some()).then(|| format!("version-2/{snap_name}")),
        "epochs": {"acceptedEpoch": epoch_files[0].1, "currentEpoch": epoch_files[1].1},
        "dataLastZxid": format!("{data_last}"),
        "fence": fence.as_ref().map(|f| json!({"epoch": f.epoch, "zxid": format!("{}", f.zxid), "reason": f.reason})),
        "toTime": to_time_hit.map(|(z, t)| json!({"zxid": format!("{z}"), "time": t, "timeIso": crate::dump::format_time(t)})),
        "nodesOut": tree.len(),
        "splitDataDir": src.split.as_ref().map(|s| json!({"snapshots": s.snapshots, "logs": s.logs})),
    });
    if tree.stats.digest_mismatches > 0 {
        warnings.push(format!(
            "{} TxnDigest mismatches while replaying the input (first at {:?}): the input's logs and snapshot disagree",
            tree.stats.digest_mismatches, tree.stats.first_digest_mismatch
        ));
    }
    let mut lines = vec![format!(
        "used {} and {} {}{}; replayed {} {} to zxid {data_last}",
        replay.snapshot.as_deref().map_or_else(
            || "no snapshot (an empty tree)".to_string(),
            |p| format!("snapshot {}", name_of(p))
        ),
        replay.logs.len(),
        if replay.logs.len() == 1 {
            "log"
        } else {
            "logs"
        },
        if replay.logs.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                list_names(
                    &replay
                        .logs
                        .iter()
                        .map(|(p, _)| p.as_path())
                        .collect::<Vec<_>>()
                )
            )
        },
        tree.stats.txns,
        if tree.stats.txns == 1 { "txn" } else { "txns" },
    )];
    if let Some(note) = src.note() {
        lines.insert(0, note);
    }
    if let Some((z, t)) = to_time_hit {
        lines.push(format!(
            "--to-time: the last txn at or before it is {z}, stamped {}",
            crate::dump::format_time(t)
        ));
    }
    match &fence {
        Some(f) => lines.push(format!(
            "fenced: the restored state is written at zxid {} (epoch {}: {}); clients that saw later zxids are told their session expired instead of being refused",
            f.zxid, f.epoch, f.reason
        )),
        None => lines.push(format!(
            "not fenced: the restored state keeps zxid {data_last}; a client that saw a later zxid is refused until it gives up its session"
        )),
    }
    match &written {
        Some(w) => lines.push(format!(
            "wrote {w} ({} {}, format {}, {})",
            tree.len(),
            if tree.len() == 1 { "node" } else { "nodes" },
            version_of_tail(tail),
            match compression {
                Compression::None => "uncompressed",
                Compression::Gzip => "gzip",
                Compression::Snappy => "snappy",
            }
        )),
        None if run.dry_run => lines.push("dry run: nothing was written".to_string()),
        None => {}
    }
    // Freeing a tree of a million nodes takes a tenth of the run: do it beside the report.
    tree.free_in_background();
    let outcome = Outcome {
        mode: "datadir",
        input: &input_name,
        output: written.clone(),
        extra,
        warnings,
        lines,
        salvaged,
    };
    finish(run, &report, &policy, outcome, data, report_out)
}
