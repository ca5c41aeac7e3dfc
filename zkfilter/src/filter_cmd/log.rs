//! `zkfilter log`.

use std::io::{self, BufWriter};

use clap::Args;
use serde_json::json;
use zkformat::filter::{
    filter_log, filter_snapshot, filter_txn_log, learn_from_snapshot, Category, LogFilterOptions,
    SnapshotKnowledge,
};
use zkformat::kind::FileKind;
use zkformat::snapshot::SnapshotReader;
use zkformat::txnlog::TxnLog;

use super::{finish, Outcome, PolicyArgs, RunArgs};
use crate::cli::{self, CliError, Input};
use crate::plan::Output;
use crate::progress::Progress;

/// `zkfilter log --help` examples (they run as pasted from the project's root).
pub(super) const EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  # Standard input to standard output, as in a restore pipeline:
  zkfilter log - < testdata/zk-3.8/recipes/version-2/log.1c > /tmp/zkfilter-example-log.1c
  # To a file, knowing the snapshot before the log, with a JSON report:
  zkfilter log testdata/zk-3.8/recipes/version-2/log.1c --snapshot testdata/zk-3.8/recipes/version-2/snapshot.1a -o /tmp/zkfilter-example-log2.1c --report /tmp/zkfilter-example-log.json
  # What would be dropped, writing nothing:
  zkfilter log testdata/zk-3.8/recipes/version-2/log.1c --dry-run

Exit status: 0 success; 2 nothing was written (usage, input or output error); 3 --salvage kept
what came before damage.";

/// Arguments of `zkfilter log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Input txn log (`-` = stdin).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` = stdout, the default).
    #[arg(short, long)]
    pub output: Option<String>,
    /// A snapshot taken before the log starts: its ephemeral nodes are known to be ephemeral, so
    /// later txns on them are dropped too (and digests are stripped from every kept entry when
    /// the snapshot itself loses nodes).
    #[arg(long, value_name = "SNAPSHOT")]
    pub snapshot: Option<String>,
    /// A log between the snapshot and this one (repeatable, in order): the ephemerals it
    /// creates are known too, so their later deletes are filtered (each log of a data dir
    /// filtered on its own gives what `zkfilter datadir` gives).
    #[arg(long = "after", value_name = "LOG")]
    pub after: Vec<String>,
    /// Strip TxnDigests from every kept entry, not only after the first dropped one.
    #[arg(long)]
    pub strip_digests: bool,
    #[command(flatten)]
    policy: PolicyArgs,
}

pub(super) fn run(a: LogArgs, run: &RunArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy(run.force)?;
    let limits = run.limits();
    let mut options = LogFilterOptions {
        strip_all_digests: a.strip_digests,
    };
    // Inputs and outputs are checked before anything is read.
    let mut plan = run.plan(&a.policy)?;
    if a.snapshot.as_deref() == Some("-") {
        return Err(CliError::msg(
            "--snapshot needs a file (it is read twice), not standard input (-)",
        ));
    }
    if let Some(s) = &a.snapshot {
        plan.input(s, "--snapshot")?;
    }
    for l in &a.after {
        if l == "-" {
            return Err(CliError::msg(
                "--after needs a file, not standard input (-)",
            ));
        }
        plan.input(l, "--after")?;
    }
    plan.input(&a.input, "the input log")?;
    let output_arg = a.output.as_deref().unwrap_or("-");
    let data = match (run.dry_run, a.output.as_deref()) {
        (true, None) => None,
        _ => Some(plan.output(output_arg, "the filtered log", true)?),
    };
    let report_out = run.plan_report(&mut plan)?;
    let mut learned = SnapshotKnowledge::default();
    let mut warnings = Vec::new();
    if let Some(s) = &a.snapshot {
        let snap = Input::open(s)?;
        if !source_is_snapshot(&snap) {
            let prefix = snap.head();
            return Err(cli::kind_error(
                "zkfilter log --snapshot",
                "a snapshot",
                s,
                &prefix,
            ));
        }
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
    let snap_zxid = a
        .snapshot
        .as_deref()
        .and_then(|s| std::path::Path::new(s).file_name())
        .and_then(|n| n.to_str())
        .and_then(zkformat::zxid::parse_file_name)
        .map_or(zkformat::Zxid(0), |n| n.zxid);
    for l in &a.after {
        let f = std::fs::File::open(l).map_err(|e| CliError::io(l, &e))?;
        let reader =
            zkformat::txnlog::LogReader::new(io::BufReader::with_capacity(1 << 20, f), limits)
                .map_err(|e| CliError::format(l, &e))?;
        learned
            .learn_from_log(reader, snap_zxid)
            .map_err(|e| CliError::format(l, &e))?;
    }
    let input = Input::open(&a.input)?;
    let name = input.name();
    if input.kind() != FileKind::TxnLog {
        let prefix = input.head();
        return Err(cli::kind_error(
            "zkfilter log",
            "a ZooKeeper txn log (log.<zxid>)",
            &name,
            &prefix,
        ));
    }
    let total = input.bytes().map(|b| b.len() as u64);
    let mut data = data;
    let result = {
        let sink: Box<dyn io::Write + '_> = match data.as_mut() {
            Some(Output::File(f)) if !run.dry_run => Box::new(f.file()),
            Some(Output::Stdout) if !run.dry_run => Box::new(io::stdout().lock()),
            _ => Box::new(io::sink()),
        };
        let out = BufWriter::with_capacity(1 << 20, sink);
        match input.bytes() {
            // A file (standard input redirected from one included) is filtered where it is
            // mapped: nothing is copied, and the hole ZooKeeper leaves as a log's preallocated
            // zero tail is neither read nor paged in (on a real 64 MiB log with 31 MB of
            // entries: 1.3 GB/s and 39 MiB resident, against 1.0 GB/s and 74 MiB streamed).
            Some(bytes) => {
                let mut progress = Progress::new(io::empty(), total, "zkfilter", run.quiet);
                TxnLog::parse(bytes, limits).and_then(|log| {
                    filter_txn_log(
                        &log.with_holes(input.holes()),
                        out,
                        &policy,
                        options,
                        &learned,
                        run.salvage,
                        &mut |offset| progress.reached(offset),
                    )
                })
            }
            // A pipe is streamed, in bounded memory (about 8 MiB).
            None => {
                let reader = Progress::new(input.reader(), total, "zkfilter", run.quiet);
                filter_log(reader, out, &policy, options, &learned, limits, run.salvage)
            }
        }
    };
    let (w, report, salvaged) = result.map_err(|e| match e.kind() {
        zkformat::ErrorKind::Output(_, msg) => {
            CliError::msg(format!("writing {output_arg}: {msg}"))
        }
        _ => CliError::format(&name, &e),
    })?;
    w.into_inner()
        .map_err(|e| cli::output_error(e.into_error()))?;
    if let Some(end) = report.log_end.filter(|e| !e.is_clean()) {
        warnings.push(format!("input log ends with a {}", end.describe()));
    }
    let salvaged = salvaged.map(|e| format!("{name}: {e} — entries from here on were not read"));
    let extra = json!({"learnedEphemerals": learned.ephemerals.len(), "stripAllDigests": options.strip_all_digests});
    let mut lines = Vec::new();
    if !run.dry_run {
        lines.push(format!(
            "wrote {} ({} {}, {} bytes)",
            if output_arg == "-" {
                "standard output"
            } else {
                output_arg
            },
            report.records_out,
            if report.records_out == 1 {
                "entry"
            } else {
                "entries"
            },
            report.bytes_out
        ));
    }
    let outcome = Outcome {
        mode: "log",
        input: &name,
        output: (!run.dry_run).then(|| output_arg.to_string()),
        extra,
        warnings,
        lines,
        salvaged,
    };
    finish(run, &report, &policy, outcome, data, report_out)
}

fn source_is_snapshot(i: &Input) -> bool {
    matches!(
        i.kind(),
        FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy
    )
}
