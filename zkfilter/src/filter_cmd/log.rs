//! `zkfilter log`.

use std::io::{self, BufWriter};

use clap::Args;
use serde_json::json;
use zkformat::filter::{
    filter_log, filter_snapshot, learn_from_snapshot, Category, LogFilterOptions, SnapshotKnowledge,
};
use zkformat::kind::FileKind;
use zkformat::snapshot::SnapshotReader;

use super::{finish, PolicyArgs, RunArgs};
use crate::cli::{self, CliError, Input};
use crate::output::Destination;
use crate::progress::Progress;

/// Arguments of `zkfilter log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Input txn log (`-` = stdin).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// A snapshot taken before the log starts: its ephemeral nodes are known to be ephemeral, so
    /// later txns on them are dropped too (and digests are stripped from every kept entry when
    /// the snapshot itself loses nodes).
    #[arg(long, value_name = "SNAPSHOT")]
    pub snapshot: Option<String>,
    /// Strip TxnDigests from every kept entry, not only after the first dropped one.
    #[arg(long)]
    pub strip_digests: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub(super) fn run(a: LogArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy()?;
    let limits = a.run.limits();
    let mut options = LogFilterOptions {
        strip_all_digests: a.strip_digests,
    };
    let mut learned = SnapshotKnowledge::default();
    let mut warnings = Vec::new();
    if let Some(s) = &a.snapshot {
        if s == "-" {
            return Err(CliError::msg(
                "--snapshot needs a file (it is read more than once)",
            ));
        }
        let snap = Input::open(s)?;
        let r = std::thread::scope(|scope| {
            let open = || SnapshotReader::open_ahead(scope, snap.reader(), limits);
            learned = learn_from_snapshot(open).map_err(|e| CliError::format(s, &e))?;
            // If the snapshot itself loses nodes, no digest in the log describes the restored
            // tree.
            open()
                .and_then(|reader| filter_snapshot(reader, io::sink(), &policy, None))
                .map(|(_, r, _)| r)
                .map_err(|e| CliError::format(s, &e))
        })?;
        if r.dropped.contains_key(&Category::Ephemeral) || r.dropped.contains_key(&Category::Prefix)
        {
            options.strip_all_digests = true;
        }
    }
    let input = Input::open(&a.input)?;
    let name = input.name();
    if input.kind() != FileKind::TxnLog {
        let prefix: Vec<u8> = match &input {
            Input::File { bytes, .. } => bytes.iter().take(8).copied().collect(),
            Input::Stdin { prefix } => prefix.clone(),
        };
        return Err(
            if matches!(
                input.kind(),
                FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy
            ) {
                CliError::msg("this is a snapshot, not a txn log: use `zkfilter snapshot`")
                    .with_path(&name)
            } else {
                cli::unknown_kind_error(&name, &prefix)
            },
        );
    }
    let total = input.bytes().map(|b| b.len() as u64);
    let mut dest = if a.run.dry_run {
        None
    } else {
        Some(Destination::open(&a.output, a.run.force)?)
    };
    let result = {
        let sink: Box<dyn io::Write + '_> = match dest.as_mut() {
            Some(d) => d.writer(),
            None => Box::new(io::sink()),
        };
        let out = BufWriter::with_capacity(1 << 20, sink);
        // Files are read as streams too, even when mapped: on a 1 GiB log the mapped filter
        // (`filter_log_bytes`) is no faster (the deciding thread is the bottleneck), and its
        // resident size grows with the file's pages while the stream stays near 12 MiB.
        let reader = Progress::new(input.reader(), total, "zkfilter", a.run.quiet);
        filter_log(
            reader,
            out,
            &policy,
            options,
            &learned,
            limits,
            a.run.salvage,
        )
    };
    let (w, report, salvaged) = result.map_err(|e| match e.kind() {
        zkformat::ErrorKind::Output(_, msg) => {
            CliError::msg(format!("writing {}: {msg}", a.output))
        }
        _ => CliError::format(&name, &e),
    })?;
    w.into_inner()
        .map_err(|e| cli::output_error(e.into_error()))?;
    if let Some(d) = dest {
        d.commit()?;
    }
    if report.log_end.is_some_and(|e| !e.is_clean()) {
        if let Some(end) = report.log_end {
            warnings.push(format!("input log ends with a {}", end.describe()));
        }
    }
    let salvaged = salvaged.map(|e| format!("{name}: {e} — entries from here on were not read"));
    let extra = json!({"learnedEphemerals": learned.ephemerals.len(), "stripAllDigests": options.strip_all_digests});
    let out = (!a.run.dry_run).then_some(a.output.as_str());
    finish(
        &a.run, &report, &policy, "log", &name, out, extra, warnings, salvaged,
    )
}
