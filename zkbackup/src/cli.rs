//! The `zkbackup` command line: parses, calls the library, renders.
//!
//! Exit status: 0 success; 1 `create` recorded a failed backup, or `verify` found a problem; 2
//! usage error, unusable source, store error, or nothing to verify: nothing was stored.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::admin::Auth;
use crate::backup::{self, CreateError, CreateRequest, SourceSpec};
use crate::catalog::{self, Catalog, Entry};
use crate::crypt::{Identities, Recipients};
use crate::hotcopy;
use crate::manifest::Status;
use crate::store::{self, Store};

const AFTER_HELP: &str = "\
Examples (from the project's root, on its bundled sample):
  # A backup of a data dir into a local catalog, listed and checked:
  zkbackup --store /tmp/zkbackup-example create --label example testdata/zk-3.8/recipes
  zkbackup --store /tmp/zkbackup-example list
  zkbackup --store /tmp/zkbackup-example prune --keep 1 --dry-run
  # A running server (data dir, zoo.cfg or 3.9 admin server), into S3 with the AWS_* variables:
  #   zkbackup --store s3://bucket/zk create --label nightly --config /etc/zookeeper/zoo.cfg
  #   zkbackup --store s3://bucket/zk create --label admin --admin http://zk1:8080 --auth @/etc/zkbackup/auth
  # Restore on a stopped member, then wait for the ensemble:
  #   zkbackup --store s3://bucket/zk restore nightly-<uuid> --config /etc/zookeeper/zoo.cfg
  #   zkbackup status --servers zk1:2181,zk2:2181,zk3:2181 --wait 120

Store: --store, else the ZKBACKUP_STORE environment variable: a folder, or s3://bucket/prefix.

Exit status:
  0  success
  1  create recorded a failed backup (the reason is on stderr and in the manifest);
     verify found a problem; status: not every server serves with exactly one leader
  2  usage error, unusable source, wrong credentials, store error, a running member, a damaged
     backup: nothing was stored or changed";

/// Hot, verified backups of running ZooKeeper servers into a labelled catalog.
#[derive(Debug, Parser)]
#[command(name = "zkbackup", version, after_long_help = AFTER_HELP, term_width = 0)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// The catalog: a folder, or s3://bucket/prefix (default: $ZKBACKUP_STORE).
    #[arg(long, global = true, value_name = "STORE")]
    pub store: Option<String>,
    /// No progress or notes on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Machine output: JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// How long a writer counts as alive without renewing its lease (seconds).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 120)]
    pub lease_seconds: u64,
    /// jute.maxbuffer the data was written with (bytes).
    #[arg(long, global = true, value_name = "BYTES")]
    pub jute_maxbuffer: Option<u32>,
    /// An age identity file (AGE-SECRET-KEY-1…) to open encrypted backups (show, verify).
    #[arg(long, global = true, value_name = "KEYFILE")]
    pub decrypt_with: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take a backup of a running server (data dir, zoo.cfg, or 3.9 admin server).
    Create(CreateArgs),
    /// List backups: ID, status, created, zxid range, size.
    List {
        /// Only this label.
        label: Option<String>,
    },
    /// Print a backup's manifest (JSON).
    Show {
        /// The backup ID.
        id: String,
    },
    /// Delete a backup.
    Delete {
        /// The backup ID.
        id: String,
    },
    /// Read a backup back and check it: SHA-256, checksums, seals, digest, zxid continuity.
    Verify {
        /// The backup ID.
        id: String,
    },
    /// Delete ready backups beyond the newest N (of a label; older than a duration).
    Prune(PruneArgs),
    /// Is every server serving, and does exactly one lead? (srvr; Exhibitor's codes)
    Status(crate::status::StatusArgs),
    /// Restore a backup into a stopped member's data dir, filtered and fenced.
    Restore(RestoreArgs),
    /// Write a filtered archive of a backup (plain, or the tree `dcos-zk restore` extracts).
    Export(ExportArgs),
}

/// What `restore` and `export` drop and where they stop (as `zkfilter datadir`).
#[derive(Debug, Args)]
pub struct FilterOpts {
    /// Stop at this zxid (point in time).
    #[arg(long, value_name = "ZXID", value_parser = zkfilter::cli::parse_zxid, conflicts_with = "to_time")]
    pub to_zxid: Option<zkformat::Zxid>,
    /// Stop at the last txn stamped at or before this time (RFC 3339 or ms since the epoch).
    #[arg(long, value_name = "TIME", value_parser = zkfilter::cli::parse_time_ms)]
    pub to_time: Option<i64>,
    /// Write the restored state at the first zxid of this epoch (default: the highest epoch
    /// known, from the backup, later backups of the label and --servers, + 10).
    #[arg(long, value_name = "EPOCH", conflicts_with = "no_fence")]
    pub fence_epoch: Option<u32>,
    /// Keep the backup's last zxid (clients that saw later ones are refused until they give up).
    #[arg(long)]
    pub no_fence: bool,
    /// Live members (HOST:PORT, comma-separated) whose zxids raise the fence (srvr).
    #[arg(long, value_name = "HOST:PORT,…", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Write the snapshot for this ZooKeeper version (3.4 to 3.9).
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,
    /// A JSON report of what was (or would be) dropped (`-` = stdout).
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub policy: zkfilter::filter_cmd::PolicyArgs,
}

/// `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup ID.
    pub id: String,
    /// The member's data dir (dataDir).
    #[arg(
        short,
        long,
        value_name = "DATADIR",
        required_unless_present_any = ["config", "admin"]
    )]
    pub output: Option<PathBuf>,
    /// The member's separate dataLogDir.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Take dataDir, dataLogDir and clientPort from the member's zoo.cfg.
    #[arg(long, value_name = "ZOO_CFG", conflicts_with = "output")]
    pub config: Option<PathBuf>,
    /// Say what would be installed and dropped; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore even though the member looks alive (with --admin: even with --no-fence below the
    /// members' zxid; the state is then not saved).
    #[arg(long)]
    pub force: bool,
    /// Instead: ZooKeeper 3.9's admin `restore` on each running member in turn (comma-separated
    /// URLs, http://host:8080; every member of the ensemble), each then saving it with the admin
    /// `snapshot`; the clients blocked meanwhile. Then restart the members one at a time, the
    /// followers first (see the README's runbook).
    #[arg(long, value_name = "URL,…", value_delimiter = ',', conflicts_with_all = ["output", "config", "log_dir"])]
    pub admin: Vec<String>,
    /// Admin credentials: digest:USER:PASSWORD, or @FILE (default: $ZKBACKUP_AUTH).
    #[arg(long, value_name = "AUTH", requires = "admin")]
    pub auth: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterOpts,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The backup ID.
    pub id: String,
    /// The archive to write (.tar.gz).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The archive's layout.
    #[arg(long, value_enum, default_value_t = crate::restore::Layout::Plain)]
    pub layout: crate::restore::Layout,
    /// Replace an existing archive (once the new one is complete).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterOpts,
}

impl FilterOpts {
    fn request(&self, id: &str, quiet: bool) -> crate::restore::RestoreRequest {
        crate::restore::RestoreRequest {
            id: id.to_string(),
            to_zxid: self.to_zxid,
            to_time: self.to_time,
            fence_epoch: self.fence_epoch,
            no_fence: self.no_fence,
            target_version: self.target_version.clone(),
            policy: self.policy.clone(),
            report: self.report.clone(),
            quiet,
            servers: self.servers.clone(),
            ..Default::default()
        }
    }
}

/// `clientPort` from a zoo.cfg.
fn client_port(cfg: &std::path::Path) -> Option<u16> {
    std::fs::read_to_string(cfg).ok()?.lines().find_map(|l| {
        let (k, v) = l.trim().split_once('=')?;
        (k.trim() == "clientPort")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The label (3-25 characters of A-Z a-z 0-9 _ . -).
    #[arg(long)]
    pub label: String,
    /// The server's data dir.
    #[arg(value_name = "DATADIR", conflicts_with_all = ["config", "admin"], required_unless_present_any = ["config", "admin"])]
    pub datadir: Option<PathBuf>,
    /// The server's separate dataLogDir.
    #[arg(long, value_name = "DIR", conflicts_with = "admin")]
    pub log_dir: Option<PathBuf>,
    /// Take dataDir and dataLogDir from this zoo.cfg.
    #[arg(long, value_name = "ZOO_CFG", conflicts_with = "admin")]
    pub config: Option<PathBuf>,
    /// ZooKeeper 3.9's admin server (http://host:8080).
    #[arg(long, value_name = "URL")]
    pub admin: Option<String>,
    /// Admin credentials: digest:USER:PASSWORD, or @FILE holding them (default: $ZKBACKUP_AUTH).
    #[arg(long, value_name = "AUTH", requires = "admin")]
    pub auth: Option<String>,
    /// Encrypt to this age recipient (age1…, repeatable, or @FILE of them): the store then
    /// shows only labels, times, status and sizes.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// gzip level of the archive: 0 (default) stores the files in a valid .tar.gz at the speed
    /// of a copy, sparing the live server's CPU; 1 compresses ZooKeeper logs about 2:1 at
    /// ~100 MB/s of one core; up to 9.
    #[arg(long, value_name = "0-9", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub gzip_level: u32,
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// How many of the newest ready backups to keep.
    #[arg(long)]
    pub keep: usize,
    /// Only backups with this label.
    #[arg(long)]
    pub label: Option<String>,
    /// Remove only backups older than this (90s, 15m, 12h, 7d, 2w).
    #[arg(long, value_name = "DURATION", value_parser = catalog::parse_duration)]
    pub older_than: Option<Duration>,
    /// Print the decisions, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// An error for the user, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// What to print.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 2,
    }
}

fn open_store(cli: &Cli) -> Result<Box<dyn Store>, Failure> {
    let spec = cli
        .store
        .clone()
        .or_else(|| {
            std::env::var("ZKBACKUP_STORE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| {
            usage("no store: pass --store DIR|s3://bucket/prefix, or set ZKBACKUP_STORE")
        })?;
    store::open(&spec).map_err(|e| usage(format!("opening the store {spec}: {e}")))
}

fn identities(cli: &Cli) -> Result<Option<Identities>, Failure> {
    cli.decrypt_with
        .as_deref()
        .map(Identities::from_file)
        .transpose()
        .map_err(usage)
}

fn human_size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.1} MiB", n as f64 / 1048576.0)
    } else {
        format!("{:.1} GiB", n as f64 / 1073741824.0)
    }
}

fn entry_json(e: &Entry) -> serde_json::Value {
    let m = e.manifest.as_ref();
    serde_json::json!({
        "id": e.id,
        "label": e.label(),
        "status": e.status.name(),
        "error": e.error,
        "created": e.created(),
        "firstZxid": m.and_then(|m| m.first_zxid.clone()),
        "lastZxid": m.and_then(|m| m.last_zxid.clone()),
        "size": e.size,
    })
}

/// Runs the command; returns the exit code.
///
/// # Errors
/// A [`Failure`] to print.
pub fn run(cli: &Cli) -> Result<u8, Failure> {
    let limits = cli
        .jute_maxbuffer
        .map_or_else(zkformat::Limits::default, zkformat::Limits::with_maxbuffer);
    let options = hotcopy::Options {
        limits,
        pause: std::env::var("ZKBACKUP_TEST_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis),
        attempts: 5,
    };
    let out = &mut io::stdout().lock();
    // A closed standard output (`zkbackup list | head`) ends the run quietly.
    let w = |out: &mut dyn Write, s: &str| {
        writeln!(out, "{s}").map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Failure {
                message: String::new(),
                code: 0,
            },
            _ => usage(format!("writing output: {e}")),
        })
    };
    match &cli.command {
        Command::Create(a) => {
            let source = if let Some(url) = &a.admin {
                let spec = a.auth.clone().or_else(|| {
                    std::env::var("ZKBACKUP_AUTH")
                        .ok()
                        .filter(|s| !s.is_empty())
                });
                let auth = spec.map(|s| Auth::parse(&s)).transpose().map_err(usage)?;
                SourceSpec::Admin {
                    url: url.clone(),
                    auth,
                }
            } else if let Some(cfg) = &a.config {
                let (dir, log_dir) = hotcopy::dirs_from_config(cfg).map_err(usage)?;
                SourceSpec::DataDir {
                    dir,
                    log_dir: a.log_dir.clone().or(log_dir),
                }
            } else {
                SourceSpec::DataDir {
                    dir: a.datadir.clone().unwrap_or_default(),
                    log_dir: a.log_dir.clone(),
                }
            };
            // The label and keys before the store: a bad one stores nothing, whatever the store.
            catalog::check_label(&a.label).map_err(usage)?;
            let recipients = Recipients::parse(&a.encrypt_to).map_err(usage)?;
            let store = open_store(cli)?;
            let req = CreateRequest {
                label: a.label.clone(),
                source,
                lease: Duration::from_secs(cli.lease_seconds.max(1)),
                options,
                recipients,
                gzip_level: a.gzip_level,
            };
            let quiet = cli.quiet;
            let mut note = |s: &str| {
                if !quiet {
                    eprintln!("zkbackup: {s}");
                }
            };
            let show_progress = !quiet && io::stderr().is_terminal();
            let progress = |n: u64| {
                if show_progress {
                    eprint!("\rzkbackup: {} stored…   ", human_size(n));
                }
            };
            let result = backup::create(store.as_ref(), &req, &mut note, &progress);
            if show_progress {
                eprint!("\r\x1b[K");
            }
            match result {
                Ok(m) => {
                    if cli.json {
                        let text = serde_json::to_string(&m).map_err(|e| usage(e.to_string()))?;
                        w(out, &text)?;
                    } else {
                        w(out, &m.id)?;
                    }
                    if !quiet {
                        eprintln!(
                            "zkbackup: {} ready: {} to {}, {} {}, {} session(s) and {} ephemeral node(s) a restore will drop",
                            m.id,
                            m.first_zxid.as_deref().unwrap_or("?"),
                            m.last_zxid.as_deref().unwrap_or("?"),
                            m.files.len(),
                            if m.files.len() == 1 { "file" } else { "files" },
                            m.sessions,
                            m.ephemerals
                        );
                    }
                    Ok(0)
                }
                Err(CreateError::Failed(m)) => {
                    if cli.json {
                        let text = serde_json::to_string(&m).map_err(|e| usage(e.to_string()))?;
                        w(out, &text)?;
                    } else {
                        w(out, &m.id)?;
                    }
                    Err(Failure {
                        message: format!(
                            "backup {} recorded as STATUS_ERROR: {}",
                            m.id,
                            m.error.as_deref().unwrap_or("")
                        ),
                        code: 1,
                    })
                }
                Err(CreateError::NothingStored(msg)) => Err(usage(msg)),
            }
        }
        Command::List { label } => {
            let store = open_store(cli)?;
            let entries = Catalog::new(store.as_ref())
                .list()
                .map_err(|e| usage(e.to_string()))?;
            let shown: Vec<&Entry> = entries
                .iter()
                .filter(|e| label.as_deref().is_none_or(|l| e.label() == l))
                .collect();
            if cli.json {
                for e in shown {
                    w(out, &entry_json(e).to_string())?;
                }
            } else {
                w(
                    out,
                    &format!(
                        "{:<62} {:<18} {:<25} {:<27} {:>10}",
                        "ID", "STATUS", "CREATED", "ZXID RANGE", "SIZE"
                    ),
                )?;
                for e in shown {
                    let m = e.manifest.as_ref();
                    let range =
                        match m.and_then(|m| m.first_zxid.as_deref().zip(m.last_zxid.as_deref())) {
                            Some((a, b)) => format!("{a}-{b}"),
                            None => "-".to_string(),
                        };
                    w(
                        out,
                        &format!(
                            "{:<62} {:<18} {:<25} {:<27} {:>10}",
                            e.id,
                            e.status.name(),
                            e.created().unwrap_or("-"),
                            range,
                            human_size(e.size)
                        ),
                    )?;
                }
            }
            Ok(0)
        }
        Command::Show { id } => {
            catalog::check_id(id).map_err(usage)?;
            let store = open_store(cli)?;
            let e = Catalog::new(store.as_ref())
                .get(id)
                .map_err(|e| usage(e.to_string()))?;
            let v = match (&e.manifest, identities(cli)?) {
                (Some(m), Some(ids)) if m.encrypted => {
                    let sealed = store
                        .get_bytes(&catalog::key(id, backup::DETAILS))
                        .map_err(|e| usage(e.to_string()))?;
                    let details = ids.decrypt(&sealed).map_err(usage)?;
                    serde_json::from_slice(&details).map_err(|e| usage(e.to_string()))?
                }
                (Some(m), _) => serde_json::to_value(m).map_err(|e| usage(e.to_string()))?,
                (None, _) => entry_json(&e),
            };
            let text = serde_json::to_string_pretty(&v).map_err(|e| usage(e.to_string()))?;
            w(out, &text)?;
            Ok(0)
        }
        Command::Delete { id } => {
            catalog::check_id(id).map_err(usage)?;
            let store = open_store(cli)?;
            let cat = Catalog::new(store.as_ref());
            let e = cat.get(id).map_err(|e| usage(e.to_string()))?;
            if e.status == Status::BackingUp {
                return Err(usage(format!(
                    "{id} is being written (its lease runs until {}); delete it once it has ended",
                    e.lease
                        .as_ref()
                        .map_or_else(String::new, |l| catalog::rfc3339(l.lease_until_ms))
                )));
            }
            cat.delete(id).map_err(|e| usage(e.to_string()))?;
            if !cli.quiet {
                eprintln!("zkbackup: deleted {id}");
            }
            Ok(0)
        }
        Command::Verify { id } => {
            catalog::check_id(id).map_err(usage)?;
            let store = open_store(cli)?;
            let key = identities(cli)?;
            let v = backup::verify(store.as_ref(), id, &options, key.as_ref()).map_err(usage)?;
            if cli.json {
                let j = serde_json::json!({"id": id, "ok": v.problems.is_empty(), "problems": v.problems, "notes": v.notes});
                w(out, &j.to_string())?;
            } else {
                for p in &v.problems {
                    w(out, &format!("problem: {p}"))?;
                }
                for n in &v.notes {
                    w(out, &format!("ok: {n}"))?;
                }
                if v.problems.is_empty() {
                    w(out, &format!("{id}: OK"))?;
                }
            }
            Ok(if v.problems.is_empty() { 0 } else { 1 })
        }
        Command::Status(a) => crate::status::run(a, cli.json, cli.quiet, out).map_err(usage),
        Command::Restore(r) => {
            catalog::check_id(&r.id).map_err(usage)?;
            let (dir, log_dir, port) = match &r.config {
                Some(cfg) => {
                    let (d, l) = hotcopy::dirs_from_config(cfg).map_err(usage)?;
                    (d, r.log_dir.clone().or(l), client_port(cfg))
                }
                None => (
                    r.output.clone().unwrap_or_default(),
                    r.log_dir.clone(),
                    None,
                ),
            };
            let store = open_store(cli)?;
            let key = identities(cli)?;
            let mut req = r.filter.request(&r.id, cli.quiet);
            req.dry_run = r.dry_run;
            req.force = r.force;
            if !r.admin.is_empty() {
                let spec = r.auth.clone().or_else(|| {
                    std::env::var("ZKBACKUP_AUTH")
                        .ok()
                        .filter(|s| !s.is_empty())
                });
                let auth = spec.map(|s| Auth::parse(&s)).transpose().map_err(usage)?;
                return crate::restore::restore_admin(
                    store.as_ref(),
                    &req,
                    &r.admin,
                    auth.as_ref(),
                    key.as_ref(),
                )
                .map_err(usage);
            }
            crate::restore::restore(
                store.as_ref(),
                &req,
                &dir,
                log_dir.as_deref(),
                port,
                key.as_ref(),
            )
            .map_err(usage)
        }
        Command::Export(x) => {
            catalog::check_id(&x.id).map_err(usage)?;
            let store = open_store(cli)?;
            let key = identities(cli)?;
            let req = x.filter.request(&x.id, cli.quiet);
            crate::restore::export(
                store.as_ref(),
                &req,
                &x.output,
                x.layout,
                x.force,
                key.as_ref(),
            )
            .map_err(usage)
        }
        Command::Prune(p) => {
            let store = open_store(cli)?;
            let cat = Catalog::new(store.as_ref());
            let entries = cat.list().map_err(|e| usage(e.to_string()))?;
            let plan = catalog::prune_plan(
                &entries,
                p.keep,
                p.label.as_deref(),
                p.older_than,
                catalog::now_ms(),
            );
            for d in &plan {
                let verb = match (d.remove, p.dry_run) {
                    (true, true) => "would delete",
                    (true, false) => "delete",
                    (false, _) => "keep",
                };
                if cli.json {
                    let j = serde_json::json!({"id": d.id, "remove": d.remove, "reason": d.reason, "dryRun": p.dry_run});
                    w(out, &j.to_string())?;
                } else {
                    w(out, &format!("{verb:<12} {}  ({})", d.id, d.reason))?;
                }
                if d.remove && !p.dry_run {
                    cat.delete(&d.id).map_err(|e| usage(e.to_string()))?;
                }
            }
            Ok(0)
        }
    }
}

/// The `main` of the binary.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let code = match run(&cli) {
        Ok(c) => c,
        Err(f) if f.message.is_empty() => f.code,
        Err(f) => {
            let _ = writeln!(io::stderr(), "error: {}", f.message);
            f.code
        }
    };
    std::process::ExitCode::from(code)
}
