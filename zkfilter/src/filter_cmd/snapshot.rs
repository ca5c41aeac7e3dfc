//! `zkfilter snapshot`.

use std::io::{self, BufWriter};
use std::path::Path;

use clap::Args;
use serde_json::json;
use zkformat::compression::{Compression, Compressor};
use zkformat::filter::filter_snapshot;
use zkformat::kind::FileKind;
use zkformat::snapshot::SnapshotReader;
use zkformat::zxid::parse_file_name;

use super::{finish, Outcome, PolicyArgs, RunArgs};
use crate::cli::{self, CliError, Input};
use crate::plan::Output;
use crate::progress::Progress;

/// `zkfilter snapshot --help` examples (they run as pasted from the project's root).
pub(super) const EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  # A snapshot to a file, keeping its compression, dropping a transient prefix too:
  zkfilter snapshot testdata/zk-3.8/recipes/version-2/snapshot.33 -o /tmp/zkfilter-example-snapshot.33 --drop-prefix /app
  # Standard input to standard output, recompressed with snappy:
  zkfilter snapshot - --compress snappy < testdata/zk-3.8/recipes/version-2/snapshot.33 > /tmp/zkfilter-example-snapshot.33.snappy
  # What would be dropped, as JSON on standard output, writing nothing else:
  zkfilter snapshot testdata/zk-3.8/recipes/version-2/snapshot.33 --dry-run --report -

Exit status: 0 success; 2 nothing was written (usage, input or output error).";

/// Arguments of `zkfilter snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Input snapshot, plain or compressed (`-` = stdin).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` = stdout, the default).
    #[arg(short, long)]
    pub output: Option<String>,
    /// Output compression: none, gz or snappy (default: the input's).
    #[arg(long, value_name = "METHOD", value_parser = parse_compression)]
    pub compress: Option<Compression>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// ZooKeeper picks a snapshot's decompressor by its name (`.gz`, `.snappy`, none): an output
/// named like a snapshot must say the compression it is written with.
fn check_name_matches(output: Option<&str>, c: Compression) -> Result<(), CliError> {
    let Some(name) = output
        .filter(|o| *o != "-")
        .and_then(|o| Path::new(o).file_name())
        .and_then(|n| n.to_str())
    else {
        return Ok(());
    };
    let by_name = if name.ends_with(".gz") {
        Some(Compression::Gzip)
    } else if name.ends_with(".snappy") {
        Some(Compression::Snappy)
    } else if parse_file_name(name).is_some() {
        Some(Compression::None)
    } else {
        None
    };
    match by_name {
        Some(n) if n != c => {
            let says = |c: Compression| match c {
                Compression::None => "uncompressed",
                Compression::Gzip => "gzip",
                Compression::Snappy => "snappy",
            };
            let mut e = CliError::msg(format!(
                "-o {name} says {} but the snapshot is written {} (ZooKeeper picks the decompressor by the name, and would fail to read it)",
                says(n),
                says(c)
            ));
            e.hint = Some(format!(
                "pass --compress {}, or name the output for its compression",
                match n {
                    Compression::None => "none",
                    Compression::Gzip => "gz",
                    Compression::Snappy => "snappy",
                }
            ));
            Err(e)
        }
        _ => Ok(()),
    }
}

/// Parses `none`, `gz`, `snappy`.
pub(super) fn parse_compression(s: &str) -> Result<Compression, String> {
    Compression::from_name(s).ok_or_else(|| format!("unknown compression {s:?} (none, gz, snappy)"))
}

pub(super) fn run(a: SnapshotArgs, run: &RunArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy(run.force)?;
    let limits = run.limits();
    if run.salvage {
        let mut e = CliError::msg(
            "--salvage does not apply to snapshots: a damaged snapshot cannot be completed safely",
        );
        e.hint = Some(
            "restore from the previous snapshot and the logs instead (`zkfilter datadir`)".into(),
        );
        return Err(e);
    }
    // Inputs and outputs are checked before anything is read.
    let mut plan = run.plan(&a.policy)?;
    plan.input(&a.input, "the input snapshot")?;
    let output_arg = a.output.as_deref().unwrap_or("-");
    let data = match (run.dry_run, a.output.as_deref()) {
        (true, None) => None,
        _ => Some(plan.output(output_arg, "the filtered snapshot", true)?),
    };
    let report_out = run.plan_report(&mut plan)?;
    let input = Input::open(&a.input)?;
    let name = input.name();
    if !matches!(
        input.kind(),
        FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy
    ) {
        let prefix = input.head();
        return Err(cli::kind_error(
            "zkfilter snapshot",
            "a ZooKeeper snapshot (snapshot.<zxid>, plain, .gz or .snappy)",
            &name,
            &prefix,
        ));
    }
    let name_zxid = Path::new(&name)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_file_name)
        .map(|n| n.zxid);
    let total = input.bytes().map(|b| b.len() as u64);
    let mut data = data;
    // A compressed input is decompressed on a helper thread, ahead of the filter.
    let (compression, report, summary) = std::thread::scope(|scope| {
        let reader = SnapshotReader::open_ahead(
            scope,
            Progress::new(input.reader(), total, "zkfilter", run.quiet),
            limits,
        )
        .map_err(|e| CliError::format(&name, &e))?;
        let compression = a.compress.unwrap_or(reader.compression());
        check_name_matches(a.output.as_deref(), compression)?;
        let sink: Box<dyn io::Write + '_> = match data.as_mut() {
            Some(Output::File(f)) if !run.dry_run => Box::new(f.file()),
            Some(Output::Stdout) if !run.dry_run => Box::new(io::stdout().lock()),
            _ => Box::new(io::sink()),
        };
        let out = Compressor::new(BufWriter::with_capacity(1 << 20, sink), compression);
        let (out, report, summary) =
            filter_snapshot(reader, out, &policy, name_zxid).map_err(|e| match e.kind() {
                zkformat::ErrorKind::Output(_, msg) => {
                    CliError::msg(format!("writing {output_arg}: {msg}"))
                }
                _ => CliError::format(&name, &e),
            })?;
        let buffered = out.finish().map_err(cli::output_error)?;
        buffered
            .into_inner()
            .map_err(|e| cli::output_error(e.into_error()))?;
        Ok::<_, CliError>((compression, report, summary))
    })?;
    let compression_name = format!("{compression:?}").to_lowercase();
    let extra = json!({
        "compression": compression_name,
        "nodes": summary.nodes,
        "sessions": summary.sessions,
        "aclEntries": summary.acl_entries,
    });
    let mut lines = Vec::new();
    if !run.dry_run {
        lines.push(format!(
            "wrote {} ({} of {} {}, {compression_name})",
            if output_arg == "-" {
                "standard output"
            } else {
                output_arg
            },
            report.records_out,
            report.records_in,
            if report.records_in == 1 {
                "node"
            } else {
                "nodes"
            },
        ));
    }
    let outcome = Outcome {
        mode: "snapshot",
        input: &name,
        output: (!run.dry_run).then(|| output_arg.to_string()),
        extra,
        warnings: Vec::new(),
        lines,
        salvaged: None,
    };
    finish(run, &report, &policy, outcome, data, report_out)
}
