//! `zkfilter`: make ZooKeeper backups safe to restore. Argument parsing and the three modes
//! (`log`, `snapshot`, `datadir`); all filtering is `zkformat::filter`.

pub mod datadir;
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
use crate::plan::{Output, Plan};
use crate::report;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage error, unreadable or damaged input, or output error (nothing written).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: `--salvage` kept what came before damage in the input; the output is incomplete.
pub const EXIT_SALVAGED: u8 = 3;

const AFTER_HELP: &str = "\
Examples (from the project's root, on its bundled sample; each mode's --help has more):
  # A txn log through a restore pipeline (stdin to stdout):
  zkfilter log - < testdata/zk-3.8/recipes/version-2/log.1c > /tmp/zkfilter-example-pipe.1c
  # A snapshot, keeping its compression, dropping a transient prefix too:
  zkfilter snapshot testdata/zk-3.8/compressed-gz/version-2/snapshot.2a.gz -o /tmp/zkfilter-example-s.gz --drop-prefix /app
  # A whole data dir (or a tar/tar.gz/tar.zst of one) into a fresh data dir a stock server loads:
  zkfilter datadir testdata/zk-3.8/recipes -o /tmp/zkfilter-example-dd --report /tmp/zkfilter-example-dd.json
  # Point in time: stop at a zxid; or write the stream ZooKeeper 3.9's admin `restore` accepts:
  zkfilter datadir testdata/zk-3.8/recipes --to-zxid 0x33 -o /tmp/zkfilter-example-dd-pit
  zkfilter datadir testdata/zk-3.9/recipes --admin-restore /tmp/zkfilter-example-admin.snap
  # See what would be dropped, without writing anything:
  zkfilter datadir testdata/zk-3.8/recipes --dry-run --report -

Exit status:
  0  success
  2  usage error, unreadable or damaged input, or output error: nothing was written
  3  --salvage: the input was damaged; the output holds everything before the damage";

/// Make ZooKeeper backups safe to restore: drop sessions, ephemeral nodes and transient
/// prefixes from txn logs, snapshots and whole data dirs, keeping everything else exactly
/// (data, ACLs, stats, sequence counters, zxids).
#[derive(Debug, Parser)]
#[command(name = "zkfilter", version, after_long_help = AFTER_HELP, term_width = 0)]
pub struct ZkfilterCli {
    /// What to filter.
    #[command(subcommand)]
    pub command: Command,
    /// How to run (these flags go before or after the mode).
    #[command(flatten)]
    pub run: RunArgs,
}

/// The modes.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream one txn log through the filter (stdin → stdout by default).
    #[command(after_long_help = log::EXAMPLES)]
    Log(log::LogArgs),
    /// Filter one snapshot (plain, gzip or snappy; the compression is kept unless --compress).
    #[command(after_long_help = snapshot::EXAMPLES)]
    Snapshot(snapshot::SnapshotArgs),
    /// Restore a whole data dir (or a .tar/.tar.gz/.tar.zst of one) into a fresh, filtered data
    /// dir.
    #[command(after_long_help = datadir::EXAMPLES)]
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
    /// The validated policy. A prefix at or below `/zookeeper` (ZooKeeper's own quota and
    /// config nodes) is refused unless `force`.
    ///
    /// # Errors
    /// A bad prefix, `/zookeeper` without `force`, or an unreadable prefix file.
    pub fn policy(&self, force: bool) -> Result<Policy, CliError> {
        let mut p = Policy::default();
        p.drop_sessions = !self.keep_sessions;
        p.drop_ephemerals = !self.keep_ephemerals;
        let mut prefixes: Vec<(String, String)> = self
            .drop_prefix
            .iter()
            .map(|p| (p.clone(), "--drop-prefix".to_string()))
            .collect();
        if let Some(f) = &self.prefix_file {
            let shown = f.display().to_string();
            let text = fs::read_to_string(f).map_err(|e| CliError::io(&shown, &e))?;
            for (n, line) in text.lines().enumerate() {
                let l = line.split('#').next().unwrap_or("").trim();
                if !l.is_empty() {
                    prefixes.push((l.to_string(), format!("{shown} line {}", n + 1)));
                }
            }
        }
        for (pre, from) in prefixes {
            p.drop_prefix(&pre)
                .map_err(|e| CliError::msg(format!("{from}: {e}")))?;
            let t = pre.trim_end_matches('/');
            if (t == "/zookeeper" || t.starts_with("/zookeeper/")) && !force {
                let mut e = CliError::msg(format!(
                    "{from}: {pre} would drop ZooKeeper's own nodes (quotas, /zookeeper/config)"
                ));
                e.hint = Some("pass --force if that is really wanted".into());
                return Err(e);
            }
        }
        Ok(p)
    }
}

/// How to run. Global: these go before or after the mode.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Only report what would be dropped; write no output (outputs named are still checked).
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Write a JSON report of what was (or would be) dropped to FILE (`-` = stdout).
    #[arg(long, value_name = "FILE", global = true)]
    pub report: Option<String>,
    /// Replace an earlier output (only once the new one is complete); allow prefixes under
    /// /zookeeper.
    #[arg(long, global = true)]
    pub force: bool,
    /// On damaged input, keep everything before the first bad entry (exit status 3) instead of
    /// failing.
    #[arg(long, global = true)]
    pub salvage: bool,
    /// jute.maxbuffer the data was written with (bytes; ZooKeeper's default 1048575).
    #[arg(long, value_name = "BYTES", global = true)]
    pub jute_maxbuffer: Option<u32>,
    /// No summary on stderr (warnings about lost data are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl RunArgs {
    /// The read limits.
    pub fn limits(&self) -> Limits {
        self.jute_maxbuffer
            .map_or_else(Limits::default, Limits::with_maxbuffer)
    }

    /// A plan for this run, with the prefix file declared as an input.
    ///
    /// # Errors
    /// See [`Plan::input`].
    fn plan(&self, policy: &PolicyArgs) -> Result<Plan, CliError> {
        let mut plan = Plan::new("zkfilter", self.force);
        if let Some(f) = &policy.prefix_file {
            plan.input_path(f, "--prefix-file")?;
        }
        Ok(plan)
    }

    /// Plans the report output (after the data output, so a second claim on standard output
    /// names both).
    ///
    /// # Errors
    /// See [`Plan::output`].
    fn plan_report(&self, plan: &mut Plan) -> Result<Option<Output>, CliError> {
        self.report
            .as_deref()
            .map(|r| plan.output(r, "the report (--report)", false))
            .transpose()
    }
}

/// What a mode hands to [`finish`].
pub(crate) struct Outcome<'a> {
    mode: &'a str,
    input: &'a str,
    output: Option<String>,
    extra: Value,
    warnings: Vec<String>,
    /// Summary lines of the mode itself (which files were used, what was written).
    lines: Vec<String>,
    salvaged: Option<String>,
}

/// Writes the report, moves every output into place (all or none), prints the summary;
/// returns the exit code.
fn finish(
    run: &RunArgs,
    report: &FilterReport,
    policy: &Policy,
    outcome: Outcome<'_>,
    data: Option<Output>,
    report_out: Option<Output>,
) -> Result<u8, CliError> {
    let Outcome {
        mode,
        input,
        output,
        extra,
        mut warnings,
        lines,
        salvaged,
    } = outcome;
    for p in policy.prefixes() {
        if !report.prefix_drops.contains_key(p) {
            warnings.push(format!(
                "--drop-prefix {} matched nothing in the input",
                String::from_utf8_lossy(p)
            ));
        }
    }
    if let Some(s) = &salvaged {
        warnings.push(format!("SALVAGED: {s}"));
    }
    // A dry run writes its report only (the data output was planned, to check it, and is
    // dropped here, which removes what was staged).
    let mut outputs: Vec<Output> = if run.dry_run {
        Vec::new()
    } else {
        data.into_iter().collect()
    };
    if let Some(mut r) = report_out {
        let info = report::RunInfo {
            mode,
            input,
            output: output.as_deref(),
            dry_run: run.dry_run,
        };
        let json = report::to_json(report, policy, &info, extra, &warnings);
        let mut text =
            serde_json::to_string_pretty(&json).map_err(|e| CliError::msg(e.to_string()))?;
        text.push('\n');
        match &mut r {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(cli::output_error)?;
            }
            Output::File(f) => {
                let shown = f.dest().display().to_string();
                f.file()
                    .write_all(text.as_bytes())
                    .map_err(|e| CliError::io(&shown, &e).with_what("the report"))?;
            }
            Output::DataDir(_) => {}
        }
        outputs.push(r);
    }
    Plan::commit(outputs)?;
    let mut err = std::io::stderr().lock();
    if !run.quiet {
        for line in report::summary_lines(report, run.dry_run, mode) {
            let _ = writeln!(err, "{line}");
        }
        for line in &lines {
            let _ = writeln!(err, "zkfilter: {line}");
        }
        for w in &warnings {
            if !w.starts_with("SALVAGED: ") {
                let _ = writeln!(err, "zkfilter: warning: {w}");
            }
        }
    }
    // Lost data is never hidden, not even by -q.
    if let Some(s) = &salvaged {
        let _ = writeln!(
            err,
            "zkfilter: *** SALVAGE: the input is damaged; the output stops before the damage ***"
        );
        let _ = writeln!(err, "zkfilter: *** {s} ***");
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
        Command::Log(a) => log::run(a, &cli.run),
        Command::Snapshot(a) => snapshot::run(a, &cli.run),
        Command::Datadir(a) => datadir::run(a, &cli.run),
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
