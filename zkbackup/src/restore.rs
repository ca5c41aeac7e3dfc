//! `restore` and `export`: a catalog backup back as a member's data dir, or as a filtered
//! archive, through the same filter as `zkfilter datadir` (sessions, ephemerals and prefixes
//! gone, every other node exact, the state fenced at the first zxid of a new epoch).
//!
//! Restore installs the filtered `version-2/` in the member's data dir: the old `version-2/` (and
//! the log dir's) is moved aside to `version-2.before-restore-<time>`, never deleted; `myid` and
//! every other file stay. It refuses, changing nothing, while a process has files of the data dir
//! open or something listens on the member's client port (`--force` overrides, loudly).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zkfilter::filter_cmd::datadir::DatadirArgs;
use zkfilter::filter_cmd::{PolicyArgs, RunArgs};
use zkfilter::inputs::{ArchiveCompression, DataDirInput};
use zkformat::fence::{self, SeenEpoch};

use crate::backup::DETAILS;
use crate::catalog::{self, Catalog};
use crate::crypt::Identities;
use crate::hotcopy::hex;
use crate::manifest::{Manifest, Status};
use crate::store::Store;

/// A restore or export request.
#[derive(Debug, Default)]
pub struct RestoreRequest {
    /// The backup.
    pub id: String,
    /// Restore to this zxid.
    pub to_zxid: Option<zkformat::Zxid>,
    /// Restore to this time (ms since the epoch).
    pub to_time: Option<i64>,
    /// Write the state at the first zxid of this epoch.
    pub fence_epoch: Option<u32>,
    /// No fence.
    pub no_fence: bool,
    /// `--target-version`.
    pub target_version: Option<String>,
    /// What to drop.
    pub policy: PolicyArgs,
    /// `--report FILE|-`.
    pub report: Option<String>,
    /// Touch nothing; say what would be done.
    pub dry_run: bool,
    /// Override the running-member checks.
    pub force: bool,
    /// `-q`.
    pub quiet: bool,
    /// Live members (`host:port`) whose zxids raise the fence's floor.
    pub servers: Vec<String>,
}

/// A backup fetched from the store, checked against its manifest, unpacked.
#[derive(Debug)]
pub struct Fetched {
    /// The manifest (decrypted details for encrypted backups).
    pub manifest: Manifest,
    /// The unpacked `version-2/` files.
    pub data: DataDirInput,
}

struct Tee<R> {
    inner: R,
    hash: Sha256,
    n: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(b)?;
        self.hash.update(b.get(..k).unwrap_or(&[]));
        self.n += k as u64;
        Ok(k)
    }
}

/// Reads a ready backup from the store, checking the stored bytes' SHA-256 and every file's.
///
/// # Errors
/// Unknown ID, a backup that is not ready, a missing key, damaged or altered bytes.
pub fn fetch(store: &dyn Store, id: &str, key: Option<&Identities>) -> Result<Fetched, String> {
    catalog::check_id(id)?;
    let entry = Catalog::new(store).get(id).map_err(|e| e.to_string())?;
    let Some(mut m) = entry.manifest else {
        return Err(format!(
            "{id} is {}: only a ready backup can be restored",
            entry.status.name()
        ));
    };
    if m.status != Status::Ready {
        return Err(format!(
            "{id} is {}: {}; only a ready backup can be restored",
            m.status.name(),
            m.error.as_deref().unwrap_or("")
        ));
    }
    if m.encrypted {
        let ids = key.ok_or_else(|| {
            format!("{id} is encrypted: pass --decrypt-with KEYFILE (an age identity file)")
        })?;
        let sealed = store
            .get_bytes(&catalog::key(id, DETAILS))
            .map_err(|e| e.to_string())?;
        let details = ids.decrypt(&sealed)?;
        let archive = m.archive.clone();
        m = serde_json::from_slice(&details)
            .map_err(|e| format!("{id}: the encrypted details are not a manifest: {e}"))?;
        m.archive = archive.or(m.archive);
    }
    let archive = m
        .archive
        .clone()
        .ok_or_else(|| format!("{id}: the manifest names no archive"))?;
    let raw = store.get(&archive.key).map_err(|e| e.to_string())?;
    let mut tee = Tee {
        inner: raw,
        hash: Sha256::new(),
        n: 0,
    };
    let data = {
        let plain: Box<dyn Read> = match (m.encrypted, key) {
            (true, Some(ids)) => ids.reader(io::BufReader::new(&mut tee))?,
            _ => Box::new(&mut tee),
        };
        zkfilter::inputs::unpack(plain, ArchiveCompression::Gzip, &archive.key).map_err(|e| {
            format!(
                "{e}: the stored backup is damaged or altered (its bytes no longer unpack); `zkbackup verify {id}` says more, and nothing was changed"
            )
        })?
    };
    // The rest of the stored bytes (gzip trailer, padding) count too.
    io::copy(&mut tee, &mut io::sink()).map_err(|e| format!("{}: {e}", archive.key))?;
    let sha = hex(&tee.hash.finalize());
    if tee.n != archive.size || sha != archive.sha256 {
        return Err(format!(
            "{}: the stored bytes differ from the manifest (size {}, SHA-256 {sha}; the manifest says {} and {}): the backup is damaged or altered; `zkbackup verify {id}` says more",
            archive.key, tee.n, archive.size, archive.sha256
        ));
    }
    for f in &m.files {
        let name = f.name.rsplit('/').next().unwrap_or(&f.name);
        let path = data.dir.join(name);
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", f.name))?;
        let got = hex(&Sha256::digest(&bytes));
        if bytes.len() as u64 != f.size || got != f.sha256 {
            return Err(format!(
                "{}: differs from the manifest (SHA-256 {got}, the manifest says {})",
                f.name, f.sha256
            ));
        }
    }
    Ok(Fetched { manifest: m, data })
}

/// Epochs known beyond the backup's own data: later backups with the same label in the
/// catalog, and live members' zxids (`srvr`).
pub fn seen_epochs(store: &dyn Store, m: &Manifest, servers: &[String]) -> Vec<SeenEpoch> {
    let mut seen = Vec::new();
    if let Ok(entries) = Catalog::new(store).list() {
        for e in entries {
            let Some(other) = e.manifest else { continue };
            if other.label != m.label || other.status != Status::Ready {
                continue;
            }
            if let Some(z) = other
                .last_zxid
                .as_deref()
                .and_then(|z| zkfilter::cli::parse_zxid(z).ok())
            {
                seen.push(SeenEpoch {
                    epoch: z.epoch(),
                    source: format!("backup {}", other.id),
                });
            }
        }
    }
    for s in servers {
        if let Some(z) = srvr_zxid(s) {
            seen.push(SeenEpoch {
                epoch: z.epoch(),
                source: format!("srvr of {s}"),
            });
        }
    }
    seen
}

/// The `Zxid:` a server reports to `srvr`, if it answers.
pub fn srvr_zxid(server: &str) -> Option<zkformat::Zxid> {
    let addr: SocketAddr = server.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"srvr").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Zxid:"))
        .and_then(|z| zkfilter::cli::parse_zxid(z.trim()).ok())
}

/// Processes holding files under `dir` open (pid, command).
pub fn holders(dir: &Path) -> Vec<(u32, String)> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .filter_map(|fd| fs::read_link(fd.path()).ok())
            .any(|target| target.starts_with(&dir))
        {
            let cmd = fs::read(p.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .split('\0')
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            out.push((pid, cmd.chars().take(120).collect()));
        }
    }
    out
}

fn stamp() -> String {
    catalog::rfc3339(catalog::now_ms())
        .replace([':', '-'], "")
        .replace('.', "")
}

/// The datadir arguments for the filter.
fn filter_args(req: &RestoreRequest, input: &Path, fence_epoch: Option<u32>) -> DatadirArgs {
    DatadirArgs {
        input: input.display().to_string(),
        to_zxid: req.to_zxid,
        to_time: req.to_time,
        fence_epoch,
        no_fence: req.no_fence,
        target_version: req.target_version.clone(),
        policy: req.policy.clone(),
        ..DatadirArgs::default()
    }
}

fn fence_for(store: &dyn Store, f: &Fetched, req: &RestoreRequest) -> Result<Option<u32>, String> {
    if req.no_fence {
        return Ok(None);
    }
    let mut seen = seen_epochs(store, &f.manifest, &req.servers);
    for name in ["acceptedEpoch", "currentEpoch"] {
        if let Some(e) = fs::read_to_string(f.data.dir.join(name))
            .ok()
            .and_then(|t| fence::parse_epoch(&t))
        {
            seen.push(SeenEpoch {
                epoch: e,
                source: format!("the backup's {name}"),
            });
        }
    }
    let last = f
        .manifest
        .last_zxid
        .as_deref()
        .and_then(|z| zkfilter::cli::parse_zxid(z).ok())
        .unwrap_or_default();
    fence::choose(last, &seen, req.fence_epoch).map(|c| Some(c.epoch))
}

/// Restores a backup into a member's data dir (and log dir). Returns the exit code of the filter
/// (0, or 3 never: salvage is not used).
///
/// # Errors
/// A message; nothing in the member's folders changed.
pub fn restore(
    store: &dyn Store,
    req: &RestoreRequest,
    data_dir: &Path,
    log_dir: Option<&Path>,
    client_port: Option<u16>,
    key: Option<&Identities>,
) -> Result<u8, String> {
    // A running member first: nothing is fetched for a refusal.
    let mut busy = Vec::new();
    for d in std::iter::once(data_dir).chain(log_dir) {
        for (pid, cmd) in holders(d) {
            busy.push(format!(
                "process {pid} ({cmd}) has files of {} open",
                d.display()
            ));
        }
    }
    if let Some(port) = client_port {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            busy.push(format!("something listens on the client port {port}"));
        }
    }
    // The store must not be inside the member's folders, nor they inside the store.
    if let Some(root) = store.local_root() {
        let root = zkfilter::plan::resolve(&root).map_err(|e| e.to_string())?;
        for d in std::iter::once(data_dir).chain(log_dir) {
            let d = zkfilter::plan::resolve(d).map_err(|e| e.to_string())?;
            if d.starts_with(&root) || root.starts_with(&d) {
                return Err(format!(
                    "{} and the store {} overlap: a restore never writes into or around its store; nothing was changed",
                    d.display(),
                    root.display()
                ));
            }
        }
    }
    if !busy.is_empty() && req.dry_run {
        eprintln!(
            "zkbackup: dry run: a real restore would be refused now: the member looks alive: {}",
            busy.join("; ")
        );
    } else if !busy.is_empty() {
        if !req.force {
            return Err(format!(
                "the member looks alive: {}; stop it first (nothing was changed), or pass --force",
                busy.join("; ")
            ));
        }
        eprintln!(
            "zkbackup: *** --force: restoring under a live member: {} ***",
            busy.join("; ")
        );
    }
    let f = fetch(store, &req.id, key)?;
    let fence_epoch = fence_for(store, &f, req)?;
    let mut args = filter_args(req, &f.data.dir, fence_epoch);
    let run = RunArgs {
        dry_run: req.dry_run,
        report: req.report.clone(),
        quiet: req.quiet,
        ..RunArgs::default()
    };
    let v2 = data_dir.join("version-2");
    let when = stamp();
    let aside = data_dir.join(format!("version-2.before-restore-{when}"));
    let log_v2 = log_dir.map(|l| l.join("version-2"));
    let log_aside = log_dir.map(|l| l.join(format!("version-2.before-restore-{when}")));
    if req.dry_run {
        zkfilter::filter_cmd::datadir::run(args, &run).map_err(|e| e.to_string())?;
        let say = |s: String| {
            if !req.quiet {
                eprintln!("zkbackup: dry run: {s}");
            }
        };
        if v2.exists() {
            say(format!(
                "would move {} to {}",
                v2.display(),
                aside.display()
            ));
        }
        if let (Some(l), Some(a)) = (&log_v2, &log_aside) {
            if l.exists() {
                say(format!("would move {} to {}", l.display(), a.display()));
            }
        }
        say(format!(
            "would install the filtered snapshot in {} (myid and other files stay)",
            v2.display()
        ));
        return Ok(0);
    }
    fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let stage = data_dir.join(format!(".zkbackup-restore-{}", std::process::id()));
    args.output = Some(stage.clone());
    let code = zkfilter::filter_cmd::datadir::run(args, &run).map_err(|e| {
        let _ = fs::remove_dir_all(&stage);
        e.to_string()
    })?;
    // Install: the old folders aside (never deleted), the new one in.
    let moved = (|| -> io::Result<Vec<String>> {
        let mut said = Vec::new();
        if v2.exists() {
            fs::rename(&v2, &aside)?;
            said.push(format!("moved {} to {}", v2.display(), aside.display()));
        }
        if let Err(e) = fs::rename(stage.join("version-2"), &v2) {
            if aside.exists() {
                let _ = fs::rename(&aside, &v2);
            }
            return Err(e);
        }
        if let (Some(l), Some(a)) = (&log_v2, &log_aside) {
            if l.exists() {
                fs::rename(l, a)?;
                said.push(format!("moved {} to {}", l.display(), a.display()));
            }
            fs::create_dir_all(l)?;
        }
        Ok(said)
    })();
    let _ = fs::remove_dir_all(&stage);
    let said = moved.map_err(|e| format!("installing in {}: {e}", data_dir.display()))?;
    if !req.quiet {
        for s in said {
            eprintln!("zkbackup: {s} (kept: delete it once the member serves)");
        }
        eprintln!(
            "zkbackup: restored {} into {} (myid and other files left as they were)",
            req.id,
            v2.display()
        );
    }
    Ok(code)
}

/// One member of an admin restore: its URL as given, as shown (no user info), its `stat` probe.
struct AdminMember {
    url: String,
    shown: String,
    target: crate::status::Target,
    stat_url: String,
}

impl AdminMember {
    fn new(url: &str) -> Result<AdminMember, String> {
        let shown = crate::admin::public_url(url);
        Ok(AdminMember {
            url: url.to_string(),
            target: crate::status::Target {
                hostname: shown.clone(),
                host: String::new(),
                port: 0,
                admin: None,
            },
            stat_url: crate::status::admin_stat_url(url)?,
            shown,
        })
    }

    /// The member's last processed zxid and whether it leads, from its admin `stat`.
    fn probe(&self) -> Result<(zkformat::Zxid, crate::status::ServerStatus), String> {
        let st = crate::status::probe_admin(
            &self.target,
            &self.stat_url,
            Duration::from_secs(2),
            Duration::from_secs(5),
        );
        match st
            .zxid
            .as_deref()
            .and_then(|z| zkfilter::cli::parse_zxid(z).ok())
        {
            Some(z) if st.code == crate::status::Code::Serving => Ok((z, st)),
            _ => Err(format!(
                "{}: not serving, or no zxid from the admin server's stat ({})",
                self.shown,
                st.error
                    .clone()
                    .unwrap_or_else(|| st.code.description().to_string())
            )),
        }
    }
}

/// The last-processed-zxid section of a written admin restore stream.
fn stream_zxid(path: &Path) -> Result<zkformat::Zxid, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let summary = zkformat::snapshot::SnapshotReader::open(
        io::BufReader::new(f),
        zkformat::Limits::default(),
    )
    .and_then(zkformat::snapshot::SnapshotReader::check)
    .map_err(|e| format!("the filtered stream {}: {e}", path.display()))?;
    summary
        .last_zxid
        .ok_or_else(|| "the filtered stream has no last-processed-zxid section".to_string())
}

/// Restores a backup on running 3.9 members through their admin servers, one after the other,
/// with the filtered, uncompressed stream, and makes each save it (admin `snapshot`).
///
/// * The state is written at the highest zxid the members report (their `stat`): their clients
///   are not refused, their next txns stay above it, and nothing they logged before the restore
///   is above it (a restart or ZooKeeper 3.9.3's snapshot would replay such txns onto the
///   restored state). So `--no-fence` (a lower zxid) is refused unless `--force`, and a backup
///   whose state is above the members' zxid is refused (restore such members offline).
/// * ZooKeeper's `restore` swaps the database in memory only; each member is then asked for a
///   snapshot so that a restart loads the restored state, not the old one.
/// * The members must be quiet (client ports blocked, as ZooKeeper's procedure says): before
///   each member, every member's zxid is checked, and a write seen during the restore stops it.
///
/// Returns 0, or 1 when members were changed and a problem came up after (printed).
///
/// # Errors
/// A message for failures that changed nothing (exit 2).
pub fn restore_admin(
    store: &dyn Store,
    req: &RestoreRequest,
    urls: &[String],
    auth: Option<&crate::admin::Auth>,
    key: Option<&Identities>,
) -> Result<u8, String> {
    if urls.is_empty() {
        return Err("--admin needs at least one URL".into());
    }
    let members = urls
        .iter()
        .map(|u| AdminMember::new(u))
        .collect::<Result<Vec<_>, _>>()?;
    let f = fetch(store, &req.id, key)?;
    // The members' own zxids: the restored state goes at the highest.
    let mut top = zkformat::Zxid(0);
    let mut modes: Vec<(String, String)> = Vec::new();
    for m in &members {
        let (z, st) = m
            .probe()
            .map_err(|e| format!("{e}: is the member running and serving? Nothing was restored"))?;
        top = top.max(z);
        modes.push((m.shown.clone(), st.mode.clone().unwrap_or_default()));
    }
    let work = tempfile::Builder::new()
        .prefix("zkbackup-admin-restore-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?;
    let stream = work.path().join("restore.snap");
    let mut args = filter_args(req, &f.data.dir, None);
    args.admin_restore = Some(stream.display().to_string());
    if !req.no_fence {
        args.fence_zxid = Some(top);
    }
    let run = RunArgs {
        dry_run: req.dry_run,
        report: req.report.clone(),
        quiet: req.quiet,
        ..RunArgs::default()
    };
    zkfilter::filter_cmd::datadir::run(args, &run).map_err(|e| {
        let e = e.to_string();
        if e.contains("below the data's last zxid") {
            format!(
                "the members are at zxid {top}, below the restored state's zxid ({e}): their next txns would get zxids below it, and be lost at their next restart. Nothing was restored: restore these members offline instead (stop them, then `zkbackup restore {} --config zoo.cfg` on each)",
                req.id
            )
        } else {
            e
        }
    })?;
    if req.dry_run {
        if !req.quiet {
            let urls_shown = members
                .iter()
                .map(|m| m.shown.clone())
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "zkbackup: dry run: would POST the filtered stream to {urls_shown}, each member's admin `restore`, then have each save it (admin `snapshot`)"
            );
        }
        return Ok(0);
    }
    let w = stream_zxid(&stream)?;
    let mut persist = true;
    if w > top {
        return Err(format!(
            "the restored state is at zxid {w}, above the members' {top}: their next txns would get zxids below it, and be lost at their next restart. Nothing was restored: restore these members offline instead (stop them, then `zkbackup restore {} --config zoo.cfg` on each)",
            req.id
        ));
    }
    if w < top {
        let why = format!(
            "--no-fence writes the state at zxid {w}, below the members' {top}: the txns they logged in between would be replayed onto the restored state at their next restart (and, on ZooKeeper 3.9.3, by its snapshot command), and their clients that saw those zxids are refused"
        );
        if !req.force {
            return Err(format!(
                "{why}. Nothing was restored: leave out --no-fence (the state is then written at {top}), or pass --force"
            ));
        }
        eprintln!(
            "zkbackup: *** --force: {why}; the restored state is not saved to the members' data dirs ***"
        );
        persist = false;
    }
    let mut restored: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let fail = |msg: String, restored: &[String]| -> Result<u8, String> {
        if restored.is_empty() {
            Err(format!("{msg}; restored before the failure: none"))
        } else {
            eprintln!(
                "error: {msg}; restored before the failure: {} (the others still serve their old data: block the client ports and run the restore again)",
                restored.join(", ")
            );
            Ok(1)
        }
    };
    for (i, m) in members.iter().enumerate() {
        // Quiet? Every member where it should be: the restored ones at w, the others at top.
        for (j, other) in members.iter().enumerate() {
            let expected = if j < i { w } else { top };
            match other.probe() {
                Ok((z, _)) if z == expected => {}
                Ok((z, _)) => {
                    return fail(
                        format!(
                            "{} is at zxid {z}, not {expected}: the ensemble took writes during the restore (block the client ports first, as ZooKeeper's restore procedure says)",
                            other.shown
                        ),
                        &restored,
                    )
                }
                Err(e) => return fail(e, &restored),
            }
        }
        match crate::admin::post_restore(&m.url, auth, &stream) {
            Ok(z) => {
                if let Some(z) = z.filter(|z| *z != w) {
                    problems.push(format!(
                        "{} reports last_zxid {z} after the restore, not the restored state's {w}",
                        m.shown
                    ));
                }
                if !req.quiet {
                    eprintln!(
                        "zkbackup: restored {} on {} (last_zxid {})",
                        req.id,
                        m.shown,
                        z.map_or_else(|| "not reported".to_string(), |z| z.to_string())
                    );
                }
            }
            Err(e) => return fail(e, &restored),
        }
        restored.push(m.shown.clone());
        if persist {
            match crate::admin::save_snapshot(&m.url, auth) {
                Ok(z) if z == w => {
                    if !req.quiet {
                        eprintln!(
                            "zkbackup: {} saved the restored state (snapshot.{:x} in its data dir)",
                            m.shown, z.0
                        );
                    }
                }
                Ok(z) => problems.push(format!(
                    "{} saved a snapshot at zxid {z}, not at the restored state's {w}: it applied other txns",
                    m.shown
                )),
                Err(e) => {
                    return fail(
                        format!(
                            "{e}: {} is restored in memory only (a restart would bring its old data back)",
                            m.shown
                        ),
                        &restored,
                    )
                }
            }
        }
    }
    // Every member at the same zxid: no write reached only some of them.
    let mut after = Vec::new();
    for m in &members {
        match m.probe() {
            Ok((z, _)) => after.push((m.shown.clone(), z)),
            Err(e) => problems.push(e),
        }
    }
    if after.iter().any(|(_, z)| *z != after[0].1) {
        problems.push(format!(
            "the members are at different zxids after the restore ({}): the ensemble took writes during it",
            after
                .iter()
                .map(|(s, z)| format!("{s} {z}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        eprintln!(
            "error: the members may not hold the same data: block the client ports and run the restore again"
        );
        return Ok(1);
    }
    if !req.quiet {
        eprintln!(
            "zkbackup: restored {} on {} member{} at zxid {w}{}",
            req.id,
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            if persist {
                ", saved in each member's data dir"
            } else {
                ", NOT saved (a restart brings each member's old data back)"
            }
        );
        let standalone = modes.iter().any(|(_, m)| m == "standalone");
        if standalone {
            eprintln!(
                "zkbackup: next: restart the server ({}), then `zkbackup status --servers HOST:PORT --wait 60`, then unblock the clients. ZooKeeper's admin restore recreates the session tracker without starting it: until the server restarts no session opened after the restore expires (a client that dies leaves its ephemeral nodes, its locks included, behind). Clients connected before the restore are told their session expired at their next heartbeat",
                modes.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        } else {
            let followers: Vec<&str> = modes
                .iter()
                .filter(|(_, m)| m != "leader")
                .map(|(s, _)| s.as_str())
                .collect();
            let leaders: Vec<&str> = modes
                .iter()
                .filter(|(_, m)| m == "leader")
                .map(|(s, _)| s.as_str())
                .collect();
            eprintln!(
                "zkbackup: next: restart the members one at a time, the followers first ({}), the leader last ({}), each once `zkbackup status --servers … --wait 60` says all serve; then unblock the clients",
                followers.join(", "),
                if leaders.is_empty() { "none seen".to_string() } else { leaders.join(", ") }
            );
            eprintln!(
                "zkbackup: why: ZooKeeper's admin restore replaces the database of each member's running server only, not the one its quorum peer loaded at start: an election before every member has restarted (the leader restarting first, a lost quorum) brings the old data back and loses the writes made since the restore; and the leader's new session tracker is not started: until the leader restarts no session opened after the restore expires (a client that dies leaves its ephemeral nodes, its locks included, behind). Clients connected before the restore are told their session expired at their next heartbeat"
            );
        }
    }
    Ok(0)
}

/// Archive layouts for `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `version-2/…`, as `zkfilter datadir` and ZooKeeper's dataDir hold it.
    Plain,
    /// `./zookeeper/snapshot/version-2/…` and `./zookeeper/transactions/version-2/`: the tree
    /// `dcos-zk restore` extracts into `/var/lib/dcos/exhibitor`.
    Dcos,
}

/// Writes a filtered archive of a backup to `out` (written atomically).
///
/// # Errors
/// A message; nothing was written.
pub fn export(
    store: &dyn Store,
    req: &RestoreRequest,
    out: &Path,
    layout: Layout,
    force: bool,
    key: Option<&Identities>,
) -> Result<u8, String> {
    let mut plan = zkfilter::plan::Plan::new("zkbackup", force);
    let mut staged = plan
        .file(out, "the exported archive")
        .map_err(|e| e.to_string())?;
    let f = fetch(store, &req.id, key)?;
    let fence_epoch = fence_for(store, &f, req)?;
    let work = tempfile::Builder::new()
        .prefix("zkbackup-export-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?;
    let filtered = work.path().join("filtered");
    let mut args = filter_args(req, &f.data.dir, fence_epoch);
    args.output = Some(filtered.clone());
    let run = RunArgs {
        report: req.report.clone(),
        quiet: req.quiet,
        ..RunArgs::default()
    };
    let code = zkfilter::filter_cmd::datadir::run(args, &run).map_err(|e| e.to_string())?;
    let (prefix, empty_logs) = match layout {
        Layout::Plain => ("version-2".to_string(), None),
        Layout::Dcos => (
            "zookeeper/snapshot/version-2".to_string(),
            Some("zookeeper/transactions/version-2/"),
        ),
    };
    {
        let gz = flate2::write::GzEncoder::new(staged.file(), flate2::Compression::default());
        let mut ar = tar::Builder::new(gz);
        let mut names: Vec<PathBuf> = fs::read_dir(filtered.join("version-2"))
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        let dir_entry = |ar: &mut tar::Builder<_>, name: &str| -> io::Result<()> {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime((catalog::now_ms() / 1000).max(0) as u64);
            ar.append_data(&mut h, name, io::empty())
        };
        let result = (|| -> io::Result<()> {
            dir_entry(&mut ar, &format!("{prefix}/"))?;
            for p in &names {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                ar.append_path_with_name(p, format!("{prefix}/{name}"))?;
            }
            if let Some(logs) = empty_logs {
                dir_entry(&mut ar, logs)?;
            }
            ar.into_inner()?.finish()?;
            Ok(())
        })();
        result.map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    zkfilter::plan::Plan::commit(vec![zkfilter::plan::Output::File(staged)])
        .map_err(|e| e.to_string())?;
    if !req.quiet {
        eprintln!(
            "zkbackup: exported {} to {} ({layout:?} layout)",
            req.id,
            out.display()
        );
    }
    Ok(code)
}
