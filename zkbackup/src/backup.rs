//! `create`: one backup from a live data dir or a 3.9 admin server into the catalog, and
//! `verify`: the stored bytes read back and checked.
//!
//! A backup is written in this order: the lease (create-if-absent: the ID is new), the archive
//! (streamed through gzip and SHA-256 into the store, while a helper thread renews the lease),
//! the manifest (create-if-absent) saying ready, or error with the reason. The source is checked
//! before the lease is written, so a wrong path, a wrong password or a rate limit stores nothing.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zkformat::sessions::SessionTracker;
use zkformat::snapshot::{DigestCheck, SnapshotReader};

use crate::admin::{self, Auth};
use crate::catalog::{self, now_ms, rfc3339, Catalog, CatalogError};
use crate::crypt::{Identities, Recipients};
use crate::hotcopy::{self, hex, Copied, CopyError};
use crate::manifest::{Archive, EphemeralParent, Lease, Manifest, Source, Status};
use crate::pipe;
use crate::store::Store;

/// The archive, through age when encrypting.
enum Layer<W: Write> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Write for Layer<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Layer::Plain(w) => w.write(b),
            Layer::Age(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Layer::Plain(w) => w.flush(),
            Layer::Age(w) => w.flush(),
        }
    }
}

impl<W: Write> Layer<W> {
    fn finish(self) -> io::Result<W> {
        match self {
            Layer::Plain(mut w) => w.flush().map(|()| w),
            Layer::Age(w) => w.finish(),
        }
    }
}

/// The gzip layer: deflate at a level, or stored blocks at memory speed (level 0).
enum Gz<W: Write> {
    Deflate(flate2::write::GzEncoder<W>),
    Stored(crate::gzip_stored::StoredGz<W>),
}

impl<W: Write> Write for Gz<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Gz::Deflate(w) => w.write(b),
            Gz::Stored(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Gz::Deflate(w) => w.flush(),
            Gz::Stored(w) => w.flush(),
        }
    }
}

impl<W: Write> Gz<W> {
    fn finish(self) -> io::Result<W> {
        match self {
            Gz::Deflate(w) => w.finish(),
            Gz::Stored(w) => w.finish(),
        }
    }
}

/// The key of the encrypted details of a backup.
pub const DETAILS: &str = "details.json.age";

/// Where a backup comes from.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A data dir of a (running) server, and its separate log dir.
    DataDir {
        /// `dataDir` (or its `version-2`).
        dir: PathBuf,
        /// `dataLogDir`, when separate.
        log_dir: Option<PathBuf>,
    },
    /// ZooKeeper 3.9's admin server.
    Admin {
        /// `http://host:port` (or the snapshot command's URL).
        url: String,
        /// Credentials.
        auth: Option<Auth>,
    },
}

/// A `create` request.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The label.
    pub label: String,
    /// The source.
    pub source: SourceSpec,
    /// How long a writer is taken to be alive without renewing its lease.
    pub lease: Duration,
    /// Copy options.
    pub options: hotcopy::Options,
    /// Encrypt the archive and the details to these (none: not encrypted).
    pub recipients: Recipients,
    /// gzip level of the archive: 0 (stored, as fast as a copy; the CLI's default) to 9.
    pub gzip_level: u32,
}

/// Why `create` failed.
#[derive(Debug)]
pub enum CreateError {
    /// Nothing was stored: a bad label, an unusable source, a store refusing the first write.
    NothingStored(String),
    /// A backup was recorded as failed (its manifest says why).
    Failed(Box<Manifest>),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::NothingStored(m) => f.write_str(m),
            CreateError::Failed(m) => write!(
                f,
                "backup {} failed: {}",
                m.id,
                m.error.as_deref().unwrap_or("unknown reason")
            ),
        }
    }
}

impl std::error::Error for CreateError {}

fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A writer that hashes and counts what passes.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(buf.get(..n).unwrap_or(&[]));
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Counts the bytes the store takes, and reports them twice a second.
struct Counting<'a, R> {
    inner: R,
    n: u64,
    last: std::time::Instant,
    progress: &'a dyn Fn(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        if self.last.elapsed() >= Duration::from_millis(500) {
            self.last = std::time::Instant::now();
            (self.progress)(self.n);
        }
        Ok(k)
    }
}

/// A snapshot downloaded from an admin server, checked, in a temporary file.
struct AdminSnapshot {
    file: tempfile::NamedTempFile,
    name: String,
    copied: Copied,
}

fn fetch_admin(
    url: &str,
    auth: Option<&Auth>,
    opts: &hotcopy::Options,
) -> Result<AdminSnapshot, String> {
    let mut file = tempfile::Builder::new()
        .prefix("zkbackup-admin-")
        .tempfile()
        .map_err(|e| format!("temporary file: {e}"))?;
    // Asked first: every txn up to its last processed zxid is in the live database before the
    // snapshot command starts (3.9.0 to 3.9.3 may then write some nodes as they were before
    // the snapshot's own zxid; see admin::snapshot_fast_forwards).
    let facts = admin::server_facts(url, auth)?;
    let fetched = {
        let mut w = io::BufWriter::new(file.as_file_mut());
        let f = admin::fetch_snapshot(url, auth, &mut w)?;
        w.flush().map_err(|e| format!("temporary file: {e}"))?;
        f
    };
    let suffix = admin::snapshot_suffix(file.path());
    let name = format!("snapshot.{:x}{suffix}", fetched.last_zxid.0);
    let mut tracker = SessionTracker::default();
    let mut marks = zkformat::version::Marks::default();
    let summary = (|| -> zkformat::Result<zkformat::snapshot::SnapshotSummary> {
        let f = fs::File::open(file.path()).map_err(|e| zkformat::Error::io(&e, 0))?;
        let mut r = SnapshotReader::open(io::BufReader::with_capacity(1 << 20, f), opts.limits)?;
        while let Some(item) = r.next_item()? {
            tracker.see_item(&item.value);
            if let zkformat::snapshot::SnapshotItem::Node(n) = &item.value {
                marks.see_node_path(n.path);
            }
        }
        Ok(r.summary())
    })()
    .map_err(|e| {
        format!(
            "{}: the snapshot received does not check: {e}",
            admin::public_url(url)
        )
    })?;
    if matches!(
        summary.digest_check(Some(fetched.last_zxid)),
        DigestCheck::Mismatch { .. }
    ) {
        return Err(format!(
            "{}: the snapshot received has a digest that does not match its tree",
            admin::public_url(url)
        ));
    }
    marks.see_snapshot_tail(summary.tail);
    let _ = file.as_file_mut().sync_all();
    // The admin snapshot is written while the server applies writes: it may hold txns past its
    // name's zxid (its last-zxid section and node zxids say how far).
    let reaches = [
        Some(fetched.last_zxid),
        summary.last_zxid,
        Some(zkformat::Zxid(summary.max_node_zxid)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(fetched.last_zxid);
    let mut notes = Vec::new();
    if reaches > fetched.last_zxid {
        notes.push(format!(
            "the admin snapshot is fuzzy: it is named {} but holds txns up to {reaches} (the server kept applying writes while writing it); txns in between may be partly in it",
            fetched.last_zxid
        ));
    }
    let exact_to = if admin::snapshot_fast_forwards(facts.version.as_deref()) {
        facts.last_processed_zxid.min(fetched.last_zxid)
    } else {
        fetched.last_zxid
    };
    if exact_to < fetched.last_zxid {
        notes.push(format!(
            "ZooKeeper {}'s admin snapshot replays the txn log onto the live database before writing (ZOOKEEPER-4872, fixed in 3.9.4), and the server applies those txns again meanwhile: the snapshot is exact only up to {exact_to} (the server's last processed zxid when asked), and nodes written after it may show any of their states up to {reaches}",
            facts.version.as_deref().unwrap_or("(version unknown)")
        ));
    }
    let copied = Copied {
        snapshot: format!("version-2/{name}"),
        snapshot_zxid: fetched.last_zxid,
        snapshot_format: "3.9".to_string(),
        zookeeper_version: marks.writer().describe().to_string(),
        last_zxid: reaches,
        exact_to: Some(exact_to),
        tracker,
        notes,
        ..Copied::default()
    };
    Ok(AdminSnapshot { file, name, copied })
}

fn write_admin_archive(snap: &mut AdminSnapshot, out: &mut dyn Write) -> Result<(), CopyError> {
    let len = snap
        .file
        .as_file()
        .metadata()
        .map_err(CopyError::Output)?
        .len();
    let f = fs::File::open(snap.file.path()).map_err(CopyError::Output)?;
    let mut hash = Sha256::new();
    let mut ar = tar::Builder::new(out);
    let mut h = tar::Header::new_gnu();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_mtime((now_ms() / 1000).max(0) as u64);
    let name = format!("version-2/{}", snap.name);
    struct Tee<'a, R>(R, &'a mut Sha256);
    impl<R: Read> Read for Tee<'_, R> {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(b)?;
            self.1.update(b.get(..n).unwrap_or(&[]));
            Ok(n)
        }
    }
    ar.append_data(
        &mut h,
        &name,
        Tee(io::BufReader::new(f).take(len), &mut hash),
    )
    .map_err(CopyError::Output)?;
    ar.finish().map_err(CopyError::Output)?;
    snap.copied.files.push(crate::manifest::FileEntry {
        name,
        size: len,
        sha256: hex(&hash.finalize()),
    });
    Ok(())
}

/// Takes a backup into the catalog. Returns the manifest of a ready backup.
///
/// # Errors
/// See [`CreateError`].
pub fn create(
    store: &dyn Store,
    req: &CreateRequest,
    note: &mut dyn FnMut(&str),
    progress: &dyn Fn(u64),
) -> Result<Manifest, CreateError> {
    catalog::check_label(&req.label).map_err(CreateError::NothingStored)?;
    let cat = Catalog::new(store);
    // The source first: nothing is stored for a source that cannot give a backup.
    let source;
    let mut admin_snapshot = None;
    match &req.source {
        SourceSpec::DataDir { dir, log_dir } => {
            if !dir.is_dir() {
                return Err(CreateError::NothingStored(format!(
                    "{}: not a folder (expected the server's dataDir)",
                    dir.display()
                )));
            }
            if let Some(l) = log_dir.as_ref().filter(|l| !l.is_dir()) {
                return Err(CreateError::NothingStored(format!(
                    "--log-dir {}: not a folder",
                    l.display()
                )));
            }
            hotcopy::check_source(dir, log_dir.as_deref()).map_err(CreateError::NothingStored)?;
            if let Some(root) = store.local_root() {
                let resolve =
                    |p: &Path| zkfilter::plan::resolve(p).unwrap_or_else(|_| p.to_path_buf());
                let root = resolve(&root);
                for d in std::iter::once(dir.as_path()).chain(log_dir.as_deref()) {
                    let d = resolve(d);
                    if d.starts_with(&root) || root.starts_with(&d) {
                        return Err(CreateError::NothingStored(format!(
                            "the store {} and the data dir {} overlap: keep backups outside the server's folders",
                            root.display(),
                            d.display()
                        )));
                    }
                }
            }
            source = Source {
                kind: "datadir".into(),
                path: Some(dir.display().to_string()),
                log_dir: log_dir.as_ref().map(|l| l.display().to_string()),
                url: None,
                host: host(),
            };
        }
        SourceSpec::Admin { url, auth } => {
            let s = fetch_admin(url, auth.as_ref(), &req.options)
                .map_err(CreateError::NothingStored)?;
            admin_snapshot = Some(s);
            source = Source {
                kind: "admin".into(),
                path: None,
                log_dir: None,
                url: Some(admin::public_url(url)),
                host: host(),
            };
        }
    }
    let id = catalog::new_id(&req.label);
    let created = rfc3339(now_ms());
    let lease_ms = req.lease.as_millis() as i64;
    let writer_host = source.host.clone();
    let lease = |until: i64| Lease {
        id: id.clone(),
        label: req.label.clone(),
        created: created.clone(),
        lease_until_ms: until,
        host: writer_host.clone(),
        pid: std::process::id(),
    };
    cat.write_lease(&lease(now_ms() + lease_ms), true)
        .map_err(|e| CreateError::NothingStored(format!("writing to the store: {e}")))?;
    note(&format!("backup {id}: copying…"));
    let mut manifest = Manifest::new(&id, &req.label, &created, source);
    let encrypt = !req.recipients.is_empty();
    let data_key = catalog::key(
        &id,
        if encrypt {
            catalog::DATA_ENCRYPTED
        } else {
            catalog::DATA
        },
    );
    let stop = AtomicBool::new(false);
    let (copy, upload) = std::thread::scope(|s| {
        // Renew the lease while the copy runs.
        s.spawn(|| {
            let step = (req.lease / 3).max(Duration::from_millis(200));
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
                if waited >= step {
                    waited = Duration::ZERO;
                    let _ = cat.write_lease(&lease(now_ms() + lease_ms), false);
                }
            }
        });
        let (w, mut r) = pipe::pipe(4);
        let producer = s.spawn(move || {
            let mut hashing = Hashing {
                inner: w,
                hash: Sha256::new(),
                n: 0,
            };
            let result = {
                let layer = if encrypt {
                    match req.recipients.writer(&mut hashing) {
                        Ok(w) => Layer::Age(w),
                        Err(e) => return Err(CopyError::Output(e)),
                    }
                } else {
                    Layer::Plain(&mut hashing)
                };
                let mut gz = if req.gzip_level == 0 {
                    Gz::Stored(crate::gzip_stored::StoredGz::new(layer))
                } else {
                    Gz::Deflate(flate2::write::GzEncoder::new(
                        layer,
                        flate2::Compression::new(req.gzip_level.min(9)),
                    ))
                };
                let r = match admin_snapshot.as_mut() {
                    Some(a) => write_admin_archive(a, &mut gz).map(|()| a.copied.clone()),
                    None => match &req.source {
                        SourceSpec::DataDir { dir, log_dir } => {
                            hotcopy::copy_datadir(dir, log_dir.as_deref(), &mut gz, &req.options)
                        }
                        SourceSpec::Admin { .. } => Err(CopyError::Source("no snapshot".into())),
                    },
                };
                r.and_then(|c| {
                    gz.finish()
                        .and_then(Layer::finish)
                        .map(|_| c)
                        .map_err(CopyError::Output)
                })
            };
            let Hashing { inner, hash, n } = hashing;
            match result {
                Ok(c) => inner
                    .finish()
                    .map(|()| (c, hex(&hash.finalize()), n))
                    .map_err(CopyError::Output),
                Err(e) => {
                    inner.fail(e.to_string());
                    Err(e)
                }
            }
        });
        let mut counted = Counting {
            inner: &mut r,
            n: 0,
            last: std::time::Instant::now(),
            progress,
        };
        let upload = store.put_stream(&data_key, &mut counted);
        // Drain what is left, so the producer never blocks on a store that gave up.
        let _ = io::copy(&mut r, &mut io::sink());
        let copy = producer
            .join()
            .unwrap_or_else(|_| Err(CopyError::Source("the copy thread panicked".into())));
        stop.store(true, Ordering::Relaxed);
        (copy, upload)
    });
    manifest.finished = Some(rfc3339(now_ms()));
    let seal = |m: &Manifest| -> Result<(), CatalogError> {
        if encrypt {
            let details =
                serde_json::to_vec_pretty(m).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
            let sealed = req
                .recipients
                .encrypt(&details)
                .map_err(|e| CatalogError::Corrupt(e.to_string()))?;
            store.put(&catalog::key(&m.id, DETAILS), &sealed)?;
            cat.write_manifest(&m.public())
        } else {
            cat.write_manifest(m)
        }
    };
    let fail = |mut m: Manifest, why: String| -> CreateError {
        m.status = Status::Error;
        m.error = Some(why);
        m.encrypted = encrypt;
        match seal(&m) {
            Ok(()) => CreateError::Failed(Box::new(m)),
            Err(e) => CreateError::NothingStored(format!(
                "{} (and recording the failure failed too: {e})",
                m.error.as_deref().unwrap_or("")
            )),
        }
    };
    let (copied, sha, size) = match (copy, upload) {
        (Ok(c), Ok(stored)) => {
            let (copied, sha, n) = c;
            if stored != n {
                let _ = store.delete(&data_key);
                return Err(fail(
                    manifest,
                    format!("the store kept {stored} bytes of the {n} sent"),
                ));
            }
            (copied, sha, n)
        }
        (Err(e), _) => {
            let _ = store.delete(&data_key);
            return Err(fail(manifest, e.to_string()));
        }
        (Ok(_), Err(e)) => {
            let _ = store.delete(&data_key);
            return Err(fail(manifest, format!("storing the archive: {e}")));
        }
    };
    fill(&mut manifest, &copied);
    manifest.archive = Some(Archive {
        key: data_key,
        size,
        sha256: sha,
    });
    for n in &copied.notes {
        note(n);
    }
    if !copied.gaps.is_empty() {
        let why = format!(
            "zxid continuity broken after the snapshot: {} (ZooKeeper would start without them and silently lose those txns)",
            copied.gaps.join("; ")
        );
        return Err(fail(manifest, why));
    }
    manifest.status = Status::Ready;
    manifest.encrypted = encrypt;
    seal(&manifest).map_err(|e| match e {
        CatalogError::Store(e) => CreateError::NothingStored(format!("writing the manifest: {e}")),
        e => CreateError::NothingStored(e.to_string()),
    })?;
    let _ = store.delete(&catalog::key(&id, "lease.json"));
    Ok(manifest)
}

fn fill(m: &mut Manifest, c: &Copied) {
    m.snapshot = Some(c.snapshot.clone());
    m.snapshot_format = Some(c.snapshot_format.clone());
    m.zookeeper_version = Some(c.zookeeper_version.clone());
    m.first_zxid = Some(c.exact_to.unwrap_or(c.snapshot_zxid).to_string());
    m.last_zxid = Some(c.last_zxid.to_string());
    m.first_txn_time = c.first_txn_time;
    m.last_txn_time = c.last_txn_time;
    m.txns = c.txns;
    m.files = c.files.clone();
    m.notes = c.notes.clone();
    m.sessions = c.tracker.sessions.len() as u64;
    m.ephemerals = c.tracker.ephemerals.len() as u64;
    m.ephemeral_parents = c
        .tracker
        .groups()
        .into_iter()
        .map(|g| EphemeralParent {
            parent: String::from_utf8_lossy(&g.parent).into_owned(),
            recipe: g.recipe.to_string(),
            count: g.count,
        })
        .collect();
}

/// Size and SHA-256 of a stored object.
fn hash_object(store: &dyn Store, key: &str) -> Result<(u64, String), String> {
    let mut r = store.get(key).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = r.read(&mut buf).map_err(|e| format!("{key}: {e}"))?;
        if k == 0 {
            break;
        }
        h.update(buf.get(..k).unwrap_or(&[]));
        total += k as u64;
    }
    Ok((total, hex(&h.finalize())))
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Verified {
    /// Problems (exit 1).
    pub problems: Vec<String>,
    /// Notes.
    pub notes: Vec<String>,
}

/// Reads a backup back from the store: the archive's SHA-256 and size, every file's SHA-256 and
/// size against the manifest, then the files themselves as a data dir (checksums, seals, digest,
/// zxid continuity, the zxid range of the manifest).
///
/// # Errors
/// The backup cannot be read at all (exit 2).
pub fn verify(
    store: &dyn Store,
    id: &str,
    opts: &hotcopy::Options,
    key: Option<&Identities>,
) -> Result<Verified, String> {
    let cat = Catalog::new(store);
    let entry = cat.get(id).map_err(|e| e.to_string())?;
    let mut v = Verified::default();
    let Some(mut m) = entry.manifest else {
        return Err(format!(
            "{id}: {} ({}): there is nothing complete to verify",
            entry.status.name(),
            entry.error.unwrap_or_default()
        ));
    };
    if m.status != Status::Ready {
        v.problems.push(format!(
            "{id} is {}: {}",
            m.status.name(),
            m.error.clone().unwrap_or_default()
        ));
        return Ok(v);
    }
    let Some(archive) = m.archive.clone() else {
        v.problems
            .push(format!("{id}: the manifest names no archive"));
        return Ok(v);
    };
    if m.encrypted {
        match key {
            // Without the key: the stored bytes against the manifest's size and SHA-256.
            None => {
                let (total, sha) = hash_object(store, &archive.key)?;
                if total != archive.size || sha != archive.sha256 {
                    v.problems.push(format!(
                        "{}: stored bytes differ from the manifest (size {total}, SHA-256 {sha}; the manifest says {} and {})",
                        archive.key, archive.size, archive.sha256
                    ));
                } else {
                    v.notes.push(format!(
                        "{}: the encrypted archive is intact ({total} bytes, SHA-256 as recorded); pass --decrypt-with KEYFILE to check its content",
                        archive.key
                    ));
                }
                return Ok(v);
            }
            Some(ids) => {
                let sealed = store
                    .get_bytes(&catalog::key(id, DETAILS))
                    .map_err(|e| e.to_string())?;
                let details = ids.decrypt(&sealed)?;
                m = serde_json::from_slice(&details)
                    .map_err(|e| format!("{id}: the encrypted details are not a manifest: {e}"))?;
            }
        }
    }
    let reader = store.get(&archive.key).map_err(|e| e.to_string())?;
    let mut hash = Sha256::new();
    let mut n = 0u64;
    struct Tee<'a, R>(R, &'a mut Sha256, &'a mut u64);
    impl<R: Read> Read for Tee<'_, R> {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let k = self.0.read(b)?;
            self.1.update(b.get(..k).unwrap_or(&[]));
            *self.2 += k as u64;
            Ok(k)
        }
    }
    let unpacked = tempfile::Builder::new()
        .prefix("zkbackup-verify-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?;
    let mut found = Vec::new();
    let tee = io::BufReader::new(Tee(reader, &mut hash, &mut n));
    let plain: Box<dyn Read> = match (m.encrypted, key) {
        (true, Some(ids)) => ids.reader(tee)?,
        _ => Box::new(tee),
    };
    let tar_result = (|| -> io::Result<()> {
        let gz = flate2::read::GzDecoder::new(plain);
        let mut ar = tar::Archive::new(gz);
        for entry in ar.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.display().to_string();
            let base = Path::new(&name)
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dest = unpacked.path().join(&base);
            let mut out = fs::File::create(&dest)?;
            let mut h = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let k = entry.read(&mut buf)?;
                if k == 0 {
                    break;
                }
                let chunk = buf.get(..k).unwrap_or(&[]);
                h.update(chunk);
                out.write_all(chunk)?;
                size += k as u64;
            }
            found.push((name, size, hex(&h.finalize())));
        }
        // Read to the end of the gzip stream, so the archive hash covers every byte stored.
        Ok(())
    })();
    if let Err(e) = tar_result {
        v.problems
            .push(format!("{}: the archive cannot be read: {e}", archive.key));
    }
    // The tar reader may leave bytes unread (gzip trailer, padding): when the partial hash
    // differs, read the stored object again, whole, for an exact figure.
    if n != archive.size || hex(&hash.clone().finalize()) != archive.sha256 {
        let (total, sha) = hash_object(store, &archive.key)?;
        if total != archive.size || sha != archive.sha256 {
            v.problems.push(format!(
                "{}: stored bytes differ from the manifest (size {total}, SHA-256 {sha}; the manifest says {} and {})",
                archive.key, archive.size, archive.sha256
            ));
        }
    }
    for f in &m.files {
        match found.iter().find(|(name, _, _)| *name == f.name) {
            None => v.problems.push(format!("{}: missing from the archive", f.name)),
            Some((_, size, sha)) if *size != f.size || *sha != f.sha256 => v.problems.push(format!(
                "{}: differs from the manifest (size {size}, SHA-256 {sha}; the manifest says {} and {})",
                f.name, f.size, f.sha256
            )),
            Some(_) => {}
        }
    }
    if !v.problems.is_empty() {
        return Ok(v);
    }
    // The files as a data dir: checked as when they were copied.
    let mut sink = io::sink();
    match hotcopy::copy_datadir(unpacked.path(), None, &mut sink, opts) {
        Ok(c) => {
            if !c.gaps.is_empty() {
                v.problems
                    .push(format!("zxid continuity: {}", c.gaps.join("; ")));
            }
            // An admin snapshot's range runs from where it is exact to what it holds (fuzzy):
            // its files end at its name's zxid.
            let expected_end = if m.source.kind == "admin" {
                m.snapshot
                    .as_deref()
                    .and_then(|s| {
                        zkformat::zxid::parse_file_name(s.rsplit('/').next().unwrap_or(s))
                    })
                    .map(|n| n.zxid.to_string())
            } else {
                m.last_zxid.clone()
            };
            if expected_end.as_deref() != Some(c.last_zxid.to_string().as_str()) {
                v.problems.push(format!(
                    "the files end at zxid {}, the manifest says {}",
                    c.last_zxid,
                    expected_end.as_deref().unwrap_or("nothing")
                ));
            }
            v.notes.push(format!(
                "{} {} checked: snapshot {} (zxid {}), {} txns to zxid {}",
                found.len(),
                if found.len() == 1 { "file" } else { "files" },
                c.snapshot,
                c.snapshot_zxid,
                c.txns,
                c.last_zxid
            ));
        }
        Err(e) => v.problems.push(format!("the files do not check: {e}")),
    }
    Ok(v)
}
