//! `zkfilter`: make ZooKeeper backups safe to restore. Argument parsing and the three modes
//! (`log`, `snapshot`, `datadir`); all filtering is `zkformat::filter`.

mod datadir;
mod log;
mod snapshot;

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use zkformat::filter::{FilterReport, Policy};
use zkformat::Limits;

use crate::cli::{self, CliError};
use crate::output::write_file_atomically;
use crate::report;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage error, unreadable or damaged input, or output error (nothing written).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: `--salvage` kept what came before damage in the input; the output is incomplete.
pub const EXIT_SALVAGED: u8 = 3;

const AFTER_HELP: &str = "\
Examples:
  # A txn log through a restore pipeline (stdin to stdout):
  zkfilter log - < backup/version-2/log.100000001 > clean/log.100000001
  # A snapshot, keeping its compression, dropping a transient prefix too:
  zkfilter snapshot snapshot.2a.snappy -o clean/snapshot.2a.snappy --drop-prefix /app/tmp
  # A whole data dir (or a .tar/.tar.gz of one) into a fresh data dir a stock server loads:
  zkfilter datadir /backups/zk-2026-11-21.tar.gz -o /var/lib/zookeeper-restored --report report.json
  # Point in time: stop at a zxid; or produce the stream ZooKeeper 3.9's admin `restore` accepts:
  zkfilter datadir /backups/data --to-zxid 0x500000123 -o /restore/data
  zkfilter datadir /backups/data --admin-restore restore.snap
  # See what would be dropped, without writing anything:
  zkfilter datadir /backups/data --dry-run --report -

Exit status:
  0  success
  2  usage error, unreadable or damaged input, or output error: nothing was written
  3  --salvage: the input was damaged; the output holds everything before the damage";

/// Make ZooKeeper backups safe to restore: drop sessions, ephemeral nodes and transient
/// prefixes from txn logs, snapshots and whole data dirs, keeping everything else exactly
/// (data, ACLs, stats, sequence counters, zxids).
#[derive(Debug, Parser)]
#[command(name = "zkfilter", version, after_long_help = AFTER_HELP)]
pub struct ZkfilterCli {
    /// What to filter.
    #[command(subcommand)]
    pub command: Command,
}

/// The modes.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream one txn log through the filter (stdin → stdout by default).
    Log(log::LogArgs),
    /// Filter one snapshot (plain, gzip or snappy; the compression is kept unless --compress).
    Snapshot(snapshot::SnapshotArgs),
    /// Restore a whole data dir (or a .tar/.tar.gz of one) into a fresh, filtered data dir.
    Datadir(datadir::DatadirArgs),
}

/// What to drop.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// Also drop everything below this path (the path itself stays). Repeatable.
    #[arg(long = "drop-prefix", value_name = "PATH")]
    pub drop_prefix: Vec<String>,
    /// Read more prefixes from a file, one per line (# starts a comment).
    #[arg(long = "prefix-file", value_name = "FILE")]
    pub prefix_file: Option<PathBuf>,
    /// Keep sessions (createSession/closeSession txns, the snapshot session table).
    #[arg(long)]
    pub keep_sessions: bool,
    /// Keep ephemeral nodes and every txn on them.
    #[arg(long)]
    pub keep_ephemerals: bool,
}

impl PolicyArgs {
    /// The validated policy.
    ///
    /// # Errors
    /// A bad prefix or an unreadable prefix file.
    pub fn policy(&self) -> Result<Policy, CliError> {
        let mut p = Policy::default();
        p.drop_sessions = !self.keep_sessions;
        p.drop_ephemerals = !self.keep_ephemerals;
        let mut prefixes = self.drop_prefix.clone();
        if let Some(f) = &self.prefix_file {
            let text =
                fs::read_to_string(f).map_err(|e| CliError::io(&f.display().to_string(), &e))?;
            prefixes.extend(
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                    .filter(|l| !l.is_empty()),
            );
        }
        for pre in prefixes {
            p.drop_prefix(&pre).map_err(CliError::msg)?;
        }
        Ok(p)
    }
}

/// How to run.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Only report what would be dropped; write no output.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a JSON report of what was (or would be) dropped to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
    /// Replace an existing output (only once the new one is complete).
    #[arg(long)]
    pub force: bool,
    /// On damaged input, keep everything before the first bad entry (exit status 3) instead of
    /// failing.
    #[arg(long)]
    pub salvage: bool,
    /// jute.maxbuffer the data was written with (bytes; ZooKeeper's default 1048575).
    #[arg(long, value_name = "BYTES")]
    pub jute_maxbuffer: Option<u32>,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl RunArgs {
    /// The read limits.
    pub fn limits(&self) -> Limits {
        self.jute_maxbuffer
            .map_or_else(Limits::default, Limits::with_maxbuffer)
    }
}

/// Prints the summary and writes the report; returns the exit code.
#[allow(clippy::too_many_arguments)]
fn finish(
    run: &RunArgs,
    report: &FilterReport,
    policy: &Policy,
    mode: &str,
    input: &str,
    output: Option<&str>,
    extra: Value,
    mut warnings: Vec<String>,
    salvaged: Option<String>,
) -> Result<u8, CliError> {
    if let Some(s) = &salvaged {
        warnings.push(format!("SALVAGED: {s}"));
    }
    if !run.quiet {
        let mut err = std::io::stderr().lock();
        for line in report::summary_lines(report, run.dry_run) {
            let _ = writeln!(err, "{line}");
        }
        for w in &warnings {
            let _ = writeln!(err, "zkfilter: warning: {w}");
        }
        if let Some(s) = &salvaged {
            let _ = writeln!(err, "zkfilter: *** SALVAGE: the input is damaged; the output stops before the damage ***");
            let _ = writeln!(err, "zkfilter: *** {s} ***");
        }
    }
    if let Some(dest) = &run.report {
        let info = report::RunInfo {
            mode,
            input,
            output,
            dry_run: run.dry_run,
        };
        let json = report::to_json(report, policy, &info, extra, &warnings);
        let mut text =
            serde_json::to_string_pretty(&json).map_err(|e| CliError::msg(e.to_string()))?;
        text.push('\n');
        if dest == "-" {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).map_err(cli::output_error)?;
        } else {
            write_file_atomically(&PathBuf::from(dest), text.as_bytes(), true)?;
        }
    }
    Ok(if salvaged.is_some() {
        EXIT_SALVAGED
    } else {
        EXIT_OK
    })
}

/// Runs `zkfilter` with parsed arguments.
///
/// # Errors
/// Everything that stops a run; nothing is left at the destination then.
pub fn run(cli: ZkfilterCli) -> Result<u8, CliError> {
    match cli.command {
        Command::Log(a) => log::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Datadir(a) => datadir::run(a),
    }
}

/// The `main` of the `zkfilter` binary.
pub fn main() -> std::process::ExitCode {
    cli::run_main(|| {
        let parsed = ZkfilterCli::parse();
        run(parsed).map_err(|mut e| {
            // For zkfilter a closed output pipe means an incomplete output: an error.
            if e.exit_code == EXIT_OK {
                e.exit_code = EXIT_ERROR;
                e.message = "output closed before the filtered data was complete".into();
            }
            e
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        ZkfilterCli::command().debug_assert();
    }
}
