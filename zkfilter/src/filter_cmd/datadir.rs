//! `zkfilter datadir`: replay a data dir as ZooKeeper would, filter the tree, and write a fresh
//! data dir holding one snapshot at the last zxid.

use std::fs;
use std::io::{self, BufWriter, Read};
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
use super::{finish, PolicyArgs, RunArgs};
use crate::cli::{self, CliError};
use crate::output::{write_file_atomically, write_synced, StagedDir};

/// Arguments of `zkfilter datadir`.
#[derive(Debug, Args)]
pub struct DatadirArgs {
    /// The data dir (holding `version-2/`, or `version-2` itself), or a `.tar`/`.tar.gz` of one.
    pub input: PathBuf,
    /// The new data dir to create (ZooKeeper's `dataDir`: the files go to OUT/version-2/).
    #[arg(short, long, required_unless_present_any = ["admin_restore", "dry_run"])]
    pub output: Option<PathBuf>,
    /// The txn logs' folder when the server had a separate `dataLogDir` (its `version-2` or the
    /// folder holding it); the output puts everything in one data dir.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Stop at this zxid (point-in-time restore; `0x…` or decimal).
    #[arg(long, value_name = "ZXID", value_parser = cli::parse_zxid)]
    pub to_zxid: Option<Zxid>,
    /// Write the snapshot for this ZooKeeper version: 3.4/3.5 (no digest), 3.6/3.7/3.8 (digest),
    /// 3.9 (digest and last zxid). Default: what the input's snapshot has.
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,
    /// Compression of the written snapshot: none, gz or snappy (default: the input snapshot's).
    #[arg(long, value_name = "METHOD", value_parser = parse_compression)]
    pub compress: Option<Compression>,
    /// Instead of a data dir, write the uncompressed snapshot stream that ZooKeeper 3.9's admin
    /// `restore` command accepts (digest and last-processed-zxid sections included).
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub admin_restore: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
}

fn tail_for_version(v: &str) -> Result<Tail, CliError> {
    match v.trim() {
        "3.4" | "3.5" => Ok(Tail::NONE),
        "3.6" | "3.7" | "3.8" => Ok(Tail::DIGEST),
        "3.9" | "3.10" => Ok(Tail::DIGEST_AND_LAST_ZXID),
        other => Err(CliError::msg(format!(
            "unknown --target-version {other:?} (3.4 to 3.9)"
        ))),
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

/// Extracts the data files of a tar (optionally gzipped) into `dest`; returns the folder that
/// holds them.
fn extract_tar(archive: &Path, dest: &Path) -> Result<PathBuf, CliError> {
    let name = archive.display().to_string();
    let file = fs::File::open(archive).map_err(|e| CliError::io(&name, &e))?;
    let mut head = [0u8; 2];
    let mut f = io::BufReader::new(file);
    let is_gz = {
        use io::BufRead;
        let buf = f.fill_buf().map_err(|e| CliError::io(&name, &e))?;
        head.copy_from_slice(buf.get(..2).unwrap_or(&[0, 0]));
        head == [0x1f, 0x8b]
    };
    let reader: Box<dyn Read> = if is_gz {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut ar = tar::Archive::new(reader);
    let mut groups: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let entries = ar.entries().map_err(|e| CliError::io(&name, &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| CliError::io(&name, &e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| CliError::io(&name, &e))?
            .into_owned();
        let Some(base) = path
            .file_name()
            .and_then(|b| b.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let is_data = zkformat::zxid::parse_file_name(&base).is_some()
            || base == "acceptedEpoch"
            || base == "currentEpoch";
        if !is_data {
            continue;
        }
        let parent = path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let n = groups.len();
        let idx = *groups.entry(parent).or_insert(n);
        let dir = dest.join(format!("g{idx}"));
        fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir.display().to_string(), &e))?;
        let target = dir.join(&base);
        let mut out = fs::File::create(&target)
            .map_err(|e| CliError::io(&target.display().to_string(), &e))?;
        io::copy(&mut entry, &mut out).map_err(|e| CliError::io(&name, &e))?;
    }
    match groups.len() {
        0 => Err(CliError::msg("the archive holds no ZooKeeper log or snapshot files").with_path(&name)),
        1 => Ok(dest.join("g0")),
        _ => Err(CliError::msg(format!(
            "the archive holds data files in several folders ({}); extract it and pass the one to restore",
            groups.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
        .with_path(&name)),
    }
}

pub(super) fn run(a: DatadirArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy()?;
    let limits = a.run.limits();
    let input_name = a.input.display().to_string();
    let unpacked = tempfile::tempdir().map_err(|e| CliError::io("temporary folder", &e))?;
    let dir_path = if a.input.is_file() {
        extract_tar(&a.input, unpacked.path())?
    } else {
        a.input.clone()
    };
    let mut dd = DataDir::scan(&dir_path).map_err(|e| CliError::io(&input_name, &e))?;
    if let Some(ld) = &a.log_dir {
        let logs = DataDir::scan(ld).map_err(|e| CliError::io(&ld.display().to_string(), &e))?;
        if !dd.logs.is_empty() {
            return Err(CliError::msg(format!(
                "{} holds txn logs too; with --log-dir the logs must be in one place (ZooKeeper refuses such a layout)",
                dir_path.display()
            )));
        }
        dd.logs = logs.logs;
    }
    if dd.snapshots.is_empty() && dd.logs.is_empty() {
        return Err(CliError::msg(
            "no ZooKeeper snapshot or log files found (expected <dataDir>/version-2/)",
        )
        .with_path(&input_name));
    }
    // Refuse early, before the long replay, if the output exists.
    if !a.run.dry_run {
        if let Some(o) = &a.output {
            crate::output::check_overwrite(o, a.run.force)?;
        }
        if let Some(o) = &a.admin_restore {
            crate::output::check_overwrite(o, a.run.force)?;
        }
    }
    let interactive = !a.run.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
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
    let replay = replay_datadir_with(&dd, a.to_zxid, limits, a.run.salvage).map_err(|e| {
        let mut c = CliError::format(&e.path.display().to_string(), &e.error);
        if dd.snapshot_candidates().is_empty() && !dd.snapshots.is_empty() {
            c.hint = Some("no snapshot passed ZooKeeper's validity check; the data dir is not restorable as it is".into());
        }
        c
    })?;
    let mut warnings = Vec::new();
    for r in &replay.rejected_snapshots {
        warnings.push(format!(
            "skipped damaged snapshot {} ({}), as ZooKeeper would",
            r.path.display(),
            r.error
        ));
    }
    if let Some(z) = a.to_zxid {
        if replay.tree.last_zxid < z {
            warnings.push(format!(
                "--to-zxid {z}: the data ends at {}",
                replay.tree.last_zxid
            ));
        }
    }
    for (p, end) in &replay.logs {
        if let Some(e) = end {
            if !e.is_clean() {
                warnings.push(format!("{} ends with a {}", p.display(), e.describe()));
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
    let tail = match (&a.target_version, a.admin_restore.is_some()) {
        (_, true) => Tail::DIGEST_AND_LAST_ZXID,
        (Some(v), false) => tail_for_version(v)?,
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
    let compression = a.compress.unwrap_or(input_compression);
    let mut tree = replay.tree;
    if interactive {
        eprintln!(
            "zkfilter: replayed to {} ({} nodes) in {:.1} s; filtering and writing…",
            tree.last_zxid,
            tree.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let report = filter_tree(&mut tree, &policy);
    if report.ttl_nodes > 0 && tail.is_empty() {
        warnings.push("TTL nodes cannot be restored on ZooKeeper 3.4 (no TTL support)".into());
    }
    let last = tree.last_zxid;
    let snap_name = snapshot_file_name(
        last,
        match compression {
            Compression::None => NameCompression::None,
            Compression::Gzip => NameCompression::Gzip,
            Compression::Snappy => NameCompression::Snappy,
        },
    );
    let mut output_shown = None;
    if !a.run.dry_run {
        if let Some(file) = &a.admin_restore {
            let mut bytes = Vec::new();
            tree.write_snapshot(&mut bytes, tail)
                .map_err(|e| CliError::io(&file.display().to_string(), &e))?;
            write_file_atomically(file, &bytes, a.run.force)?;
            output_shown = Some(file.display().to_string());
        } else if let Some(out) = &a.output {
            let staged = StagedDir::new(out, a.run.force)?;
            let v2 = staged.path().join("version-2");
            fs::create_dir_all(&v2).map_err(|e| CliError::io(&v2.display().to_string(), &e))?;
            write_synced(&v2.join(&snap_name), |w| {
                let c = Compressor::new(BufWriter::new(w), compression);
                let c = tree.write_snapshot(c, tail)?;
                c.finish()?.into_inner().map_err(|e| e.into_error())?;
                Ok(())
            })?;
            for (file, content) in [
                ("acceptedEpoch", &dd.accepted_epoch),
                ("currentEpoch", &dd.current_epoch),
            ] {
                if let Some(c) = content {
                    write_synced(&v2.join(file), |w| io::Write::write_all(w, c.as_bytes()))?;
                }
            }
            crate::output::sync_dir(&v2);
            staged.commit()?;
            output_shown = Some(out.display().to_string());
        }
    }
    let salvaged = replay
        .stopped_by
        .as_ref()
        .map(|e| format!("{e} — txns from here on were not replayed"));
    let extra = json!({
        "snapshotUsed": replay.snapshot.as_ref().map(|p| p.display().to_string()),
        "snapshotZxid": format!("{}", replay.snapshot_zxid),
        "logsUsed": replay.logs.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
        "lastZxid": format!("{last}"),
        "txnsReplayed": tree.stats.txns,
        "replayErrorsIgnored": tree.stats.ignored_errors,
        "digestChecks": tree.stats.digests_checked,
        "digestMismatches": tree.stats.digest_mismatches,
        "inputFormat": input_tail.map(version_of_tail),
        "outputFormat": version_of_tail(tail),
        "outputSnapshot": (!a.run.dry_run && a.admin_restore.is_none()).then(|| format!("version-2/{snap_name}")),
        "epochs": {"acceptedEpoch": dd.accepted_epoch, "currentEpoch": dd.current_epoch},
        "nodesOut": tree.len(),
    });
    if tree.stats.digest_mismatches > 0 {
        warnings.push(format!(
            "{} TxnDigest mismatches while replaying the input (first at {:?}): the input's logs and snapshot disagree",
            tree.stats.digest_mismatches, tree.stats.first_digest_mismatch
        ));
    }
    finish(
        &a.run,
        &report,
        &policy,
        "datadir",
        &input_name,
        output_shown.as_deref(),
        extra,
        warnings,
        salvaged,
    )
}
