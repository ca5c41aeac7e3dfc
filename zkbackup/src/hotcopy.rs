//! Hot copies of a running server's data dir: the newest complete snapshot, every log from the
//! one holding its zxid on, each log up to its last complete, checksum-valid entry, checked while
//! copying (checksums, seals, the snapshot digest, zxid continuity), into a tar archive with a
//! `version-2/` folder that `zkfilter datadir` reads as it is.
//!
//! Safe against a live server: ZooKeeper writes snapshots in place under their final name (one
//! still being written fails ZooKeeper's own checks and is passed over here as ZooKeeper would);
//! logs only grow (the copy stops at the last entry that checks, zero padding is not stored);
//! autopurge may remove files, so every chosen file is opened right after the listing (an open
//! file stays readable after it is removed) and a file gone before that restarts the plan from a
//! fresh listing.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zkformat::datadir::{looks_valid, DataDir, DataFile};
use zkformat::sessions::SessionTracker;
use zkformat::snapshot::{DigestCheck, SnapshotReader};
use zkformat::txnlog::LogReader;
use zkformat::version::Marks;
use zkformat::zxid::{Continuity, Step};
use zkformat::{Limits, Zxid};

use crate::manifest::FileEntry;

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read limits (`jute.maxbuffer`).
    pub limits: Limits,
    /// Test hook: a pause after the listing and between files (`ZKBACKUP_TEST_PAUSE_MS`).
    pub pause: Option<Duration>,
    /// How many times a plan is made again when a file disappears before it is opened.
    pub attempts: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limits: Limits::default(),
            pause: None,
            attempts: 5,
        }
    }
}

/// Why a copy failed.
#[derive(Debug)]
pub enum CopyError {
    /// The source is not a usable data dir, or a file in it is damaged: nothing to store.
    Source(String),
    /// Writing the archive failed.
    Output(io::Error),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Source(m) => f.write_str(m),
            CopyError::Output(e) => write!(f, "writing the archive: {e}"),
        }
    }
}

impl std::error::Error for CopyError {}

/// What a copy holds.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// The snapshot, as named in the archive (`version-2/snapshot.1a`).
    pub snapshot: String,
    /// Its zxid.
    pub snapshot_zxid: Zxid,
    /// Its format (`3.4/3.5`, `3.6-3.8`, `3.9`).
    pub snapshot_format: String,
    /// The release line the files show.
    pub zookeeper_version: String,
    /// The last txn copied (the snapshot's zxid when no txn follows it).
    pub last_zxid: Zxid,
    /// Where the copy is known exact, when that is before the snapshot's zxid (an admin
    /// snapshot of a ZooKeeper that fast-forwards it); `None`: from the snapshot's zxid.
    pub exact_to: Option<Zxid>,
    /// Time of the first txn after the snapshot.
    pub first_txn_time: Option<i64>,
    /// Time of the last txn copied.
    pub last_txn_time: Option<i64>,
    /// Txns after the snapshot.
    pub txns: u64,
    /// The files in archive order, with sizes and SHA-256.
    pub files: Vec<FileEntry>,
    /// What was passed over or noticed.
    pub notes: Vec<String>,
    /// Sessions and ephemerals at the last zxid.
    pub tracker: SessionTracker,
    /// Zxids missing after the snapshot (the backup cannot be called ready).
    pub gaps: Vec<String>,
}

/// A file chosen for the copy, opened.
#[derive(Debug)]
struct Chosen {
    name: String,
    file: fs::File,
    len: u64,
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn open_chosen(f: &DataFile) -> Result<fs::File, Option<String>> {
    match fs::File::open(&f.path) {
        Ok(file) => Ok(file),
        // Removed (autopurge) between the listing and now: plan again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(None),
        Err(e) => Err(Some(format!("{}: {e}", f.path.display()))),
    }
}

/// Scans a data dir (and its separate log dir) the way ZooKeeper would restore it.
fn scan(dir: &Path, log_dir: Option<&Path>) -> Result<DataDir, CopyError> {
    let mut dd =
        DataDir::scan(dir).map_err(|e| CopyError::Source(format!("{}: {e}", dir.display())))?;
    if let Some(ld) = log_dir {
        let logs =
            DataDir::scan(ld).map_err(|e| CopyError::Source(format!("{}: {e}", ld.display())))?;
        if !dd.logs.is_empty() {
            return Err(CopyError::Source(format!(
                "{} holds txn logs too, while --log-dir names the logs' folder (ZooKeeper refuses such a layout)",
                dd.dir.display()
            )));
        }
        dd.logs = logs.logs;
    }
    if dd.snapshots.is_empty() && dd.logs.is_empty() {
        return Err(CopyError::Source(format!(
            "{}: {}; expected a ZooKeeper data dir (holding version-2/ with log.* and snapshot.* files)",
            dir.display(),
            zkfilter::inputs::describe_folder(&dd.dir)
        )));
    }
    Ok(dd)
}

/// Checks that `dir` (and `log_dir`) hold a ZooKeeper data dir, before anything is stored.
///
/// # Errors
/// What was found instead.
pub fn check_source(dir: &Path, log_dir: Option<&Path>) -> Result<(), String> {
    scan(dir, log_dir).map(drop).map_err(|e| e.to_string())
}

/// The plan of one attempt: the snapshot and logs, opened and checked.
struct Plan {
    chosen: Vec<Chosen>,
    epochs: Vec<(String, Vec<u8>)>,
    copied: Copied,
}

/// Makes a plan; `Ok(None)` when a file vanished before it could be opened (plan again).
fn plan(dd: &DataDir, opts: &Options) -> Result<Option<Plan>, CopyError> {
    let mut copied = Copied::default();
    let mut marks = Marks::default();
    // Open everything first: once open, autopurge cannot take a file away.
    let mut snapshot: Option<(DataFile, fs::File)> = None;
    let mut tracker = SessionTracker::default();
    for cand in &dd.snapshots {
        let name = name_of(&cand.path);
        // Removed since the listing (autopurge): plan again from a fresh listing.
        if !cand.path.exists() {
            return Ok(None);
        }
        if !looks_valid(cand).unwrap_or(false) {
            if !cand.path.exists() {
                return Ok(None);
            }
            copied.notes.push(format!(
                "{name} passed over: incomplete (being written, or damaged), as ZooKeeper would pass it over"
            ));
            continue;
        }
        let file = match open_chosen(cand) {
            Ok(f) => f,
            Err(None) => return Ok(None),
            Err(Some(m)) => return Err(CopyError::Source(m)),
        };
        // Read it whole: seals, digest, sessions and ephemerals.
        let mut t = SessionTracker::default();
        let result = (|| -> zkformat::Result<zkformat::snapshot::SnapshotSummary> {
            let mut r =
                SnapshotReader::open(io::BufReader::with_capacity(1 << 20, &file), opts.limits)?;
            while let Some(item) = r.next_item()? {
                t.see_item(&item.value);
                if let zkformat::snapshot::SnapshotItem::Node(n) = &item.value {
                    marks.see_node_path(n.path);
                }
            }
            Ok(r.summary())
        })();
        match result {
            Ok(summary)
                if matches!(
                    summary.digest_check(Some(cand.zxid())),
                    DigestCheck::Mismatch { .. }
                ) =>
            {
                copied.notes.push(format!(
                    "{name} passed over: its digest does not match its tree"
                ));
            }
            Ok(summary) => {
                marks.see_snapshot_tail(summary.tail);
                copied.snapshot_format = match (summary.tail.digest, summary.tail.last_zxid) {
                    (false, false) => "3.4/3.5 (or 3.6+ with digests off)",
                    (true, false) => "3.6-3.8",
                    (true, true) => "3.9",
                    (false, true) => "3.9 with digests off",
                }
                .to_string();
                tracker = t;
                snapshot = Some((cand.clone(), file));
                break;
            }
            Err(e) => copied.notes.push(format!(
                "{name} passed over: {e}, as ZooKeeper would pass it over"
            )),
        }
    }
    let Some((snap, snap_file)) = snapshot else {
        return Err(CopyError::Source(format!(
            "{}: no complete snapshot ({}); a backup needs one to start from",
            dd.dir.display(),
            if dd.snapshots.is_empty() {
                "there is none".to_string()
            } else {
                copied.notes.join("; ")
            }
        )));
    };
    let snap_zxid = snap.zxid();
    let logs = dd.logs_after(snap_zxid);
    let mut opened = Vec::new();
    for l in &logs {
        match open_chosen(l) {
            Ok(f) => opened.push((*l, f)),
            Err(None) => return Ok(None),
            Err(Some(m)) => return Err(CopyError::Source(m)),
        }
    }
    let mut epochs = Vec::new();
    for (file, content) in [
        ("acceptedEpoch", &dd.accepted_epoch),
        ("currentEpoch", &dd.current_epoch),
    ] {
        if let Some(c) = content {
            epochs.push((file.to_string(), c.as_bytes().to_vec()));
        }
    }
    let mut chosen = vec![Chosen {
        name: name_of(&snap.path),
        len: snap_file
            .metadata()
            .map_err(|e| CopyError::Source(format!("{}: {e}", snap.path.display())))?
            .len(),
        file: snap_file,
    }];
    copied.snapshot = format!("version-2/{}", name_of(&snap.path));
    copied.snapshot_zxid = snap_zxid;
    copied.last_zxid = snap_zxid;
    // Each log up to its last complete entry, checked; zxids followed from the snapshot on.
    let mut cont = Continuity::after(snap_zxid);
    let last_index = opened.len().saturating_sub(1);
    for (i, (df, file)) in opened.into_iter().enumerate() {
        let len = scan_log(
            df,
            &file,
            i == last_index,
            snap_zxid,
            &mut cont,
            &mut tracker,
            &mut marks,
            &mut copied,
            opts,
        )?;
        chosen.push(Chosen {
            name: name_of(&df.path),
            file,
            len,
        });
    }
    copied.zookeeper_version = marks.writer().describe().to_string();
    copied.tracker = tracker;
    Ok(Some(Plan {
        chosen,
        epochs,
        copied,
    }))
}

/// Reads a log, checking every entry, and returns how many bytes hold complete entries.
#[allow(clippy::too_many_arguments)]
fn scan_log(
    df: &DataFile,
    file: &fs::File,
    is_last: bool,
    snap_zxid: Zxid,
    cont: &mut Continuity,
    tracker: &mut SessionTracker,
    marks: &mut Marks,
    copied: &mut Copied,
    opts: &Options,
) -> Result<u64, CopyError> {
    let name = name_of(&df.path);
    // The live log may hold an entry being written at its end: read it again a few times
    // before calling it the end of what can be copied.
    let mut tries = 0;
    loop {
        let mut fh = file;
        fh.seek(SeekFrom::Start(0))
            .map_err(|e| CopyError::Source(format!("{}: {e}", df.path.display())))?;
        let mut c2 = *cont;
        let mut t2 = tracker.clone();
        let mut m2 = *marks;
        let mut txns = 0u64;
        let (mut first_t, mut last_t, mut last_z) = (
            copied.first_txn_time,
            copied.last_txn_time,
            copied.last_zxid,
        );
        let mut gaps = Vec::new();
        let mut notes = Vec::new();
        let outcome = (|| -> zkformat::Result<u64> {
            let mut r = LogReader::new(io::BufReader::with_capacity(1 << 20, fh), opts.limits)?;
            while let Some(e) = r.next_entry()? {
                let z = e.zxid();
                m2.see_entry(&e);
                if z <= snap_zxid {
                    continue;
                }
                match c2.next(z) {
                    Step::Ok => {}
                    Step::Gap(g) => gaps.push(format!(
                        "zxids {} missing before {z} in {name}",
                        g.describe()
                    )),
                    Step::Backwards { previous } => gaps.push(format!(
                        "zxid {z} in {name} is not above the previous txn {previous}"
                    )),
                }
                let rec = e.record()?;
                t2.see_txn(&rec);
                txns += 1;
                first_t.get_or_insert(rec.header.time);
                last_t = Some(rec.header.time);
                last_z = z;
            }
            let end = r.end().map_or(0, |e| e.offset);
            if let Some(end_info) = r.end().filter(|e| !e.is_clean() && !is_last) {
                // A closed log that ends torn: ZooKeeper ends it there too.
                notes.push(format!("{name} ends with a {}", end_info.describe()));
            }
            Ok(end)
        })();
        match outcome {
            Ok(len) => {
                *cont = c2;
                *tracker = t2;
                *marks = m2;
                copied.txns += txns;
                copied.first_txn_time = first_t;
                copied.last_txn_time = last_t;
                copied.last_zxid = last_z;
                copied.gaps.extend(gaps);
                copied.notes.extend(notes);
                return Ok(len);
            }
            Err(e) if is_last && tries < 5 => {
                // Possibly the entry the server is writing right now.
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
                if tries == 5 {
                    return Err(CopyError::Source(format!(
                        "{}: {e} (read 5 times over half a second: not an entry being written)",
                        df.path.display()
                    )));
                }
            }
            Err(e) => {
                return Err(CopyError::Source(format!("{}: {e}", df.path.display())));
            }
        }
    }
}

/// Copies the chosen files into `out` as a tar archive (`version-2/…`), hashing each.
fn write_archive(plan: &mut Plan, out: &mut dyn Write, opts: &Options) -> Result<(), CopyError> {
    let mut ar = tar::Builder::new(out);
    let mtime = crate::catalog::now_ms() / 1000;
    for c in &mut plan.chosen {
        if let Some(p) = opts.pause {
            std::thread::sleep(p);
        }
        c.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| CopyError::Source(format!("{}: {e}", c.name)))?;
        let mut hashing = HashingReader {
            inner: (&c.file).take(c.len),
            hash: Sha256::new(),
            n: 0,
        };
        let name = format!("version-2/{}", c.name);
        let mut h = tar::Header::new_gnu();
        h.set_size(c.len);
        h.set_mode(0o644);
        h.set_mtime(mtime.max(0) as u64);
        h.set_entry_type(tar::EntryType::Regular);
        ar.append_data(&mut h, &name, &mut hashing)
            .map_err(CopyError::Output)?;
        if hashing.n != c.len {
            return Err(CopyError::Source(format!(
                "{}: {} bytes read where {} were checked (the file shrank while being copied)",
                c.name, hashing.n, c.len
            )));
        }
        plan.copied.files.push(FileEntry {
            name,
            size: c.len,
            sha256: hex(&hashing.hash.finalize()),
        });
    }
    for (file, content) in &plan.epochs {
        let name = format!("version-2/{file}");
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(mtime.max(0) as u64);
        ar.append_data(&mut h, &name, &content[..])
            .map_err(CopyError::Output)?;
        plan.copied.files.push(FileEntry {
            name,
            size: content.len() as u64,
            sha256: hex(&Sha256::digest(content)),
        });
    }
    ar.finish().map_err(CopyError::Output)?;
    Ok(())
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
    n: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or(&[]));
        self.n += n as u64;
        Ok(n)
    }
}

/// Copies a live data dir into `out` (a tar stream). Plans again when autopurge removed a chosen
/// file before it was opened.
///
/// # Errors
/// [`CopyError::Source`] when the data dir cannot give a backup; [`CopyError::Output`] when
/// `out` fails.
pub fn copy_datadir(
    dir: &Path,
    log_dir: Option<&Path>,
    out: &mut dyn Write,
    opts: &Options,
) -> Result<Copied, CopyError> {
    let mut retried = Vec::new();
    for attempt in 0..opts.attempts.max(1) {
        let dd = scan(dir, log_dir)?;
        if let Some(p) = opts.pause {
            std::thread::sleep(p);
        }
        match plan(&dd, opts)? {
            Some(mut plan) => {
                if attempt > 0 {
                    plan.copied.notes.push(format!(
                        "{} removed (autopurge?) between the listing and the copy: planned again from a fresh listing ({} {})",
                        retried.join(", "),
                        attempt + 1,
                        if attempt == 0 { "attempt" } else { "attempts" }
                    ));
                }
                write_archive(&mut plan, out, opts)?;
                return Ok(plan.copied);
            }
            None => retried.push(format!("a file of {}", dd.dir.display())),
        }
    }
    Err(CopyError::Source(format!(
        "{}: files kept disappearing before they could be opened ({} attempts); is autopurge running with a very short interval?",
        dir.display(),
        opts.attempts
    )))
}

/// The data dir and log dir a `zoo.cfg` names (`dataDir`, `dataLogDir`).
///
/// # Errors
/// An unreadable file or no `dataDir`.
pub fn dirs_from_config(cfg: &Path) -> Result<(PathBuf, Option<PathBuf>), String> {
    let text = fs::read_to_string(cfg).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let mut data = None;
    let mut log = None;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            match k.trim() {
                "dataDir" => data = Some(PathBuf::from(v.trim())),
                "dataLogDir" => log = Some(PathBuf::from(v.trim())),
                _ => {}
            }
        }
    }
    let data = data.ok_or_else(|| format!("{}: no dataDir= line", cfg.display()))?;
    Ok((data, log))
}
