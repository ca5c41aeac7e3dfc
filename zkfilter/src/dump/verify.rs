//! `zkdump verify PATH...`: check files and data dirs, report every problem.
//!
//! Per file (in parallel): every log entry's Adler32 and payload, zxid order and gaps, how the
//! log ends (torn tail, partial record, bytes after the zero padding), the name's zxid; every
//! snapshot seal, the tail sections, the digest against the tree (when comparable), the name's
//! compression. Per data dir: which snapshot and logs ZooKeeper would use
//! ([`zkformat::datadir`]), whether replay reaches the end without a gap or a fatal error, the
//! fuzzy snapshot's digest (replaying to its zxid) and each log entry's TxnDigest
//! ([`zkformat::tree`]). A folder holding no ZooKeeper file is `unreadable`; `--log-dir` takes
//! the logs from a server's separate `dataLogDir`. Rules that later ZooKeeper versions added are
//! applied by the version that wrote the data dir ([`zkformat::version`]): logs without a
//! snapshot are a `warning` (what 3.5.3+ would do) for files with no mark of 3.5+, a `problem`
//! otherwise.
//!
//! Exit code: 0 clean, 1 problems found, 2 an input could not be read.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zkformat::checksum::adler32;
use zkformat::datadir::DataDir;
use zkformat::kind::FileKind;
use zkformat::snapshot::{DigestCheck, SnapshotItem};
use zkformat::source::FileBytes;
use zkformat::txnlog::{EndReason, LogEnd, TxnEntry, TxnLog};
use zkformat::zxid::{parse_file_name, FileNameKind, NameCompression};
use zkformat::{Limits, Zxid};

use super::render::json::Obj;
use super::source::SnapSource;
use super::{hex64, plural};
use crate::cli::{output_error, zk_error_message, CliError, EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Could not be read at all (exit 2).
    Unreadable,
    /// A defect (exit 1).
    Problem,
    /// Worth knowing; does not fail verification.
    Warning,
    /// Information.
    Note,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Severity::Unreadable => "unreadable",
            Severity::Problem => "problem",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One thing verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What.
    pub message: String,
    /// Where (byte offset in the decompressed stream).
    pub offset: Option<u64>,
    /// Which txn, when known.
    pub zxid: Option<Zxid>,
}

impl Finding {
    fn new(severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            message: message.into(),
            offset: None,
            zxid: None,
        }
    }

    fn at(mut self, offset: u64) -> Finding {
        self.offset = Some(offset);
        self
    }

    fn zxid(mut self, z: Option<Zxid>) -> Finding {
        self.zxid = z;
        self
    }

    fn from_error(severity: Severity, e: &zkformat::Error) -> Finding {
        Finding {
            severity,
            message: format!("{} ({})", zk_error_message(e), e.hint()),
            offset: Some(e.offset()),
            zxid: e.zxid(),
        }
    }
}

/// What verification learned about one file or data dir.
#[derive(Debug, Clone)]
pub struct Report {
    /// The path.
    pub path: String,
    /// "txn log", "snapshot", "data dir", …
    pub what: String,
    /// One-line description (counts, ranges).
    pub summary: String,
    /// Findings, in the order found.
    pub findings: Vec<Finding>,
}

impl Report {
    fn new(path: &str, what: &str) -> Report {
        Report {
            path: path.to_string(),
            what: what.to_string(),
            summary: String::new(),
            findings: Vec::new(),
        }
    }

    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// The worst severity found (`None` when there is nothing but notes and warnings).
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .map(|f| f.severity)
            .filter(|s| *s <= Severity::Problem)
            .min()
    }

    /// "OK", "PROBLEMS" or "UNREADABLE".
    pub fn status(&self) -> &'static str {
        match self.worst() {
            None => "ok",
            Some(Severity::Unreadable) => "unreadable",
            Some(_) => "problems",
        }
    }
}

fn name_of(path: &Path) -> Option<zkformat::zxid::DataFileName> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_file_name)
}

/// Verifies files in parallel, the largest first; the reports come back in the given order.
fn verify_files_largest_first(files: &[PathBuf], limits: Limits) -> Vec<Report> {
    let mut order: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (std::fs::metadata(f).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut done: Vec<(usize, Report)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&(_, i)| (i, verify_file(&files[i], limits)))
        .collect();
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Verifies one file.
pub fn verify_file(path: &Path, limits: Limits) -> Report {
    let shown = path.display().to_string();
    let (bytes, holes) = match FileBytes::open_with_holes(path) {
        Ok(b) => b,
        Err(e) => {
            let mut r = Report::new(&shown, "file");
            r.push(Finding::new(
                Severity::Unreadable,
                format!("cannot read: {e}"),
            ));
            return r;
        }
    };
    match FileKind::detect(&bytes) {
        FileKind::TxnLog => verify_log(&shown, path, &bytes, &holes, limits),
        FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy => {
            verify_snapshot(&shown, path, &bytes, limits)
        }
        FileKind::Unknown => {
            let mut r = Report::new(&shown, "unknown");
            let e = crate::cli::unknown_kind_error(&shown, bytes.get(..8).unwrap_or(&bytes));
            let msg = match &e.hint {
                Some(h) => format!("{} ({h})", e.message),
                None => e.message.clone(),
            };
            r.push(Finding::new(Severity::Unreadable, msg).at(0));
            r
        }
    }
}

/// A log file's zxid runs (consecutive zxids) and facts, for data dir checks.
#[derive(Debug, Clone, Default)]
struct LogFacts {
    txns: u64,
    first: Option<Zxid>,
    last: Option<Zxid>,
}

fn verify_log(
    shown: &str,
    path: &Path,
    bytes: &[u8],
    holes: &[std::ops::Range<usize>],
    limits: Limits,
) -> Report {
    let mut check = LogCheck::new(shown);
    let log = match TxnLog::parse(bytes, limits) {
        Ok(x) => x.with_holes(holes),
        Err(e) => {
            check.r.push(Finding::from_error(Severity::Problem, &e));
            return check.r;
        }
    };
    // Framing and checksums run on a helper thread, decoding and the zxid checks here.
    let end = log.read_ahead(true, |src| {
        loop {
            match src.next_entry() {
                Ok(Some(e)) => check.entry(&e),
                Ok(None) => break,
                Err(e) => {
                    check.r.push(Finding::from_error(Severity::Problem, &e));
                    break;
                }
            }
        }
        src.end()
    });
    check.finish(path, end)
}

/// The checks of one txn log, entry by entry: what a report on the file says. Fed by
/// [`verify_log`], or by a data dir's replay, which reads the same entries.
struct LogCheck {
    r: Report,
    facts: LogFacts,
    digests: u64,
    prev: Option<Zxid>,
}

impl LogCheck {
    fn new(shown: &str) -> LogCheck {
        LogCheck {
            r: Report::new(shown, "txn log"),
            facts: LogFacts::default(),
            digests: 0,
            prev: None,
        }
    }

    /// Checks the next entry of the log.
    fn entry(&mut self, entry: &TxnEntry<'_>) {
        let r = &mut self.r;
        self.facts.txns += 1;
        let z = entry.zxid();
        if !entry.checksum_ok() {
            r.push(
                Finding::new(
                    Severity::Problem,
                    format!(
                        "checksum error: Adler32 mismatch: stored 0x{:08x}, computed 0x{:08x} (ZooKeeper refuses to start on this log; `zkTxnLogToolkit.sh -r` rewrites the checksum if the payload is known to be good)",
                        entry.stored_checksum(),
                        adler32(entry.payload())
                    ),
                )
                .at(entry.offset())
                .zxid(Some(z)),
            );
        }
        match entry.check_record() {
            Ok(has_digest) => self.digests += u64::from(has_digest),
            Err(e) => r.push(Finding::from_error(Severity::Problem, &e).zxid(Some(z))),
        }
        if self.facts.first.is_none() {
            self.facts.first = Some(z);
        }
        if let Some(p) = self.prev {
            if z <= p {
                r.push(
                    Finding::new(
                        Severity::Problem,
                        format!("zxid {z} is not greater than the previous zxid {p}"),
                    )
                    .at(entry.offset())
                    .zxid(Some(z)),
                );
            } else if z.epoch() == p.epoch() && z.0 != p.0 + 1 {
                r.push(
                    Finding::new(
                        Severity::Problem,
                        format!(
                            "zxid gap: {p} is followed by {z} ({} missing)",
                            plural((z.0 - p.0 - 1) as u64, "txn", "txns")
                        ),
                    )
                    .at(entry.offset())
                    .zxid(Some(z)),
                );
            }
        }
        self.prev = Some(z);
        self.facts.last = Some(z);
    }

    /// The report, given how the log ended (`None`: an error, already pushed, stopped it).
    fn finish(self, path: &Path, end: Option<LogEnd>) -> Report {
        let LogCheck {
            mut r,
            facts,
            digests,
            ..
        } = self;
        if let Some(end) = end {
            match end.reason {
                EndReason::Eof | EndReason::ZeroPadding => {
                    if end.trailing_nonzero > 0 {
                        r.push(
                            Finding::new(
                                Severity::Problem,
                                format!(
                                    "{} after the end of the log ({}): ZooKeeper ignores everything after a zero length",
                                    plural(end.trailing_nonzero, "non-zero byte", "non-zero bytes"),
                                    end.describe()
                                ),
                            )
                            .at(end.offset),
                        );
                    }
                }
                EndReason::Torn => r.push(
                    Finding::new(
                        Severity::Problem,
                        format!(
                            "torn final entry: the log is cut inside an entry ({}); ZooKeeper drops it silently",
                            end.describe()
                        ),
                    )
                    .at(end.offset),
                ),
                EndReason::PartialRecord { found } => r.push(
                    Finding::new(
                        Severity::Problem,
                        format!(
                            "partial final entry: end-of-record byte 0x{found:02x} instead of 0x42 ({}); ZooKeeper logs \"Last transaction was partial\" and stops reading this file",
                            end.describe()
                        ),
                    )
                    .at(end.offset),
                ),
            }
            r.summary = format!(
                "{}{}, {}",
                plural(facts.txns, "txn", "txns"),
                match (facts.first, facts.last) {
                    (Some(a), Some(b)) => format!(" {a}..{b}"),
                    _ => String::new(),
                },
                end.describe()
            );
        } else {
            r.summary = format!(
                "{} read before the error",
                plural(facts.txns, "txn", "txns")
            );
        }
        if let (Some(name), Some(first)) = (name_of(path), facts.first) {
            if name.kind == FileNameKind::Log && name.zxid != first {
                r.push(Finding::new(
                    Severity::Warning,
                    format!(
                        "the file name says zxid {} but the first txn is {first}: ZooKeeper chooses logs by name, so it may pick or skip this file wrongly",
                        name.zxid
                    ),
                ));
            }
        }
        if facts.txns > 0 {
            r.push(Finding::new(
                Severity::Note,
                format!(
                    "TxnDigests on {digests} of {}; txn digests are checked only when verifying a data dir (they need the tree)",
                    plural(facts.txns, "txn", "txns")
                ),
            ));
        }
        r
    }
}

/// What one read of a snapshot file found: everything its report says.
struct SnapshotFacts {
    header_version: Option<i32>,
    /// The first problem, which ended the read.
    error: Option<zkformat::Error>,
    summary: zkformat::snapshot::SnapshotSummary,
    compression: zkformat::compression::Compression,
}

fn verify_snapshot(shown: &str, path: &Path, bytes: &[u8], limits: Limits) -> Report {
    let facts = std::thread::scope(|scope| {
        let mut src = match SnapSource::from_slice(scope, bytes, limits) {
            Ok(s) => s,
            Err(e) => return Err(e),
        };
        let mut header_version = None;
        let error = loop {
            match src.next_item() {
                Ok(Some(item)) => {
                    if let SnapshotItem::Header(h) = item.value {
                        header_version = Some(h.version);
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        Ok(SnapshotFacts {
            header_version,
            error,
            summary: src.summary(),
            compression: src.compression(),
        })
    });
    match facts {
        Ok(f) => snapshot_report(shown, path, &f),
        Err(e) => {
            let mut r = Report::new(shown, "snapshot");
            r.push(Finding::from_error(Severity::Problem, &e));
            r
        }
    }
}

/// The report on a snapshot file, from what its read found.
fn snapshot_report(shown: &str, path: &Path, facts: &SnapshotFacts) -> Report {
    let mut r = Report::new(shown, "snapshot");
    if let Some(v) = facts.header_version.filter(|&v| v != 2) {
        r.push(
            Finding::new(
                Severity::Warning,
                format!("header version {v} (ZooKeeper writes 2)"),
            )
            .at(0),
        );
    }
    if let Some(e) = &facts.error {
        r.push(Finding::from_error(Severity::Problem, e));
    }
    let complete = facts.error.is_none();
    let s = facts.summary;
    let name = name_of(path);
    let name_zxid = name.map(|n| n.zxid);
    if complete {
        match s.digest_check(name_zxid) {
            DigestCheck::Absent => r.push(Finding::new(Severity::Note, "no digest section (written by ZooKeeper 3.5 or older, or digests disabled)")),
            DigestCheck::Empty => r.push(Finding::new(Severity::Note, "the digest section holds the empty digest (zxid 0): ZooKeeper ignores it")),
            DigestCheck::NotComparable => r.push(Finding::new(
                Severity::Note,
                format!(
                    "fuzzy snapshot: digest taken at zxid {} (file name {}): not comparable without replaying logs (verify the data dir to check it)",
                    s.digest.map_or(Zxid(0), |d| d.zxid),
                    name_zxid.map_or_else(|| "unknown".to_string(), |z| z.to_string())
                ),
            )),
            DigestCheck::Match => r.push(Finding::new(Severity::Note, "digest matches the tree")),
            DigestCheck::Mismatch { stored, computed } => r.push(Finding::new(
                Severity::Problem,
                format!(
                    "tree digest mismatch: stored {}, computed {} (ZooKeeper logs a digest mismatch and carries on)",
                    hex64(stored),
                    hex64(computed)
                ),
            )),
        }
    }
    if let Some(n) = name {
        let expected = match facts.compression {
            zkformat::compression::Compression::None => NameCompression::None,
            zkformat::compression::Compression::Gzip => NameCompression::Gzip,
            zkformat::compression::Compression::Snappy => NameCompression::Snappy,
        };
        if n.kind != FileNameKind::Snapshot(expected) && matches!(n.kind, FileNameKind::Snapshot(_))
        {
            r.push(Finding::new(
                Severity::Problem,
                format!(
                    "the content is {} but the file name implies another compression: ZooKeeper picks the decompressor by name and cannot read it",
                    super::render::compression_name(facts.compression)
                ),
            ));
        }
    }
    r.summary = format!(
        "{}, {}, {}, {}{}",
        plural(s.nodes, "node", "nodes"),
        plural(s.sessions, "session", "sessions"),
        plural(s.acl_entries, "ACL entry", "ACL entries"),
        plural(s.seals, "seal", "seals"),
        if complete { "" } else { " (incomplete)" }
    );
    r
}

/// What `path` holds when it is not a ZooKeeper folder (no `version-2/`, not named `version-2`,
/// no log, snapshot or epoch file), for the `unreadable` finding: `"an empty folder"`, `"a
/// folder with 3 files, none a ZooKeeper log or snapshot (a.txt, b, c)"`. `None` for a
/// ZooKeeper folder (an empty `version-2/` included: a server that never ran leaves one).
pub fn not_a_zookeeper_folder(path: &Path, dd: &DataDir) -> Option<String> {
    if path.join("version-2").is_dir()
        || path.file_name().is_some_and(|n| n == "version-2")
        || !dd.logs.is_empty()
        || !dd.snapshots.is_empty()
        || dd.accepted_epoch.is_some()
        || dd.current_epoch.is_some()
    {
        return None;
    }
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for e in std::fs::read_dir(path).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            folders.push(name);
        } else {
            files.push(name);
        }
    }
    files.sort();
    folders.sort();
    let names = |v: &[String]| {
        let mut shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
        if v.len() > 5 {
            shown.push("…");
        }
        shown.join(", ")
    };
    let files_text = format!(
        "{}, none a ZooKeeper log or snapshot ({})",
        plural(files.len() as u64, "file", "files"),
        names(&files)
    );
    let folders_text = format!(
        "{} ({})",
        plural(folders.len() as u64, "sub-folder", "sub-folders"),
        names(&folders)
    );
    let mut found = match (files.is_empty(), folders.is_empty()) {
        (true, true) => "an empty folder".to_string(),
        (false, true) => format!("a folder with {files_text}"),
        (true, false) => format!("a folder with {folders_text} and no ZooKeeper log or snapshot"),
        (false, false) => format!("a folder with {files_text}, and {folders_text}"),
    };
    if let Some(split) = crate::inputs::SplitFolders::find(path) {
        found.push_str(&format!("; {}", split.hint("zkdump verify")));
        return Some(found);
    }
    let data_dirs: Vec<&str> = folders
        .iter()
        .filter(|f| {
            let sub = path.join(f);
            sub.join("version-2").is_dir() || f.as_str() == "version-2"
        })
        .map(String::as_str)
        .collect();
    if !data_dirs.is_empty() {
        found.push_str(&format!(
            "; {} {} {}: verify {}",
            if data_dirs.len() == 1 {
                "sub-folder"
            } else {
                "sub-folders"
            },
            data_dirs.join(", "),
            if data_dirs.len() == 1 {
                "is a data dir"
            } else {
                "are data dirs"
            },
            if data_dirs.len() == 1 { "it" } else { "each" }
        ));
    }
    Some(found)
}

/// The unreadable finding for a folder that holds no ZooKeeper file (`what`: "data dir" or
/// "log dir").
fn not_zookeeper_finding(found: &str, what: &str) -> Finding {
    let expected = if what == "log dir" {
        "the server's dataLogDir holding version-2/ with log.* files (or that version-2 folder itself)"
    } else {
        "a data dir holding version-2/ with log.* and snapshot.* files (or that version-2 folder itself)"
    };
    Finding::new(
        Severity::Unreadable,
        format!("not a ZooKeeper {what}: found {found}; expected {expected}"),
    )
}

/// Takes the txn logs from `log_dir` (a server's separate `dataLogDir`) instead of `dd`'s own
/// folder, as ZooKeeper does; reports the layouts ZooKeeper refuses to start on. Returns false
/// when the log dir cannot be used at all (the finding says why).
fn use_log_dir(r: &mut Report, dd: &mut DataDir, log_dir: &Path) -> bool {
    let ld = match DataDir::scan(log_dir) {
        Ok(d) => d,
        Err(e) => {
            r.push(Finding::new(
                Severity::Unreadable,
                format!("--log-dir {}: cannot list: {e}", log_dir.display()),
            ));
            return false;
        }
    };
    if let Some(found) = not_a_zookeeper_folder(log_dir, &ld) {
        r.push(not_zookeeper_finding(
            &format!("{found} at --log-dir {}", log_dir.display()),
            "log dir",
        ));
        return false;
    }
    let same = match (dd.dir.canonicalize(), ld.dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => dd.dir == ld.dir,
    };
    if same {
        return true;
    }
    let names = |v: &[zkformat::datadir::DataFile]| {
        v.iter()
            .map(|f| {
                f.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !dd.logs.is_empty() {
        r.push(Finding::new(
            Severity::Problem,
            format!(
                "{} holds txn logs too ({}) while --log-dir names the logs' folder: ZooKeeper refuses to start (\"Snapshot directory has log files. Check if dataLogDir and dataDir configuration is correct.\"); the logs of --log-dir are verified below",
                dd.dir.display(),
                names(&dd.logs)
            ),
        ));
    }
    if !ld.snapshots.is_empty() {
        r.push(Finding::new(
            Severity::Problem,
            format!(
                "the log dir {} holds snapshots ({}): ZooKeeper refuses to start (\"Log directory has snapshot files. Check if dataLogDir and dataDir configuration is correct.\") and reads snapshots from the data dir only",
                ld.dir.display(),
                names(&ld.snapshots)
            ),
        ));
    }
    dd.logs = ld.logs;
    true
}

/// Verifies a data dir: the restore ZooKeeper would do.
pub fn verify_datadir(path: &Path, limits: Limits) -> Report {
    verify_datadir_with(path, None, limits)
}

/// Verifies a data dir whose txn logs are in `log_dir` (the server's `dataLogDir`) when given.
pub fn verify_datadir_with(path: &Path, log_dir: Option<&Path>, limits: Limits) -> Report {
    verify_datadir_claiming(path, log_dir, &Claims::default(), limits).0
}

/// Files of a data dir that its replay reads anyway: the snapshot ZooKeeper would load first
/// and the logs after it. Their own reports come from that read instead of a second one.
#[derive(Debug, Clone, Default)]
struct Claims {
    snapshot: Option<PathBuf>,
    logs: Vec<PathBuf>,
}

impl Claims {
    /// What a replay of the data dir at `path` (logs in `log_dir` when given) will read, as far
    /// as its file names tell; empty when it cannot be listed.
    fn of(path: &Path, log_dir: Option<&Path>) -> Claims {
        let Ok(mut dd) = DataDir::scan(path) else {
            return Claims::default();
        };
        if let Some(l) = log_dir {
            if !use_log_dir(&mut Report::new("", ""), &mut dd, l) {
                return Claims::default();
            }
        }
        let (snapshot, logs) = dd.replay_files(None);
        Claims {
            snapshot: snapshot.map(|s| s.path.clone()),
            logs: logs.into_iter().map(|l| l.path.clone()).collect(),
        }
    }

    /// Keeps only the files that `keep` allows.
    fn retain(mut self, keep: impl Fn(&Path) -> bool) -> Claims {
        self.snapshot = self.snapshot.filter(|s| keep(s));
        self.logs.retain(|l| keep(l));
        self
    }

    fn contains(&self, f: &Path) -> bool {
        self.snapshot.as_deref() == Some(f) || self.logs.iter().any(|l| l == f)
    }
}

/// A data dir's report, and the reports on the `claimed` files that came from the replay's own
/// read of them (a claimed file that the replay did not read whole is missing: check it
/// separately).
fn verify_datadir_claiming(
    path: &Path,
    log_dir: Option<&Path>,
    claimed: &Claims,
    limits: Limits,
) -> (Report, Vec<(PathBuf, Report)>) {
    let mut reports = Vec::new();
    let mut checks: Vec<(&Path, LogCheck)> = claimed
        .logs
        .iter()
        .map(|l| (l.as_path(), LogCheck::new(&l.display().to_string())))
        .collect();
    let mut last = 0;
    // Runs on the replay's log-reading thread.
    let mut watch = |path: &Path, e: &TxnEntry<'_>| {
        if !checks.get(last).is_some_and(|(p, _)| *p == path) {
            match checks.iter().position(|(p, _)| *p == path) {
                Some(i) => last = i,
                None => return,
            }
        }
        if let Some((_, c)) = checks.get_mut(last) {
            c.entry(e);
        }
    };
    let mut replayed = None;
    let r = verify_replayed(path, log_dir, limits, &mut watch, |replay| {
        // The logs were shown to `watch` unless the newest snapshot failed to load.
        replayed = Some(replay.logs.clone()).filter(|_| replay.watched);
        let (Some(claim), Some(loaded), Some(summary), Some((header, compression))) = (
            claimed.snapshot.as_deref(),
            replay.snapshot.as_deref(),
            replay.snapshot_summary,
            replay.snapshot_file,
        ) else {
            return;
        };
        if claim == loaded {
            let facts = SnapshotFacts {
                header_version: header.map(|h| h.version),
                error: None,
                summary,
                compression,
            };
            reports.push((
                claim.to_path_buf(),
                snapshot_report(&claim.display().to_string(), claim, &facts),
            ));
        }
    });
    // A log read to its end gave every entry to its check.
    for (log, end) in replayed.into_iter().flatten() {
        let Some(end) = end else { continue };
        if let Some(i) = checks.iter().position(|(p, _)| *p == log) {
            let (_, check) = checks.swap_remove(i);
            reports.push((log.clone(), check.finish(&log, Some(end))));
        }
    }
    (r, reports)
}

fn verify_replayed(
    path: &Path,
    log_dir: Option<&Path>,
    limits: Limits,
    watch: &mut (dyn FnMut(&Path, &TxnEntry<'_>) + Send),
    mut on_replay: impl FnMut(&zkformat::tree::Replay),
) -> Report {
    let shown = match log_dir {
        Some(l) => format!("{} (logs in {})", path.display(), l.display()),
        None => path.display().to_string(),
    };
    let mut r = Report::new(&shown, "data dir");
    let mut dd = match DataDir::scan(path) {
        Ok(d) => d,
        Err(e) => {
            r.push(Finding::new(
                Severity::Unreadable,
                format!("cannot list: {e}"),
            ));
            return r;
        }
    };
    if let Some(found) = not_a_zookeeper_folder(path, &dd) {
        r.push(not_zookeeper_finding(&found, "data dir"));
        r.summary = "not a data dir".to_string();
        return r;
    }
    if let Some(l) = log_dir {
        if !use_log_dir(&mut r, &mut dd, l) {
            r.summary = "log dir not readable".to_string();
            return r;
        }
    }
    if dd.snapshots.is_empty() && dd.logs.is_empty() {
        r.push(Finding::new(
            Severity::Note,
            "no snapshot and no log: ZooKeeper would start an empty tree (writing snapshot.0)",
        ));
        r.summary = "empty".to_string();
        return r;
    }
    let replay = match zkformat::tree::replay_datadir_watching(&dd, None, limits, false, watch) {
        Ok(rp) => {
            on_replay(&rp);
            rp
        }
        Err(fe) => {
            r.push(Finding {
                severity: Severity::Problem,
                message: format!(
                    "not restorable: ZooKeeper would fail at {}: {} ({})",
                    fe.path.display(),
                    zk_error_message(&fe.error),
                    fe.error.hint()
                ),
                offset: Some(fe.error.offset()),
                zxid: fe.error.zxid(),
            });
            r.summary = "not restorable".to_string();
            return r;
        }
    };
    for rej in &replay.rejected_snapshots {
        r.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "ZooKeeper would skip {}: {}",
                rej.path.display(),
                zk_error_message(&rej.error)
            ),
            offset: Some(rej.error.offset()),
            zxid: rej.error.zxid(),
        });
    }
    let valid_by_check: Vec<&Path> = dd
        .snapshot_candidates()
        .iter()
        .map(|f| f.path.as_path())
        .collect();
    for s in &dd.snapshots {
        if !valid_by_check.contains(&s.path.as_path()) {
            r.push(Finding::new(
                Severity::Warning,
                format!(
                    "ZooKeeper would not consider {}: it fails the cheap validity check (does not end in the \"/\" seal terminator)",
                    s.path.display()
                ),
            ));
        }
    }
    if replay.snapshot.is_none() && !dd.logs.is_empty() {
        r.push(no_snapshot_finding(&dd, limits));
    }
    // Continuity of the replayed txns (the replay follows it: the logs are read once).
    if let Some((g, log)) = &replay.first_gap {
        r.push(
            Finding::new(
                Severity::Problem,
                format!(
                    "replay gap: after {} the next txn is {} in {}: {} missing",
                    g.after,
                    g.next,
                    log.display(),
                    plural(g.missing(), "txn is", "txns are")
                ),
            )
            .zxid(Some(g.next)),
        );
    }
    let logs: Vec<String> = replay
        .logs
        .iter()
        .map(|(p, _)| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let snap_name = replay
        .snapshot
        .as_ref()
        .and_then(|p| p.file_name())
        .map_or_else(
            || "the empty tree".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
    r.summary = format!(
        "restorable from {snap_name}{} to zxid {} ({} replayed, {}, {})",
        if logs.is_empty() {
            String::new()
        } else {
            format!(" + {}", logs.join(", "))
        },
        replay.tree.last_zxid,
        plural(replay.tree.stats.txns, "txn", "txns"),
        plural(replay.tree.len() as u64, "node", "nodes"),
        plural(replay.tree.sessions.len() as u64, "session", "sessions")
    );
    for l in &dd.logs {
        if !replay.logs.iter().any(|(p, _)| p == &l.path) && l.zxid() <= replay.snapshot_zxid {
            continue;
        }
        if !replay.logs.iter().any(|(p, _)| p == &l.path) {
            r.push(Finding::new(
                Severity::Note,
                format!("{} is not read by the restore", l.path.display()),
            ));
        }
    }
    // TxnDigests and the fuzzy snapshot's digest.
    let stats = replay.tree.stats;
    if replay.tree.check_digests {
        if stats.digest_mismatches > 0 {
            r.push(
                Finding::new(
                    Severity::Problem,
                    format!(
                        "{} of {} {} not match the replayed tree (first at {})",
                        stats.digest_mismatches,
                        plural(stats.digests_checked, "TxnDigest", "TxnDigests"),
                        if stats.digest_mismatches == 1 {
                            "does"
                        } else {
                            "do"
                        },
                        stats
                            .first_digest_mismatch
                            .map_or_else(|| "?".to_string(), |z| z.to_string())
                    ),
                )
                .zxid(stats.first_digest_mismatch),
            );
        } else {
            r.push(Finding::new(
                Severity::Note,
                format!(
                    "{} checked against the replayed tree: {}",
                    plural(stats.digests_checked, "TxnDigest", "TxnDigests"),
                    if stats.digests_checked == 1 {
                        "it matches"
                    } else {
                        "all match"
                    }
                ),
            ));
        }
    } else if let Some(summary) = replay.snapshot_summary {
        match summary.digest_check(Some(replay.snapshot_zxid)) {
            DigestCheck::NotComparable => {
                if let Some(d) = summary.digest {
                    check_fuzzy_digest(&mut r, &replay, d);
                }
                r.push(Finding::new(
                    Severity::Note,
                    "TxnDigests not checked: the snapshot is fuzzy, so the replayed tree is only known to be exact at its digest's zxid",
                ));
            }
            _ => r.push(Finding::new(
                Severity::Note,
                "TxnDigests not checked: the snapshot has no digest to anchor the tree",
            )),
        }
    }
    // A fifth of a 1 M-node run was freeing the tree.
    replay.tree.free_in_background();
    r
}

/// Logs but no snapshot: the normal state of a ZooKeeper 3.4 data dir before its first snapshot
/// (3.4 writes none at start-up and replays the logs from an empty tree), which 3.5.3+ refuses.
/// The data dir is judged by the version that wrote it ([`zkformat::version`]): a `warning`
/// when its files carry no mark of 3.5 or later, a `problem` otherwise (a 3.5.3+ server writes
/// `snapshot.0` before its first log, so its snapshots were lost).
fn no_snapshot_finding(dd: &DataDir, limits: Limits) -> Finding {
    use zkformat::version::{Marks, Writer};
    let marks = Marks::of_datadir(dd, limits);
    let refusal = "ZooKeeper 3.5.3+ refuses to start on it (\"No snapshot found, but there are log entries. Something is broken!\") unless started with -Dzookeeper.snapshot.trust.empty=true (3.5.6+)";
    match marks.writer() {
        Writer::NoMarkOf35 => Finding::new(
            Severity::Warning,
            format!(
                "no snapshot, only logs, and the files show no mark of ZooKeeper 3.5 or later (the layout 3.4 leaves before its first snapshot; 3.5 writes the same when none of its features is used): ZooKeeper 3.4 replays the logs from an empty tree; {refusal}; `zkfilter datadir` writes a data dir with a snapshot that every version loads"
            ),
        ),
        w => Finding::new(
            Severity::Problem,
            format!(
                "no usable snapshot but there are logs, written by ZooKeeper {} ({}): {refusal}; a 3.5.3+ server writes snapshot.0 before its first log, so snapshots are missing",
                w.describe(),
                marks.describe()
            ),
        ),
    }
}

fn check_fuzzy_digest(
    r: &mut Report,
    replay: &zkformat::tree::Replay,
    d: zkformat::snapshot::ZxidDigest,
) {
    // The replay compared the digest when its tree passed the digest's zxid (one replay for
    // both: the data dir is read once).
    match replay.fuzzy_digest {
        Some((_, stored, computed)) if computed == stored => r.push(Finding::new(
            Severity::Note,
            format!(
                "fuzzy snapshot digest checked by replaying to {}: matches",
                d.zxid
            ),
        )),
        Some((_, stored, computed)) => r.push(
            Finding::new(
                Severity::Problem,
                format!(
                    "fuzzy snapshot digest: replaying to {} gives {}, the snapshot stores {}",
                    d.zxid,
                    hex64(computed),
                    hex64(stored)
                ),
            )
            .zxid(Some(d.zxid)),
        ),
        None => r.push(Finding::new(
            Severity::Warning,
            format!(
                "fuzzy snapshot digest at {} not checked: the logs reach only {}",
                d.zxid, replay.tree.last_zxid
            ),
        )),
    }
}

/// What to verify: the files of every argument (data dirs expanded) and the data dirs.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Files, in argument order.
    pub files: Vec<PathBuf>,
    /// Data dirs, in argument order.
    pub dirs: Vec<PathBuf>,
    /// Arguments that do not exist.
    pub missing: Vec<String>,
    /// The logs' folder of the (single) data dir, from `--log-dir`.
    pub log_dir: Option<PathBuf>,
}

/// The logs and snapshots of a folder, sorted by path.
fn files_of(path: &Path) -> Vec<PathBuf> {
    match DataDir::scan(path) {
        Ok(dd) => {
            let mut files: Vec<PathBuf> = dd.logs.iter().map(|f| f.path.clone()).collect();
            files.extend(dd.snapshots.iter().rev().map(|f| f.path.clone()));
            files.sort();
            files
        }
        Err(_) => Vec::new(),
    }
}

/// Expands the arguments.
pub fn plan(paths: &[String]) -> Plan {
    let mut p = Plan::default();
    for a in paths {
        let path = PathBuf::from(a);
        if path.is_dir() {
            p.files.extend(files_of(&path));
            p.dirs.push(path);
        } else if path.exists() {
            p.files.push(path);
        } else {
            p.missing.push(a.clone());
        }
    }
    p
}

/// Expands the arguments with `--log-dir DIR`: a single data dir whose logs are in `DIR` (its
/// `version-2` or the folder holding it), as a server with a separate `dataLogDir` keeps them.
///
/// # Errors
/// More than one path, a path that is not a folder, a log dir that is not a folder.
pub fn plan_with_log_dir(paths: &[String], log_dir: &str) -> Result<Plan, CliError> {
    let usage = |m: String| {
        let mut e = CliError::msg(m);
        e.hint = Some("zkdump verify DATADIR --log-dir LOGDIR: the server's dataDir (snapshots) and its dataLogDir (txn logs); verify other inputs in a separate run".into());
        e
    };
    let [one] = paths else {
        return Err(usage(format!(
            "--log-dir applies to one data dir, and {} paths were given",
            paths.len()
        )));
    };
    let path = PathBuf::from(one);
    if !path.is_dir() {
        return Err(usage(format!(
            "--log-dir applies to a data dir, and {one} is not a data dir ({})",
            if path.exists() {
                "a file"
            } else {
                "no such file or directory"
            }
        )));
    }
    let logs = PathBuf::from(log_dir);
    if !logs.is_dir() {
        return Err(usage(format!(
            "--log-dir {log_dir}: {}",
            if logs.exists() {
                "a file, not a folder"
            } else {
                "no such folder"
            }
        )));
    }
    let mut p = Plan::default();
    p.files.extend(files_of(&path));
    for f in files_of(&logs) {
        if !p.files.contains(&f) {
            p.files.push(f);
        }
    }
    p.dirs.push(path);
    p.log_dir = Some(logs);
    Ok(p)
}

/// Runs verification and renders the reports. Returns the exit code.
///
/// # Errors
/// A `--log-dir` that cannot apply (see [`plan_with_log_dir`]); output errors.
pub fn run(
    paths: &[String],
    log_dir: Option<&str>,
    limits: Limits,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    // Standard input and archives are read through temporary copies; messages name the
    // arguments the user gave.
    if paths.iter().filter(|p| p.as_str() == "-").count() > 1 {
        return Err(CliError::msg(
            "standard input (-) is named twice; it can be read only once",
        ));
    }
    let mut opened = Vec::with_capacity(paths.len());
    for p in paths {
        opened.push(crate::inputs::materialize(p)?);
    }
    let mut renames: Vec<(PathBuf, String)> = Vec::new();
    let mapped: Vec<String> = paths
        .iter()
        .zip(&opened)
        .map(|(arg, m)| {
            let (path, temp) = m.path(arg);
            if let Some(t) = temp {
                renames.push((t.to_path_buf(), arg.clone()));
            }
            path.display().to_string()
        })
        .collect();
    let plan = match log_dir {
        Some(l) => plan_with_log_dir(&mapped, l)?,
        None => plan(&mapped),
    };
    // Each data dir's replay checks the snapshot it loads (that file is read once) and runs
    // beside the other files' checks, which share the other cores; the largest files start
    // first so no core waits on one big file at the end.
    let reads: Vec<Claims> = plan
        .dirs
        .iter()
        .map(|d| Claims::of(d, plan.log_dir.as_deref()))
        .collect();
    // A file is claimed when it is named once and only one data dir reads it.
    let claims: Vec<Claims> = reads
        .iter()
        .map(|c| {
            c.clone().retain(|f| {
                plan.files.iter().filter(|p| p.as_path() == f).count() == 1
                    && reads.iter().filter(|o| o.contains(f)).count() == 1
            })
        })
        .collect();
    let others: Vec<PathBuf> = plan
        .files
        .iter()
        .filter(|f| !claims.iter().any(|c| c.contains(f)))
        .cloned()
        .collect();
    // The replays run on this thread, one data dir after another (each loads on two threads
    // and reads its logs ahead on a third), while the pool checks the other files. On the main
    // thread the loader's many small allocations come from glibc's main heap, which grows by
    // 128 KiB steps; a pool thread's heap grows page by page, one mprotect call each (70,000
    // for a 1 M-node snapshot).
    let (other_reports, dir_results) = std::thread::scope(|s| {
        let files = s.spawn(|| {
            if plan.dirs.is_empty() {
                return verify_files_largest_first(&others, limits);
            }
            // A replay keeps two cores busy; the files get the others (at least one), and no
            // more of their mapped snapshots are resident at once.
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            match rayon::ThreadPoolBuilder::new()
                .num_threads(cores.saturating_sub(2).max(1))
                .build()
            {
                Ok(pool) => pool.install(|| verify_files_largest_first(&others, limits)),
                Err(_) => verify_files_largest_first(&others, limits),
            }
        });
        let dirs: Vec<(Report, Vec<(PathBuf, Report)>)> = plan
            .dirs
            .iter()
            .zip(&claims)
            .map(|(d, c)| verify_datadir_claiming(d, plan.log_dir.as_deref(), c, limits))
            .collect();
        let files = files
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (files, dirs)
    });
    // The files' reports in the plan's order; a claimed file that its replay did not read whole
    // (ZooKeeper would skip it, or the replay stopped before its end) is checked here.
    let mut other_reports = other_reports.into_iter();
    let mut dir_reports = Vec::with_capacity(dir_results.len());
    let mut claimed: Vec<(PathBuf, Report)> = Vec::new();
    for (r, c) in dir_results {
        dir_reports.push(r);
        claimed.extend(c);
    }
    let mut reports: Vec<Report> = Vec::with_capacity(plan.files.len());
    for f in &plan.files {
        if claims.iter().any(|c| c.contains(f)) {
            match claimed.iter().position(|(p, _)| p == f) {
                Some(i) => reports.push(claimed.swap_remove(i).1),
                None => reports.push(verify_file(f, limits)),
            }
        } else {
            reports.extend(other_reports.next());
        }
    }
    // An archive of a split data dir (dataDir and dataLogDir side by side) says so.
    let notes: Vec<(String, String)> = mapped
        .iter()
        .zip(&opened)
        .filter_map(|(path, m)| Some((path.clone(), m.note()?)))
        .collect();
    for (dir, r) in plan.dirs.iter().zip(&mut dir_reports) {
        let dir = dir.display().to_string();
        if let Some((_, note)) = notes.iter().find(|(p, _)| *p == dir) {
            r.findings
                .insert(0, Finding::new(Severity::Note, note.clone()));
        }
    }
    for m in &plan.missing {
        let mut r = Report::new(m, "file");
        r.push(Finding::new(
            Severity::Unreadable,
            "no such file or directory",
        ));
        reports.push(r);
    }
    reports.extend(dir_reports);
    for r in &mut reports {
        for (temp, arg) in &renames {
            r.path = crate::inputs::show_as(&r.path, Some(temp), arg);
            for f in &mut r.findings {
                f.message = crate::inputs::show_as(&f.message, Some(temp), arg);
            }
        }
    }
    drop(opened);
    render(&reports, json, out).map_err(output_error)?;
    let worst = reports.iter().filter_map(Report::worst).min();
    Ok(match worst {
        None => EXIT_OK,
        Some(Severity::Unreadable) => EXIT_ERROR,
        Some(_) => EXIT_PROBLEMS,
    })
}

/// Renders reports as text or JSON Lines.
///
/// # Errors
/// Output errors.
pub fn render(reports: &[Report], json: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut problems = 0usize;
    for r in reports {
        problems += r
            .findings
            .iter()
            .filter(|f| f.severity <= Severity::Problem)
            .count();
        if json {
            for f in &r.findings {
                let mut o = Obj::kind("finding");
                o.str("file", &r.path)
                    .str("severity", f.severity.name())
                    .str("message", &f.message)
                    .opt_int("offset", f.offset.map(|v| v as i64))
                    .opt_str("zxid", f.zxid.map(|z| hex64(z.0)).as_deref());
                o.line(out)?;
            }
            let mut o = Obj::kind("verified");
            o.str("file", &r.path)
                .str("what", &r.what)
                .str("status", r.status())
                .str("summary", &r.summary)
                .int(
                    "problems",
                    r.findings
                        .iter()
                        .filter(|f| f.severity <= Severity::Problem)
                        .count() as u64,
                );
            o.line(out)?;
        } else {
            writeln!(
                out,
                "{}: {} [{}] {}",
                r.path,
                r.what,
                r.status().to_uppercase(),
                r.summary
            )?;
            for f in &r.findings {
                let mut loc = Vec::new();
                if let Some(o) = f.offset {
                    loc.push(format!("offset {o}"));
                }
                if let Some(z) = f.zxid {
                    loc.push(format!("zxid {z}"));
                }
                let loc = if loc.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", loc.join(", "))
                };
                writeln!(out, "  {}{loc}: {}", f.severity.name(), f.message)?;
            }
        }
    }
    if !json {
        writeln!(
            out,
            "{} verified, {}.",
            plural(reports.len() as u64, "input", "inputs"),
            plural(problems as u64, "problem", "problems")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(case: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata")
            .join(case)
    }

    fn json(r: &Report) -> String {
        let mut out = Vec::new();
        render(std::slice::from_ref(r), true, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    /// `verify --json DIR`: the exit code and the output.
    fn run_json(dir: &Path) -> (u8, String) {
        let mut out = Vec::new();
        let code = run(
            &[dir.display().to_string()],
            None,
            Limits::default(),
            true,
            &mut out,
        )
        .expect("run");
        (code, String::from_utf8(out).expect("utf-8"))
    }

    /// A copy of a data dir's version-2, with the files `keep` allows.
    fn copy(case: &str, to: &Path, keep: impl Fn(&str) -> bool) -> PathBuf {
        let v2 = to.join("version-2");
        std::fs::create_dir_all(&v2).expect("mkdir");
        for f in std::fs::read_dir(testdata(case).join("version-2")).expect("read_dir") {
            let f = f.expect("entry").path();
            let name = f.file_name().expect("name").to_string_lossy().into_owned();
            if keep(&name) {
                std::fs::copy(&f, v2.join(&name)).expect("copy");
            }
        }
        to.to_path_buf()
    }

    /// The logs a replay reads are claimed, and the replay's reports on them are exactly the
    /// reports of a separate read: logs read whole, logs read from before the snapshot's zxid,
    /// and every log of a data dir without a snapshot.
    #[test]
    fn the_replay_reports_on_the_logs_it_reads_as_a_separate_read_does() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let no_snapshot = copy("zk-3.4/multi", &tmp.path().join("logs-only"), |n| {
            n.starts_with("log.")
        });
        let mut dirs: Vec<PathBuf> = [
            "zk-3.9/basic",
            "zk-3.9/fuzzy",
            "zk-3.8/compressed-gz",
            "zk-3.4/multi",
            "zk-3.9/reconfig",
        ]
        .iter()
        .map(|c| testdata(c))
        .collect();
        dirs.push(no_snapshot);
        for dir in dirs {
            let claims = Claims::of(&dir, None);
            assert!(!claims.logs.is_empty(), "{}", dir.display());
            let (dir_report, reports) =
                verify_datadir_claiming(&dir, None, &claims, Limits::default());
            assert_ne!(dir_report.status(), "unreadable", "{}", json(&dir_report));
            for log in &claims.logs {
                let from_replay = reports
                    .iter()
                    .find(|(p, _)| p == log)
                    .unwrap_or_else(|| panic!("no report from the replay on {}", log.display()));
                assert_eq!(
                    json(&from_replay.1),
                    json(&verify_file(log, Limits::default()))
                );
            }
        }
    }

    /// A log the replay cannot read to its end (a bad checksum stops it) gets no report from the
    /// replay: `run` checks that file on its own.
    #[test]
    fn a_log_the_replay_stops_in_is_left_to_a_separate_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = copy("zk-3.9/basic", tmp.path(), |_| true);
        let claims = Claims::of(&dir, None);
        let last = claims
            .logs
            .last()
            .expect("a log after the snapshot")
            .clone();
        let mut bytes = std::fs::read(&last).expect("read");
        // Inside the first entry's payload (16-byte file header, then checksum and length).
        bytes[16 + 12 + 20] ^= 0xff;
        std::fs::write(&last, bytes).expect("write");
        let (dir_report, reports) = verify_datadir_claiming(&dir, None, &claims, Limits::default());
        assert_eq!(dir_report.status(), "problems", "{}", json(&dir_report));
        assert!(reports.iter().all(|(p, _)| *p != last), "{reports:?}");
        let (code, out) = run_json(&dir);
        assert_eq!(code, EXIT_PROBLEMS);
        let alone = json(&verify_file(&last, Limits::default()));
        assert!(alone.contains("checksum error"), "{alone}");
        assert!(out.contains(alone.trim_end()));
    }

    /// When the newest snapshot does not load, the replay reads the logs after an older one
    /// without showing them: no log report comes from it, and `run` reads each log on its own.
    #[test]
    fn logs_replayed_after_an_older_snapshot_are_read_on_their_own() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = copy("zk-3.9/basic", tmp.path(), |_| true);
        let claims = Claims::of(&dir, None);
        let newest = claims.snapshot.clone().expect("a snapshot");
        let mut bytes = std::fs::read(&newest).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&newest, bytes).expect("write");
        let (dir_report, reports) = verify_datadir_claiming(&dir, None, &claims, Limits::default());
        assert!(
            json(&dir_report).contains("ZooKeeper would skip"),
            "{}",
            json(&dir_report)
        );
        assert!(reports.is_empty(), "{reports:?}");
        let (_, out) = run_json(&dir);
        for log in &claims.logs {
            let alone = json(&verify_file(log, Limits::default()));
            assert!(out.contains(alone.trim_end()), "{alone} not in {out}");
        }
    }
}
