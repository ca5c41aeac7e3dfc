//! Command-line arguments of `zkdump` (clap), turned into [`DumpOptions`] by [`Cli::run`].

use std::io::Write;

use clap::{Args, Parser, Subcommand};
use zkformat::Limits;

use super::records::Format;
use super::summary::SummaryOptions;
use super::{parse_ops, DataFormat, DumpOptions, Filter};
use crate::cli::{parse_i64, parse_zxid, CliError, EXIT_ERROR};

const AFTER_HELP: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump testdata/zk-3.8/recipes/version-2/log.1c
  zkdump verify testdata/zk-3.8/recipes
  zkdump sessions testdata/zk-3.8/recipes
  (each subcommand's --help has more)

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
    after_help = AFTER_HELP,
    term_width = 0
)]
pub struct Cli {
    /// What to do (default: dump FILE).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// JSON Lines output (one object per record; before or after the subcommand).
    #[arg(long, global = true)]
    pub json: bool,
    /// Dump options when no subcommand is given.
    #[command(flatten)]
    pub dump: DumpArgs,
}

const DUMP_EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump testdata/zk-3.8/recipes/version-2/log.1c
  zkdump --json --data testdata/zk-3.8/recipes/version-2/snapshot.33
  zkdump dump testdata/zk-3.8/recipes/version-2/log.1c --op create2,multi --from-zxid 0x20
  zkdump - < testdata/zk-3.8/compressed-gz/version-2/snapshot.2a.gz";

const VERIFY_EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump verify testdata/zk-3.8/recipes
  zkdump verify --json testdata/zk-3.9/fuzzy/version-2/log.1 testdata/zk-3.9/fuzzy/version-2/snapshot.6c
  tar -C testdata/zk-3.8/recipes -cz version-2 | zkdump verify -

Exit status: 0 clean, 1 a problem found, 2 an input could not be read.";

const SUMMARY_EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump summary testdata/zk-3.8/recipes/version-2/snapshot.33 --depth 3 --top 5
  zkdump summary testdata/zk-3.8/recipes
  zkdump summary --json testdata/zk-3.8/recipes/version-2/log.1c testdata/zk-3.9/recipes
  tar -C testdata/zk-3.8/recipes -cz version-2 | zkdump summary -

Exit status: 0 every input read to its end, 2 an input could not be read (the others are
still summarised).";

const SESSIONS_EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump sessions testdata/zk-3.8/recipes
  zkdump sessions --json testdata/zk-3.8/recipes/version-2/snapshot.33";

const DIFF_EXAMPLES: &str = "\
Examples (from the project's root, on its bundled sample):
  zkdump diff testdata/zk-3.8/recipes/version-2/snapshot.1a testdata/zk-3.8/recipes/version-2/snapshot.33
  zkdump diff --json testdata/zk-3.8/recipes testdata/zk-3.8/recipes/version-2/snapshot.33 --zxid 0x33

Exit status: 0 identical, 1 a difference found, 2 an input could not be read.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every record of a txn log or snapshot (the default).
    #[command(after_help = DUMP_EXAMPLES)]
    Dump(DumpArgs),
    /// Check checksums, seals, digests, zxid order and gaps, log ends, and data dir restorability.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Counts and bytes by op, sessions and ephemerals, largest nodes, subtree sizes (files, or a
    /// data dir's replayed tree).
    #[command(after_help = SUMMARY_EXAMPLES)]
    Summary(SummaryArgs),
    /// Restore-safety report: live sessions, timeouts and their ephemerals grouped by parent.
    #[command(after_help = SESSIONS_EXAMPLES)]
    Sessions(SessionsArgs),
    /// Nodes added, removed and changed between two snapshots (or data dirs replayed to --zxid).
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
}

/// The subcommand names, for the typo check of [`Cli::parse_args`].
const SUBCOMMANDS: [&str; 5] = ["dump", "verify", "summary", "sessions", "diff"];

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cur = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let v = (prev + usize::from(ca != *cb)).min(cur + 1).min(left + 1);
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = v;
            }
            prev = cur;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Moves global flags given before the subcommand (`zkdump --json verify D`) after it, where the
/// default-subcommand form (`zkdump [dump] FILE`) lets clap read them.
pub fn normalize_args(args: Vec<String>) -> Vec<String> {
    let mut i = 1;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--json" => i += 1,
            "--jute-maxbuffer" => i += 2,
            a if a.starts_with("--jute-maxbuffer=") => i += 1,
            _ => break,
        }
    }
    match args.get(i) {
        Some(sub) if i > 1 && SUBCOMMANDS.contains(&sub.as_str()) => {
            let mut v = Vec::with_capacity(args.len());
            v.extend(args.iter().take(1).cloned());
            v.push(sub.clone());
            v.extend(args.iter().skip(1).take(i - 1).cloned());
            v.extend(args.iter().skip(i + 1).cloned());
            v
        }
        _ => args,
    }
}

/// A first argument that is no file and looks like a misspelt subcommand (`zkdump verfy DIR`):
/// the subcommand it resembles. (Without this, `verfy` would be taken for the FILE to dump.)
pub fn misspelt_subcommand(first: &str) -> Option<&'static str> {
    if first.starts_with('-') || std::path::Path::new(first).exists() {
        return None;
    }
    SUBCOMMANDS
        .iter()
        .copied()
        .filter(|s| *s != first)
        .map(|s| (edit_distance(first, s), s))
        .filter(|(d, s)| *d <= 2 && *d < s.len())
        .min()
        .map(|(_, s)| s)
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
    /// Show node and txn data (UTF-8 text as is, other bytes per --data-format).
    #[arg(long)]
    pub data: bool,
    /// Encoding of data that is not UTF-8 (with --data).
    #[arg(long, value_enum, default_value_t = DataFormat::Hex, requires = "data")]
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
    /// Txn logs only: refused on a snapshot.
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
    /// An unknown op name; `--from-zxid` above `--to-zxid`.
    pub fn options(&self) -> Result<DumpOptions, CliError> {
        if let (Some(f), Some(t)) = (self.from_zxid, self.to_zxid) {
            if f > t {
                return Err(CliError::msg(format!(
                    "--from-zxid {f} is above --to-zxid {t}: no txn or node can match"
                )));
            }
        }
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
    /// The txn logs' folder when the server had a separate dataLogDir (its version-2 or the
    /// folder holding it): logs come from there, snapshots from the data dir. A single data
    /// dir PATH only.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: LimitArgs,
}

/// `zkdump summary PATH...`.
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Txn logs, snapshots, data dirs (replayed to their end) or tar/tar.gz/tar.zst archives of
    /// data dirs; `-` reads one of them from standard input. One section (JSON: one object) each.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
    /// Depth of the subtree table (0 = unlimited; default 2). Snapshots and data dirs.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// How many of the largest nodes to list (default 10). Snapshots and data dirs.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
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
    /// Replay data dirs to this zxid (default: to their end); needs a data dir on one side.
    #[arg(long, value_parser = parse_zxid, value_name = "ZXID")]
    pub zxid: Option<zkformat::Zxid>,
    /// Show changed data.
    #[arg(long)]
    pub data: bool,
    /// Encoding of data that is not UTF-8 (with --data).
    #[arg(long, value_enum, default_value_t = DataFormat::Hex, requires = "data")]
    pub data_format: DataFormat,
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
            None => run_dump(&self.dump, self.json, out, err),
            Some(Command::Dump(d)) => run_dump(d, self.json, out, err),
            Some(Command::Verify(v)) => super::verify::run(
                &v.paths,
                v.log_dir.as_deref(),
                v.limits.limits(),
                self.json,
                out,
            ),
            Some(Command::Summary(s)) => super::summary::run(
                &s.paths,
                &SummaryOptions {
                    depth: s.depth,
                    top: s.top,
                    json: self.json,
                    limits: s.limits.limits(),
                },
                out,
                err,
            ),
            Some(Command::Sessions(s)) => {
                super::sessions::run(&s.path, self.json, s.limits.limits(), out)
            }
            Some(Command::Diff(d)) => {
                let opts = DumpOptions {
                    data: d.data,
                    data_format: d.data_format,
                    filter: Filter::default(),
                    limits: d.limits.limits(),
                };
                super::diff::run(&d.left, &d.right, d.zxid, &opts, self.json, out)
            }
        }
    }
}

fn run_dump(
    d: &DumpArgs,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let Some(file) = &d.file else {
        return Err(CliError {
            message: "missing FILE (a txn log, a snapshot, or - for standard input)".to_string(),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        });
    };
    let opts = d.options()?;
    let format = if json { Format::Json } else { Format::Text };
    super::records::run(file, &opts, format, out, err)
}
