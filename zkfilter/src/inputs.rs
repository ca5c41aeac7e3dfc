//! What an input is, told from its first bytes (or its folder listing), with messages that say
//! what was found and what was expected; and data dirs from folders or tar archives
//! (`.tar`, `.tar.gz`, `.tar.zst`, or standard input), for every tool that reads a data dir.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zkformat::kind::{FileKind, GZIP_MAGIC, SNAPPY_JAVA_MAGIC};

use crate::cli::CliError;

/// How many leading bytes [`sniff`] looks at (enough for a tar header behind a compressor).
pub const SNIFF_LEN: usize = 64 * 1024;

/// First bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compression around a tar archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCompression {
    /// A plain `.tar`.
    None,
    /// `.tar.gz`.
    Gzip,
    /// `.tar.zst`.
    Zstd,
}

/// What an input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// Zero bytes.
    Empty,
    /// A txn log (`ZKLG`).
    TxnLog,
    /// A snapshot, plain or gzip/snappy-compressed.
    Snapshot(FileKind),
    /// A tar archive.
    Archive(ArchiveCompression),
    /// Text; the first line (shortened).
    Text(String),
    /// Anything else: a description.
    Other(String),
}

impl Sniffed {
    /// "a txn log", "an empty file", "a text file (first line: …)", …
    pub fn describe(&self) -> String {
        match self {
            Sniffed::Empty => "an empty file".to_string(),
            Sniffed::TxnLog => "a ZooKeeper txn log".to_string(),
            Sniffed::Snapshot(FileKind::Gzip) => "a gzip-compressed ZooKeeper snapshot".into(),
            Sniffed::Snapshot(FileKind::Snappy) => "a snappy-compressed ZooKeeper snapshot".into(),
            Sniffed::Snapshot(_) => "a ZooKeeper snapshot".to_string(),
            Sniffed::Archive(ArchiveCompression::None) => "a tar archive".to_string(),
            Sniffed::Archive(ArchiveCompression::Gzip) => "a tar.gz archive".to_string(),
            Sniffed::Archive(ArchiveCompression::Zstd) => "a tar.zst archive".to_string(),
            Sniffed::Text(line) => format!("a text file (first line: {line:?})"),
            Sniffed::Other(what) => what.clone(),
        }
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    let mut s = String::new();
    for b in bytes.iter().take(8) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn is_tar(block: &[u8]) -> bool {
    block.get(257..262) == Some(b"ustar")
}

fn first_decompressed(reader: impl Read) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let _ = reader.take(512).read_to_end(&mut out);
    out
}

fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
    let text = match std::str::from_utf8(sample) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) if e.error_len().is_none() => match sample.get(..e.valid_up_to()) {
            Some(v) => std::str::from_utf8(v).unwrap_or(""),
            None => "",
        },
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// Tells what `prefix` (the first bytes of an input, up to [`SNIFF_LEN`]) holds.
pub fn sniff(prefix: &[u8]) -> Sniffed {
    if prefix.is_empty() {
        return Sniffed::Empty;
    }
    match FileKind::detect(prefix) {
        FileKind::TxnLog => return Sniffed::TxnLog,
        FileKind::Snapshot => return Sniffed::Snapshot(FileKind::Snapshot),
        FileKind::Snappy => return Sniffed::Snapshot(FileKind::Snappy),
        FileKind::Gzip | FileKind::Unknown => {}
    }
    if prefix.starts_with(&GZIP_MAGIC) {
        let head = first_decompressed(flate2::read::GzDecoder::new(prefix));
        return if head.starts_with(b"ZKSN") {
            Sniffed::Snapshot(FileKind::Gzip)
        } else if is_tar(&head) {
            Sniffed::Archive(ArchiveCompression::Gzip)
        } else if head.starts_with(b"ZKLG") {
            Sniffed::Other(
                "a gzip-compressed txn log (ZooKeeper never compresses logs: gunzip it first)"
                    .into(),
            )
        } else {
            Sniffed::Other(
                "gzip-compressed data that is neither a snapshot nor a tar archive".into(),
            )
        };
    }
    if prefix.starts_with(&ZSTD_MAGIC) {
        let head = ruzstd::StreamingDecoder::new(prefix)
            .map(first_decompressed)
            .unwrap_or_default();
        return if is_tar(&head) {
            Sniffed::Archive(ArchiveCompression::Zstd)
        } else {
            Sniffed::Other(
                "zstd-compressed data that is not a tar archive (ZooKeeper never writes zstd)"
                    .into(),
            )
        };
    }
    if is_tar(prefix) {
        return Sniffed::Archive(ArchiveCompression::None);
    }
    if prefix.starts_with(&SNAPPY_JAVA_MAGIC[..4]) {
        return Sniffed::Other("a damaged snappy stream header".into());
    }
    if looks_like_text(prefix) {
        let line: String = String::from_utf8_lossy(prefix)
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
        return Sniffed::Text(line);
    }
    Sniffed::Other(format!(
        "unrecognised binary data (first bytes {})",
        hex_prefix(prefix)
    ))
}

/// Reads up to [`SNIFF_LEN`] bytes of `r`.
///
/// # Errors
/// I/O errors.
pub fn read_prefix(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(4096);
    r.take(SNIFF_LEN as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Reads the first bytes of the file at `path` and tells what it holds.
///
/// # Errors
/// I/O errors.
pub fn sniff_file(path: &Path) -> io::Result<Sniffed> {
    let mut f = fs::File::open(path)?;
    Ok(sniff(&read_prefix(&mut f)?))
}

/// What a data dir input is expected to be, for messages.
pub const DATA_DIR_EXPECTED: &str = "a data dir (the folder holding version-2/ with log.* and snapshot.* files), a version-2 folder, or a .tar / .tar.gz / .tar.zst of one";

/// Describes a folder that holds no ZooKeeper data file.
pub fn describe_folder(dir: &Path) -> String {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return format!("a folder that cannot be listed ({e})"),
    };
    names.sort();
    match names.len() {
        0 => "an empty folder".to_string(),
        n => {
            let shown: Vec<&str> = names.iter().take(4).map(String::as_str).collect();
            let more = if n > 4 { ", …" } else { "" };
            let entries = if n == 1 { "entry" } else { "entries" };
            format!(
                "a folder with {n} {entries}, none a ZooKeeper log or snapshot ({}{more})",
                shown.join(", ")
            )
        }
    }
}

/// An archive whose ZooKeeper files sit in two folders, a `dataDir` (the snapshots, and the
/// epoch files) and its `dataLogDir` (the txn logs), as DC/OS's `dcos-zk backup` writes them
/// (`./zookeeper/snapshot/version-2/`, `./zookeeper/transactions/version-2/`). They are unpacked
/// into one folder: read together, as with `--log-dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitDataDir {
    /// The folder of the snapshots, as named in the archive.
    pub snapshots: String,
    /// The folder of the txn logs, as named in the archive.
    pub logs: String,
}

impl SplitDataDir {
    /// "archive holds a split data dir: snapshots in …, logs in …".
    pub fn note(&self) -> String {
        format!(
            "archive holds a split data dir: snapshots in {}, logs in {}, read together as a dataDir and its dataLogDir",
            self.snapshots, self.logs
        )
    }
}

/// A data dir ready to scan: a folder given as it is, or one unpacked from an archive (removed
/// when this is dropped).
#[derive(Debug)]
pub struct DataDirInput {
    /// The folder to scan (a data dir or a version-2 folder).
    pub dir: PathBuf,
    /// The input as the user named it.
    pub shown: String,
    /// The archive kind when the data came from one.
    pub archive: Option<ArchiveCompression>,
    /// Set when the archive held a split data dir (snapshots and logs in two folders), unpacked
    /// into `dir` together.
    pub split: Option<SplitDataDir>,
    _unpacked: Option<tempfile::TempDir>,
}

impl DataDirInput {
    /// The note to show when the archive held a split data dir.
    pub fn note(&self) -> Option<String> {
        self.split.as_ref().map(SplitDataDir::note)
    }
}

/// Opens a data dir input for `tool_mode` (e.g. `zkfilter datadir`): a folder, a tar archive of
/// one (plain, gzip or zstd), or `-` for an archive on standard input. Anything else is refused
/// with what was found and which command reads it.
///
/// # Errors
/// Missing paths, inputs that are not a data dir, archives without data files.
pub fn open_data_dir(arg: &str, tool_mode: &str) -> Result<DataDirInput, CliError> {
    if arg == "-" {
        crate::cli::refuse_terminal_stdin()?;
        let mut stdin = io::stdin().lock();
        let prefix = read_prefix(&mut stdin).map_err(|e| CliError::io("-", &e))?;
        let found = sniff(&prefix);
        let Sniffed::Archive(c) = found else {
            return Err(not_a_data_dir("-", &found, tool_mode));
        };
        return unpack(io::Cursor::new(prefix).chain(stdin), c, "-");
    }
    let path = Path::new(arg);
    let meta = fs::metadata(path).map_err(|e| CliError::io(arg, &e))?;
    if meta.is_dir() {
        return Ok(DataDirInput {
            dir: path.to_path_buf(),
            shown: arg.to_string(),
            archive: None,
            split: None,
            _unpacked: None,
        });
    }
    let found = sniff_file(path).map_err(|e| CliError::io(arg, &e))?;
    let Sniffed::Archive(c) = found else {
        return Err(not_a_data_dir(arg, &found, tool_mode));
    };
    let file = fs::File::open(path).map_err(|e| CliError::io(arg, &e))?;
    unpack(io::BufReader::new(file), c, arg)
}

/// A path argument made readable by path: standard input and archives are copied or unpacked
/// into temporary places (removed when this is dropped); everything else is used as it is.
#[derive(Debug)]
pub enum Materialized {
    /// The argument names a file or folder to read as it is.
    AsIs,
    /// Standard input (not an archive), copied to a temporary file.
    File {
        /// The temporary file.
        path: PathBuf,
        /// Removes it on drop.
        _temp: tempfile::TempPath,
    },
    /// A tar archive (a file or standard input), unpacked.
    DataDir(DataDirInput),
}

impl Materialized {
    /// The path to read, and the temporary path to show as the argument in messages.
    pub fn path<'a>(&'a self, arg: &'a str) -> (&'a Path, Option<&'a Path>) {
        match self {
            Materialized::AsIs => (Path::new(arg), None),
            Materialized::File { path, .. } => (path, Some(path)),
            Materialized::DataDir(d) => (&d.dir, Some(&d.dir)),
        }
    }

    /// The note to show when an archive held a split data dir.
    pub fn note(&self) -> Option<String> {
        match self {
            Materialized::DataDir(d) => d.note(),
            _ => None,
        }
    }
}

/// Makes `arg` readable by path: `-` (a file's bytes or an archive on standard input) and tar
/// archives of data dirs are turned into a temporary file or folder; anything else is left as
/// it is (missing paths included, for the caller to report).
///
/// # Errors
/// Reading standard input, unpacking an archive.
pub fn materialize(arg: &str) -> Result<Materialized, CliError> {
    if arg == "-" {
        let mut stdin = io::stdin().lock();
        crate::cli::refuse_terminal_stdin()?;
        let prefix = read_prefix(&mut stdin).map_err(|e| CliError::io("-", &e))?;
        if let Sniffed::Archive(c) = sniff(&prefix) {
            return unpack(io::Cursor::new(prefix).chain(stdin), c, "-").map(Materialized::DataDir);
        }
        let mut tmp = tempfile::Builder::new()
            .prefix("zkformat-stdin-")
            .tempfile()
            .map_err(|e| CliError::io("temporary file", &e))?;
        io::Write::write_all(&mut tmp, &prefix).map_err(|e| CliError::io("temporary file", &e))?;
        io::copy(&mut stdin, &mut tmp).map_err(|e| CliError::io("-", &e))?;
        let temp = tmp.into_temp_path();
        return Ok(Materialized::File {
            path: temp.to_path_buf(),
            _temp: temp,
        });
    }
    let path = Path::new(arg);
    if path.is_file() {
        if let Ok(Sniffed::Archive(c)) = sniff_file(path) {
            let file = fs::File::open(path).map_err(|e| CliError::io(arg, &e))?;
            return unpack(io::BufReader::new(file), c, arg).map(Materialized::DataDir);
        }
    }
    Ok(Materialized::AsIs)
}

/// Replaces a temporary path in a message by the argument the user gave.
pub fn show_as(text: &str, temp: Option<&Path>, arg: &str) -> String {
    match temp {
        Some(t) => text.replace(&t.display().to_string(), arg),
        None => text.to_string(),
    }
}

/// The refusal for an input that is not a data dir, naming what it is and what reads it.
pub fn not_a_data_dir(name: &str, found: &Sniffed, tool_mode: &str) -> CliError {
    let tool = tool_mode.split(' ').next().unwrap_or(tool_mode);
    let hint = match (found, tool) {
        (Sniffed::TxnLog, "zkfilter") => "for one txn log use `zkfilter log`".to_string(),
        (Sniffed::Snapshot(_), "zkfilter") => "for one snapshot use `zkfilter snapshot`".into(),
        (Sniffed::TxnLog | Sniffed::Snapshot(_), _) => {
            format!("for one file use `{tool}` on it directly (`{tool} FILE`)")
        }
        _ if name == "-" => "a folder cannot come through a pipe: send a tar archive (tar -C DATADIR -cz version-2 | …), or pass the folder's path".into(),
        _ => "pass the data dir's folder, or an archive of it".into(),
    };
    let mut e = CliError::msg(format!(
        "this is {}; {tool_mode} expects {DATA_DIR_EXPECTED}",
        found.describe()
    ))
    .with_path(name);
    e.hint = Some(hint);
    e
}

/// Unpacks the data files of a tar archive (read from `reader`) into a temporary folder.
///
/// # Errors
/// A damaged archive, one without data files, a full disk.
pub fn unpack(
    reader: impl Read,
    c: ArchiveCompression,
    shown: &str,
) -> Result<DataDirInput, CliError> {
    let reader: Box<dyn Read> = match c {
        ArchiveCompression::None => Box::new(reader),
        ArchiveCompression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        ArchiveCompression::Zstd => {
            Box::new(ruzstd::StreamingDecoder::new(reader).map_err(|e| {
                CliError::msg(format!("reading the zstd stream: {e}")).with_path(shown)
            })?)
        }
    };
    let unpacked = tempfile::Builder::new()
        .prefix("zkformat-unpacked-")
        .tempdir()
        .map_err(|e| CliError::io("temporary folder", &e))?;
    let (dir, split) = extract_data_files(reader, unpacked.path(), shown)?;
    Ok(DataDirInput {
        dir,
        shown: shown.to_string(),
        archive: Some(c),
        split,
        _unpacked: Some(unpacked),
    })
}

/// The ZooKeeper files of one folder of an archive.
#[derive(Debug, Default)]
struct Group {
    /// Where its files are unpacked (`dest/g<idx>`).
    idx: usize,
    snapshots: usize,
    logs: usize,
    epochs: usize,
}

/// Extracts the ZooKeeper files of a tar stream (logs, snapshots, epoch files; nothing else,
/// and only by their base names, so no entry can land outside `dest`) into `dest`; returns the
/// folder that holds them. Files from one folder are taken as they are; files from two folders,
/// one holding only snapshots (and epoch files) and the other only txn logs, are a split data
/// dir (a `dataDir` and its `dataLogDir`, as `dcos-zk backup` archives them) and are put
/// together; anything else spread over several folders is refused.
fn extract_data_files(
    reader: impl Read,
    dest: &Path,
    name: &str,
) -> Result<(PathBuf, Option<SplitDataDir>), CliError> {
    let mut ar = tar::Archive::new(reader);
    let mut groups: std::collections::BTreeMap<String, Group> = std::collections::BTreeMap::new();
    let damaged = |e: &io::Error| {
        let mut c = CliError::msg(format!("the archive cannot be read: {e}")).with_path(name);
        c.hint = Some("the archive is damaged or cut short; check it with `tar -tvf`".into());
        c
    };
    let entries = ar.entries().map_err(|e| damaged(&e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| damaged(&e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| damaged(&e))?.into_owned();
        let Some(base) = path
            .file_name()
            .and_then(|b| b.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let kind = zkformat::zxid::parse_file_name(&base).map(|n| n.kind);
        let is_epoch = base == "acceptedEpoch" || base == "currentEpoch";
        if kind.is_none() && !is_epoch {
            continue;
        }
        let parent = path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let n = groups.len();
        let group = groups.entry(parent).or_insert_with(|| Group {
            idx: n,
            ..Group::default()
        });
        match kind {
            Some(zkformat::zxid::FileNameKind::Log) => group.logs += 1,
            Some(zkformat::zxid::FileNameKind::Snapshot(_)) => group.snapshots += 1,
            None => group.epochs += 1,
        }
        let dir = dest.join(format!("g{}", group.idx));
        fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir.display().to_string(), &e))?;
        let target = dir.join(&base);
        let mut out = fs::File::create(&target)
            .map_err(|e| CliError::io(&target.display().to_string(), &e))?;
        // Reading the entry and writing the file fail differently: a damaged archive, or a
        // full disk for the unpacked copy.
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match io::Read::read(&mut entry, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(damaged(&e)),
            };
            io::Write::write_all(&mut out, buf.get(..n).unwrap_or(&[])).map_err(|e| {
                CliError::io(&target.display().to_string(), &e).with_what("the unpacked archive")
            })?;
        }
    }
    let mut folders = groups.iter();
    match (folders.next(), folders.next(), folders.next()) {
        (None, _, _) => {
            let mut e = CliError::msg("the archive holds no ZooKeeper log or snapshot file")
                .with_path(name);
            e.hint = Some(format!("expected {DATA_DIR_EXPECTED}"));
            Err(e)
        }
        (Some((_, g)), None, _) => Ok((dest.join(format!("g{}", g.idx)), None)),
        (Some(a), Some(b), None) => {
            let snaps_only = |g: &Group| g.snapshots > 0 && g.logs == 0;
            let logs_only = |g: &Group| g.logs > 0 && g.snapshots == 0 && g.epochs == 0;
            let ((snap_name, snaps), (log_name, logs)) = if snaps_only(a.1) && logs_only(b.1) {
                (a, b)
            } else if snaps_only(b.1) && logs_only(a.1) {
                (b, a)
            } else {
                return Err(several_folders(&groups, name));
            };
            let into = dest.join(format!("g{}", snaps.idx));
            let from = dest.join(format!("g{}", logs.idx));
            // Snapshots and logs have different names: nothing is overwritten.
            let listed =
                fs::read_dir(&from).map_err(|e| CliError::io(&from.display().to_string(), &e))?;
            for f in listed {
                let f = f.map_err(|e| CliError::io(&from.display().to_string(), &e))?;
                let target = into.join(f.file_name());
                fs::rename(f.path(), &target)
                    .map_err(|e| CliError::io(&target.display().to_string(), &e))?;
            }
            let _ = fs::remove_dir(&from);
            Ok((
                into,
                Some(SplitDataDir {
                    snapshots: snap_name.clone(),
                    logs: log_name.clone(),
                }),
            ))
        }
        _ => Err(several_folders(&groups, name)),
    }
}

/// The refusal for an archive whose data files are spread over folders in a way that is not a
/// split data dir.
fn several_folders(groups: &std::collections::BTreeMap<String, Group>, name: &str) -> CliError {
    let mut e = CliError::msg(format!(
        "the archive holds data files in several folders ({}); extract it and pass the one to use",
        groups.keys().cloned().collect::<Vec<_>>().join(", ")
    ))
    .with_path(name);
    e.hint = Some("an archive is read as it is when its data files are in one folder, or in two where one holds only the snapshots (and epoch files) and the other only the txn logs (a dataDir and its dataLogDir)".into());
    e
}

/// A folder whose ZooKeeper files are in two of its sub-folders, a `dataDir` holding only
/// snapshots (and epoch files) and a `dataLogDir` holding only txn logs (each the folder holding
/// `version-2/`, or that `version-2` itself), as a DC/OS master keeps them
/// (`/var/lib/dcos/exhibitor/zookeeper/{snapshot,transactions}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFolders {
    /// The folder given.
    pub dir: PathBuf,
    /// The sub-folder of the snapshots.
    pub snapshots: PathBuf,
    /// The sub-folder of the txn logs.
    pub logs: PathBuf,
}

impl SplitFolders {
    /// Looks for that layout in `dir`'s sub-folders; `None` when it is not one.
    pub fn find(dir: &Path) -> Option<SplitFolders> {
        let mut snapshots = Vec::new();
        let mut logs = Vec::new();
        let mut other = 0usize;
        let mut subs: Vec<PathBuf> = fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        for sub in subs {
            let Ok(dd) = zkformat::datadir::DataDir::scan(&sub) else {
                continue;
            };
            let epochs = dd.accepted_epoch.is_some() || dd.current_epoch.is_some();
            match (dd.snapshots.is_empty(), dd.logs.is_empty()) {
                (true, true) if !epochs => {}
                (false, true) => snapshots.push(sub),
                (true, false) if !epochs => logs.push(sub),
                _ => other += 1,
            }
        }
        match (snapshots.as_slice(), logs.as_slice(), other) {
            ([s], [l], 0) => Some(SplitFolders {
                dir: dir.to_path_buf(),
                snapshots: s.clone(),
                logs: l.clone(),
            }),
            _ => None,
        }
    }

    /// What to run instead, for `tool_mode` (`zkfilter datadir`, `zkdump verify`, …): the
    /// `--log-dir` form where the tool has it, else the folder as an archive on standard input.
    pub fn hint(&self, tool_mode: &str) -> String {
        let (s, l) = (shell_word(&self.snapshots), shell_word(&self.logs));
        let what = format!(
            "its snapshots and txn logs are in two folders, a dataDir and its dataLogDir ({s} and {l})"
        );
        match tool_mode {
            "zkfilter datadir" | "zkdump verify" => {
                format!("{what}: pass them as `{tool_mode} {s} --log-dir {l}`")
            }
            _ => format!(
                "{what}: pass them as an archive, `tar -C {} -c . | {tool_mode} -`",
                shell_word(&self.dir)
            ),
        }
    }
}

/// `p` as one shell word (single-quoted when it holds anything but plain characters).
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // Names written raw, so that hostile ones ("../x") can be made too.
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// Compresses with the `zstd` command (installed by scripts/install-deps.sh).
    pub(crate) fn zstd_cli(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = std::process::Command::new("zstd")
            .args(["-q", "-c"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the zstd command (apt-get install zstd)");
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
    }

    #[test]
    fn kinds_are_told_apart() {
        assert_eq!(sniff(b""), Sniffed::Empty);
        assert_eq!(sniff(b"ZKLG\0\0\0\x02"), Sniffed::TxnLog);
        assert!(matches!(sniff(b"hello\nworld"), Sniffed::Text(l) if l == "hello"));
        assert!(matches!(sniff(&[0, 1, 2, 0xff, 0xfe]), Sniffed::Other(_)));
        let tar = tar_of(&[("d/version-2/log.1", b"x")]);
        assert_eq!(sniff(&tar), Sniffed::Archive(ArchiveCompression::None));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(sniff(&gz), Sniffed::Archive(ArchiveCompression::Gzip));
        let zst = zstd_cli(&tar);
        assert_eq!(sniff(&zst), Sniffed::Archive(ArchiveCompression::Zstd));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"just text").unwrap();
        assert!(matches!(sniff(&gz.finish().unwrap()), Sniffed::Other(w) if w.contains("gzip")));
    }

    #[test]
    fn archives_unpack_only_data_files() {
        let tar = tar_of(&[
            ("d/version-2/log.1", b"log"),
            ("d/version-2/acceptedEpoch", b"1"),
            ("d/myid", b"3"),
        ]);
        let t = tempfile::tempdir().unwrap();
        let (dir, split) = extract_data_files(&tar[..], t.path(), "a.tar").unwrap();
        assert_eq!(split, None);
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["acceptedEpoch", "log.1"]);
        // Only base names are used: a hostile entry lands inside `dest`.
        let t2 = tempfile::tempdir().unwrap();
        let inner = t2.path().join("a/b");
        fs::create_dir_all(&inner).unwrap();
        let evil = tar_of(&[("../../log.5", b"no")]);
        let (dir, _) = extract_data_files(&evil[..], &inner, "e.tar").unwrap();
        assert!(dir.join("log.5").exists() && dir.starts_with(&inner));
        assert!(!t2.path().join("log.5").exists());
        let e = extract_data_files(&tar_of(&[("a", b"x")])[..], t.path(), "b.tar").unwrap_err();
        assert!(e.message.contains("no ZooKeeper"));
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_split_data_dir_is_put_together() {
        // As `dcos-zk backup` writes it: dataDir and dataLogDir side by side.
        let tar = tar_of(&[
            ("./zookeeper/transactions/version-2/log.1", b"log"),
            ("./zookeeper/snapshot/version-2/snapshot.0", b"snap"),
            ("./zookeeper/snapshot/version-2/acceptedEpoch", b"1"),
            ("./zookeeper/snapshot/version-2/currentEpoch", b"1"),
            ("./zookeeper/transactions/version-2/log.5", b"log"),
            ("./zookeeper/snapshot/version-2/snapshot.4", b"snap"),
        ]);
        let t = tempfile::tempdir().unwrap();
        let (dir, split) = extract_data_files(&tar[..], t.path(), "zk.tar").unwrap();
        assert_eq!(
            names_in(&dir),
            [
                "acceptedEpoch",
                "currentEpoch",
                "log.1",
                "log.5",
                "snapshot.0",
                "snapshot.4"
            ]
        );
        let split = split.unwrap();
        assert_eq!(split.snapshots, "./zookeeper/snapshot/version-2");
        assert_eq!(split.logs, "./zookeeper/transactions/version-2");
        assert!(split.note().starts_with(
            "archive holds a split data dir: snapshots in ./zookeeper/snapshot/version-2, logs in ./zookeeper/transactions/version-2"
        ));
        assert_eq!(names_in(t.path()).len(), 1, "one folder left");
    }

    #[test]
    fn other_spreads_are_refused() {
        let refused = |files: &[(&str, &[u8])]| {
            let t = tempfile::tempdir().unwrap();
            extract_data_files(&tar_of(files)[..], t.path(), "x.tar")
                .unwrap_err()
                .message
        };
        // Logs in both folders.
        let m = refused(&[("a/snapshot.0", b"s"), ("a/log.1", b"l"), ("b/log.5", b"l")]);
        assert!(m.contains("several folders (a, b)"), "{m}");
        // Snapshots in both.
        let m = refused(&[
            ("a/snapshot.0", b"s"),
            ("b/snapshot.5", b"s"),
            ("b/log.5", b"l"),
        ]);
        assert!(m.contains("several folders (a, b)"), "{m}");
        // Epoch files with the logs.
        let m = refused(&[
            ("a/snapshot.0", b"s"),
            ("b/log.1", b"l"),
            ("b/currentEpoch", b"1"),
        ]);
        assert!(m.contains("several folders (a, b)"), "{m}");
        // Three folders.
        let m = refused(&[("a/snapshot.0", b"s"), ("b/log.1", b"l"), ("c/log.9", b"l")]);
        assert!(m.contains("several folders (a, b, c)"), "{m}");
    }

    #[test]
    fn split_folders_are_found_with_the_log_dir_form() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("my zk");
        for (f, data) in [
            ("snapshot/version-2/snapshot.0", "s"),
            ("snapshot/version-2/currentEpoch", "1"),
            ("snapshot/myid", "1"),
            ("transactions/version-2/log.1", "l"),
            ("empty/x", ""),
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }
        let s = SplitFolders::find(&d).unwrap();
        assert_eq!(
            (s.snapshots.clone(), s.logs.clone()),
            (d.join("snapshot"), d.join("transactions"))
        );
        let (sw, lw) = (shell_word(&s.snapshots), shell_word(&s.logs));
        assert!(
            sw.starts_with('\'') && sw.ends_with("my zk/snapshot'"),
            "{sw}"
        );
        let h = s.hint("zkfilter datadir");
        assert!(
            h.contains(&format!("`zkfilter datadir {sw} --log-dir {lw}`")),
            "{h}"
        );
        let h = s.hint("zkdump summary");
        assert!(
            h.contains(&format!(
                "tar -C {} -c . | zkdump summary -",
                shell_word(&d)
            )),
            "{h}"
        );
        assert_eq!(shell_word(Path::new("it's")), "'it'\\''s'");
        // Logs on both sides: not a split data dir.
        fs::write(d.join("snapshot/version-2/log.3"), "l").unwrap();
        assert_eq!(SplitFolders::find(&d), None);
    }
}
