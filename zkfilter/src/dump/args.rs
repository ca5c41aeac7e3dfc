//! Command-line arguments of `zkdump` (clap), turned into [`DumpOptions`] by [`Cli::run`].

use std::io::Write;

use clap::{Args, Parser, Subcommand};
use zkformat::Limits;

use super::records::Format;
use super::summary::SummaryOptions;
use super::{parse_ops, DataFormat, DumpOptions, Filter};
use crate::cli::{parse_i64, parse_zxid, CliError, EXIT_ERROR};

const AFTER_HELP: &str = "\
Exit status:
  0  success (verify: every input is clean; diff: identical)
  1  verify found a problem; diff found a difference
  2  usage error, or an input could not be read (the error names the file, offset and zxid)

Writing to a closed pipe (zkdump … | head) stops quietly with status 0.
The JSON Lines schema is documented in the README (section JSON Lines schema).";

/// Inspect, verify, summarise and diff Apache ZooKeeper txn logs, snapshots and data dirs.
#[derive(Debug, Parser)]
#[command(
    name = "zkdump",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// What to do (default: dump FILE).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Dump options when no subcommand is given.
    #[command(flatten)]
    pub dump: DumpArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every record of a txn log or snapshot (the default).
    Dump(DumpArgs),
    /// Check checksums, seals, digests, zxid order and gaps, log ends, and data dir restorability.
    Verify(VerifyArgs),
    /// Counts and bytes by op, sessions and ephemerals, largest nodes, subtree sizes.
    Summary(SummaryArgs),
    /// Restore-safety report: live sessions, timeouts and their ephemerals grouped by parent.
    Sessions(SessionsArgs),
    /// Nodes added, removed and changed between two snapshots (or data dirs replayed to --zxid).
    Diff(DiffArgs),
}

/// Read limits shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// jute.maxbuffer of the server that wrote the files (bytes).
    #[arg(long, value_name = "BYTES", global = true)]
    pub jute_maxbuffer: Option<u32>,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        self.jute_maxbuffer
            .map_or_else(Limits::default, Limits::with_maxbuffer)
    }
}

/// `zkdump [dump] FILE`.
#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// A txn log or snapshot (plain, gzip or snappy); `-` reads standard input.
    #[arg(value_name = "FILE", required = true)]
    pub file: Option<String>,
    /// JSON Lines output (one object per record).
    #[arg(long)]
    pub json: bool,
    /// Show node and txn data (UTF-8 text as is, other bytes per --data-format).
    #[arg(long)]
    pub data: bool,
    /// Encoding of data that is not UTF-8.
    #[arg(long, value_enum, default_value_t = DataFormat::Hex)]
    pub data_format: DataFormat,
    /// Only txns (nodes: czxid, mzxid or pzxid) at or after this zxid (0x… hex or decimal).
    #[arg(long, value_parser = parse_zxid, value_name = "ZXID")]
    pub from_zxid: Option<zkformat::Zxid>,
    /// Only txns (nodes: czxid, mzxid or pzxid) at or before this zxid.
    #[arg(long, value_parser = parse_zxid, value_name = "ZXID")]
    pub to_zxid: Option<zkformat::Zxid>,
    /// Only txns touching (nodes at) paths starting with this string.
    #[arg(long, value_name = "PREFIX")]
    pub path_prefix: Option<String>,
    /// Only txns of this session (nodes: ephemerals it owns; its session table row).
    #[arg(long, value_parser = parse_i64, value_name = "ID")]
    pub session: Option<i64>,
    /// Only txns with these ops (ZooKeeper names, comma-separated; a multi matches its sub-ops).
    #[arg(long, value_name = "OP")]
    pub op: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

impl DumpArgs {
    /// The validated options.
    ///
    /// # Errors
    /// An unknown op name.
    pub fn options(&self) -> Result<DumpOptions, CliError> {
        Ok(DumpOptions {
            data: self.data,
            data_format: self.data_format,
            filter: Filter {
                from_zxid: self.from_zxid,
                to_zxid: self.to_zxid,
                path_prefix: self.path_prefix.as_ref().map(|p| p.as_bytes().to_vec()),
                session: self.session,
                ops: parse_ops(&self.op).map_err(CliError::msg)?,
            },
            limits: self.limits.limits(),
        })
    }
}

/// `zkdump verify PATH...`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Files and data dirs (a data dir holds version-2/, or is version-2 itself).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
    /// JSON Lines output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

/// `zkdump summary PATH`.
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// A txn log or snapshot; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Depth of the subtree table (0 = unlimited).
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// How many of the largest nodes to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// JSON Lines output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

/// `zkdump sessions PATH`.
#[derive(Debug, Clone, Args)]
pub struct SessionsArgs {
    /// A snapshot, a txn log, or a data dir (replayed to its end).
    #[arg(value_name = "PATH")]
    pub path: String,
    /// JSON Lines output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

/// `zkdump diff A B`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Left side: a snapshot or a data dir.
    pub left: String,
    /// Right side: a snapshot or a data dir.
    pub right: String,
    /// Replay data dirs to this zxid (default: to their end).
    #[arg(long, value_parser = parse_zxid, value_name = "ZXID")]
    pub zxid: Option<zkformat::Zxid>,
    /// Show changed data.
    #[arg(long)]
    pub data: bool,
    /// Encoding of data that is not UTF-8.
    #[arg(long, value_enum, default_value_t = DataFormat::Hex)]
    pub data_format: DataFormat,
    /// JSON Lines output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

impl Cli {
    /// Runs the command, writing to `out` (reports) and `err` (errors that do not stop the run).
    ///
    /// # Errors
    /// Usage errors, unreadable inputs, output errors.
    pub fn run(&self, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CliError> {
        match &self.command {
            None => run_dump(&self.dump, out, err),
            Some(Command::Dump(d)) => run_dump(d, out, err),
            Some(Command::Verify(v)) => {
                super::verify::run(&v.paths, v.limits.limits(), v.json, out)
                    .map_err(crate::cli::output_error)
            }
            Some(Command::Summary(s)) => super::summary::run(
                &s.file,
                &SummaryOptions {
                    depth: s.depth,
                    top: s.top,
                    json: s.json,
                    limits: s.limits.limits(),
                },
                out,
                err,
            ),
            Some(Command::Sessions(s)) => {
                super::sessions::run(&s.path, s.json, s.limits.limits(), out)
            }
            Some(Command::Diff(d)) => {
                let opts = DumpOptions {
                    data: d.data,
                    data_format: d.data_format,
                    filter: Filter::default(),
                    limits: d.limits.limits(),
                };
                super::diff::run(&d.left, &d.right, d.zxid, &opts, d.json, out)
            }
        }
    }
}

fn run_dump(d: &DumpArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CliError> {
    let Some(file) = &d.file else {
        return Err(CliError {
            message: "missing FILE (a txn log, a snapshot, or - for standard input)".to_string(),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        });
    };
    let opts = d.options()?;
    let format = if d.json { Format::Json } else { Format::Text };
    super::records::run(file, &opts, format, out, err)
}
