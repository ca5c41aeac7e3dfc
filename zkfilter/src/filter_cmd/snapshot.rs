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

use super::{finish, PolicyArgs, RunArgs};
use crate::cli::{self, CliError, Input};
use crate::output::Destination;
use crate::progress::Progress;

/// Arguments of `zkfilter snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Input snapshot, plain or compressed (`-` = stdin).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Output compression: none, gz or snappy (default: the input's).
    #[arg(long, value_name = "METHOD", value_parser = parse_compression)]
    pub compress: Option<Compression>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// Parses `none`, `gz`, `snappy`.
pub(super) fn parse_compression(s: &str) -> Result<Compression, String> {
    Compression::from_name(s).ok_or_else(|| format!("unknown compression {s:?} (none, gz, snappy)"))
}

pub(super) fn run(a: SnapshotArgs) -> Result<u8, CliError> {
    let policy = a.policy.policy()?;
    let limits = a.run.limits();
    let input = Input::open(&a.input)?;
    let name = input.name();
    match input.kind() {
        FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy => {}
        FileKind::TxnLog => {
            return Err(
                CliError::msg("this is a txn log, not a snapshot: use `zkfilter log`")
                    .with_path(&name),
            )
        }
        FileKind::Unknown => {
            let prefix: Vec<u8> = match &input {
                Input::File { bytes, .. } => bytes.iter().take(8).copied().collect(),
                Input::Stdin { prefix } => prefix.clone(),
            };
            return Err(cli::unknown_kind_error(&name, &prefix));
        }
    }
    let name_zxid = Path::new(&name)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_file_name)
        .map(|n| n.zxid);
    let total = input.bytes().map(|b| b.len() as u64);
    // A compressed input is decompressed on a helper thread, ahead of the filter.
    let (compression, dest, report, summary) = std::thread::scope(|scope| {
        let reader = SnapshotReader::open_ahead(
            scope,
            Progress::new(input.reader(), total, "zkfilter", a.run.quiet),
            limits,
        )
        .map_err(|e| CliError::format(&name, &e))?;
        let compression = a.compress.unwrap_or(reader.compression());
        let mut dest = if a.run.dry_run {
            None
        } else {
            Some(Destination::open(&a.output, a.run.force)?)
        };
        let (report, summary) = {
            let sink: Box<dyn io::Write + '_> = match dest.as_mut() {
                Some(d) => d.writer(),
                None => Box::new(io::sink()),
            };
            let out = Compressor::new(BufWriter::with_capacity(1 << 20, sink), compression);
            let (out, report, summary) =
                filter_snapshot(reader, out, &policy, name_zxid).map_err(|e| match e.kind() {
                    zkformat::ErrorKind::Output(_, msg) => {
                        CliError::msg(format!("writing {}: {msg}", a.output))
                    }
                    _ => CliError::format(&name, &e),
                })?;
            let buffered = out.finish().map_err(cli::output_error)?;
            buffered
                .into_inner()
                .map_err(|e| cli::output_error(e.into_error()))?;
            (report, summary)
        };
        Ok::<_, CliError>((compression, dest, report, summary))
    })?;
    if let Some(d) = dest {
        d.commit()?;
    }
    let mut warnings = Vec::new();
    if a.run.salvage {
        warnings.push("--salvage has no effect on snapshots: a damaged snapshot cannot be completed safely; restore from the previous snapshot and the logs (`zkfilter datadir`)".into());
    }
    let extra = json!({
        "compression": format!("{compression:?}").to_lowercase(),
        "nodes": summary.nodes,
        "sessions": summary.sessions,
        "aclEntries": summary.acl_entries,
    });
    let out = (!a.run.dry_run).then_some(a.output.as_str());
    finish(
        &a.run, &report, &policy, "snapshot", &name, out, extra, warnings, None,
    )
}
