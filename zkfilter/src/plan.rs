//! The output planner: the command-line contract about outputs, enforced in one place for every
//! tool and mode.
//!
//! A run declares its inputs and outputs to a [`Plan`] **before any work**:
//!
//! * an output equal to, inside, or containing an input (after resolving `.`, `..` and symlinks;
//!   the same file under another name counts too) is refused, whatever `--force` says;
//! * every output file and folder is staged now, next to its destination (so an unwritable place
//!   fails before the work, not after it), with the umask's permissions;
//! * at most one output goes to standard output, and binary output never to a terminal;
//! * an existing destination is refused without `--force`; with it, a file is replaced, and a
//!   data dir gets a new `version-2/` only when the old one holds nothing but what `zkfilter`
//!   writes (one snapshot and the epoch files): `myid` and every other file stay where they are.
//!
//! When the work is done, [`Plan::commit`] moves every staged output into place; if one of them
//! cannot be moved, the ones already moved are undone, so a run either writes all its outputs or
//! none. Dropping a plan without committing removes everything it staged.

use std::fs;
use std::io::{self, IsTerminal};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::cli::CliError;

/// The absolute form of `p`: symlinks resolved in the part of the path that exists, `.` and `..`
/// resolved in the rest.
///
/// # Errors
/// The current folder cannot be read.
pub fn resolve(p: &Path) -> io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let comps: Vec<Component<'_>> = abs.components().collect();
    // The longest prefix that exists, canonicalised; the rest applied lexically.
    for split in (0..=comps.len()).rev() {
        let head: PathBuf = comps.iter().take(split).collect();
        let Ok(mut out) = head.canonicalize() else {
            continue;
        };
        for c in comps.iter().skip(split) {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str()),
            }
        }
        return Ok(out);
    }
    Ok(abs)
}

/// A file's identity on disk (device, inode), when it exists.
fn identity(p: &Path) -> Option<(u64, u64)> {
    fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// How an output path overlaps an input path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The same path, or the same file under another name.
    Same,
    /// The output would be written inside the input.
    OutputInsideInput,
    /// The output would replace a folder that holds the input.
    InputInsideOutput,
}

impl Overlap {
    fn describe(self) -> &'static str {
        match self {
            Overlap::Same => "is",
            Overlap::OutputInsideInput => "is inside",
            Overlap::InputInsideOutput => "contains",
        }
    }
}

#[derive(Debug, Clone)]
struct InputPath {
    /// "the input data dir D", "--snapshot S".
    shown: String,
    resolved: PathBuf,
    id: Option<(u64, u64)>,
}

fn overlap(out: &Path, out_id: Option<(u64, u64)>, input: &InputPath) -> Option<Overlap> {
    if out == input.resolved || (out_id.is_some() && out_id == input.id) {
        Some(Overlap::Same)
    } else if out.starts_with(&input.resolved) {
        Some(Overlap::OutputInsideInput)
    } else if input.resolved.starts_with(out) {
        Some(Overlap::InputInsideOutput)
    } else {
        None
    }
}

/// Permissions for new files and folders: everything the umask allows (as `touch` and `mkdir`
/// would give), the same in every mode.
fn file_permissions() -> fs::Permissions {
    fs::Permissions::from_mode(0o666)
}

fn dir_permissions() -> fs::Permissions {
    fs::Permissions::from_mode(0o777)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string())
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// An I/O error without the temporary path tempfile adds to it.
fn os_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.kind().to_string()),
    }
}

/// Syncs a folder so a rename in it is durable (best effort).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An output file being written: a temporary file next to the destination.
#[derive(Debug)]
pub struct StagedFile {
    dest: PathBuf,
    what: String,
    temp: tempfile::NamedTempFile,
}

impl StagedFile {
    /// The file to write to.
    pub fn file(&mut self) -> &mut fs::File {
        self.temp.as_file_mut()
    }

    /// Where it goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

/// An output data dir being built.
#[derive(Debug)]
pub struct StagedDataDir {
    dest: PathBuf,
    what: String,
    /// The staging folder: the new `version-2/` itself when an existing data dir gets a new
    /// `version-2/`, or the whole new data dir.
    staged: tempfile::TempDir,
    /// Whether `dest` exists and only its `version-2/` is replaced.
    swap_version2: bool,
}

impl StagedDataDir {
    /// The folder where the new `version-2/` files are written.
    pub fn version2(&self) -> PathBuf {
        if self.swap_version2 {
            self.staged.path().to_path_buf()
        } else {
            self.staged.path().join("version-2")
        }
    }

    /// Where it goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

/// Where one output goes.
#[derive(Debug)]
pub enum Output {
    /// Standard output (written as the run goes).
    Stdout,
    /// A file, staged.
    File(StagedFile),
    /// A data dir, staged.
    DataDir(StagedDataDir),
}

/// The inputs and outputs of one run. See the module documentation.
#[derive(Debug)]
pub struct Plan {
    tool: &'static str,
    force: bool,
    inputs: Vec<InputPath>,
    /// Outputs planned so far ("the report (--report) r.json", resolved path).
    outputs: Vec<(String, PathBuf)>,
    stdin_user: Option<String>,
    stdout_user: Option<String>,
}

fn refuse(message: String, hint: &str) -> CliError {
    let mut e = CliError::msg(message);
    if !hint.is_empty() {
        e.hint = Some(hint.to_string());
    }
    e
}

impl Plan {
    /// A plan for `tool` (`zkfilter`, `zkdump`); `force` allows replacing earlier outputs.
    pub fn new(tool: &'static str, force: bool) -> Plan {
        Plan {
            tool,
            force,
            inputs: Vec::new(),
            outputs: Vec::new(),
            stdin_user: None,
            stdout_user: None,
        }
    }

    /// Declares an input (`-` = standard input, which can be read once). `what` names it in
    /// messages (`the input`, `--snapshot`, `--log-dir`, …).
    ///
    /// # Errors
    /// Standard input named twice.
    pub fn input(&mut self, arg: &str, what: &str) -> Result<(), CliError> {
        if arg == "-" {
            if let Some(first) = &self.stdin_user {
                return Err(refuse(
                    format!("standard input (-) is named twice, as {first} and as {what}; it can be read only once"),
                    "save one of them to a file and pass its path",
                ));
            }
            self.stdin_user = Some(what.to_string());
            // The file behind standard input, when it is one, is an input too.
            if let Ok(m) = fs::metadata("/dev/stdin") {
                if m.is_file() {
                    self.inputs.push(InputPath {
                        shown: format!("{what} (standard input)"),
                        resolved: PathBuf::from("/dev/stdin"),
                        id: Some((m.dev(), m.ino())),
                    });
                }
            }
            return Ok(());
        }
        let path = Path::new(arg);
        let resolved = resolve(path).map_err(|e| CliError::io(arg, &e))?;
        self.inputs.push(InputPath {
            shown: format!("{what} {arg}"),
            id: identity(&resolved),
            resolved,
        });
        Ok(())
    }

    /// Declares an input given as a path.
    ///
    /// # Errors
    /// See [`Plan::input`].
    pub fn input_path(&mut self, path: &Path, what: &str) -> Result<(), CliError> {
        self.input(&path.display().to_string(), what)
    }

    /// Claims standard output for `what`; `binary` outputs are refused on a terminal.
    ///
    /// # Errors
    /// Standard output already claimed, or a terminal for binary output.
    pub fn stdout(&mut self, what: &str, binary: bool) -> Result<Output, CliError> {
        if let Some(first) = &self.stdout_user {
            return Err(refuse(
                format!("both {first} and {what} would go to standard output (-)"),
                "send one of them to a file (-o FILE, --report FILE)",
            ));
        }
        if binary && io::stdout().is_terminal() {
            return Err(refuse(
                format!("refusing to write {what} (binary) to a terminal"),
                "use -o FILE, or redirect standard output (> FILE or | …)",
            ));
        }
        self.stdout_user = Some(what.to_string());
        Ok(Output::Stdout)
    }

    fn check_overlap(&mut self, dest: &Path, what: &str) -> Result<PathBuf, CliError> {
        let resolved = resolve(dest).map_err(|e| CliError::io(&shown(dest), &e))?;
        let id = identity(&resolved);
        for (other, path) in &self.outputs {
            if resolved.starts_with(path) || path.starts_with(&resolved) {
                return Err(refuse(
                    format!(
                        "{what} {} and {other} are the same place, or one is inside the other",
                        shown(dest)
                    ),
                    "give each output its own place",
                ));
            }
        }
        self.outputs
            .push((format!("{what} {}", shown(dest)), resolved.clone()));
        for input in &self.inputs {
            if let Some(o) = overlap(&resolved, id, input) {
                let real = if input.resolved.as_path() == Path::new("/dev/stdin") {
                    String::new()
                } else {
                    format!(" ({})", shown(&input.resolved))
                };
                return Err(refuse(
                    format!(
                        "{what} {} {} {}{real}: {} never writes over, into or around its inputs, even with --force",
                        shown(dest),
                        o.describe(),
                        input.shown,
                        self.tool
                    ),
                    "choose an output outside the input, e.g. a new folder next to it",
                ));
            }
        }
        Ok(resolved)
    }

    /// Plans an output: `-` is standard output (see [`Plan::stdout`]), anything else a file.
    ///
    /// # Errors
    /// See [`Plan::stdout`] and [`Plan::file`].
    pub fn output(&mut self, arg: &str, what: &str, binary: bool) -> Result<Output, CliError> {
        if arg == "-" {
            self.stdout(what, binary)
        } else {
            self.file(Path::new(arg), what).map(Output::File)
        }
    }

    /// Stages an output file at `dest`.
    ///
    /// # Errors
    /// An overlap with an input, an existing destination without `--force`, a folder in the
    /// way, or a place that cannot be written.
    pub fn file(&mut self, dest: &Path, what: &str) -> Result<StagedFile, CliError> {
        self.check_overlap(dest, what)?;
        let name = shown(dest);
        if dest.is_dir() {
            return Err(refuse(
                format!("{what} {name} is a folder; a file is written there"),
                "name a file inside it, e.g. -o DIR/FILE",
            ));
        }
        if dest.exists() && !self.force {
            return Err(refuse(
                format!("{what} {name} already exists"),
                "pass --force to replace it (it is replaced only once the new one is complete), or choose another name",
            ));
        }
        let dir = parent_dir(dest);
        if !dir.is_dir() {
            return Err(refuse(
                format!("{what} {name}: the folder {} does not exist", shown(&dir)),
                "create it first, or choose another place",
            ));
        }
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.{}-", file_name(dest), self.tool))
            .suffix(".tmp")
            .permissions(file_permissions())
            .tempfile_in(&dir)
            .map_err(|e| {
                refuse(
                    format!(
                        "{what} {name}: cannot write in {}: {}",
                        shown(&dir),
                        os_error(&e)
                    ),
                    "choose a writable place",
                )
            })?;
        Ok(StagedFile {
            dest: dest.to_path_buf(),
            what: what.to_string(),
            temp,
        })
    }

    /// Stages an output data dir at `dest` (ZooKeeper's `dataDir`: the files go to
    /// `dest/version-2/`).
    ///
    /// # Errors
    /// An overlap with an input, `-`, a file in the way, an existing `version-2/` without
    /// `--force` or holding more than an earlier output, or a place that cannot be written.
    pub fn data_dir(&mut self, dest: &Path, what: &str) -> Result<StagedDataDir, CliError> {
        let name = shown(dest);
        if name == "-" {
            return Err(refuse(
                format!("{what} cannot be standard output (-): a data dir is a folder of files"),
                "pass -o DIR, or --admin-restore FILE|- for the single stream ZooKeeper 3.9's admin `restore` accepts",
            ));
        }
        self.check_overlap(dest, what)?;
        if dest.exists() && !dest.is_dir() {
            return Err(refuse(
                format!("{what} {name} exists and is not a folder"),
                "choose a new folder, or an existing data dir",
            ));
        }
        let stage_in;
        let swap_version2 = dest.is_dir();
        if swap_version2 {
            self.check_existing_data_dir(dest, what)?;
            stage_in = dest.to_path_buf();
        } else {
            stage_in = parent_dir(dest);
            if !stage_in.is_dir() {
                return Err(refuse(
                    format!(
                        "{what} {name}: the folder {} does not exist",
                        shown(&stage_in)
                    ),
                    "create it first (mkdir -p), or choose another place",
                ));
            }
        }
        let prefix = if swap_version2 {
            format!(".version-2.{}-", self.tool)
        } else {
            format!(".{}.{}-", file_name(dest), self.tool)
        };
        let staged = tempfile::Builder::new()
            .prefix(&prefix)
            .permissions(dir_permissions())
            .tempdir_in(&stage_in)
            .map_err(|e| {
                refuse(
                    format!(
                        "{what} {name}: cannot write in {}: {}",
                        shown(&stage_in),
                        os_error(&e)
                    ),
                    "choose a writable place",
                )
            })?;
        Ok(StagedDataDir {
            dest: dest.to_path_buf(),
            what: what.to_string(),
            staged,
            swap_version2,
        })
    }

    /// An existing folder may receive a new `version-2/` when it has none, or, with `--force`,
    /// when its `version-2/` holds only what an earlier run wrote.
    fn check_existing_data_dir(&self, dest: &Path, what: &str) -> Result<(), CliError> {
        let name = shown(dest);
        let listing = |dir: &Path| -> Result<Vec<String>, CliError> {
            let mut v = Vec::new();
            for e in fs::read_dir(dir).map_err(|e| CliError::io(&shown(dir), &e))? {
                let e = e.map_err(|e| CliError::io(&shown(dir), &e))?;
                v.push(e.file_name().to_string_lossy().into_owned());
            }
            v.sort();
            Ok(v)
        };
        let top = listing(dest)?;
        let data_files: Vec<&String> = top
            .iter()
            .filter(|n| zkformat::zxid::parse_file_name(n).is_some())
            .collect();
        if !data_files.is_empty() {
            return Err(refuse(
                format!(
                    "{what} {name} holds ZooKeeper files itself ({}): it looks like a version-2 folder, not a data dir",
                    preview(&data_files)
                ),
                "name the data dir (the folder that holds version-2/), or a new folder",
            ));
        }
        let v2 = dest.join("version-2");
        if !v2.exists() {
            return Ok(());
        }
        if !v2.is_dir() {
            return Err(refuse(
                format!("{what} {name}: version-2 exists and is not a folder"),
                "move it aside, or choose another output",
            ));
        }
        if !self.force {
            return Err(refuse(
                format!("{what} {name} already holds a version-2/ folder"),
                "pass --force to replace an earlier output of zkfilter (only once the new one is complete; myid and other files stay), or choose a new folder",
            ));
        }
        let files = listing(&v2)?;
        let snapshots = files
            .iter()
            .filter(|n| {
                matches!(
                    zkformat::zxid::parse_file_name(n).map(|f| f.kind),
                    Some(zkformat::zxid::FileNameKind::Snapshot(_))
                )
            })
            .count();
        let foreign: Vec<&String> = files
            .iter()
            .filter(|n| {
                let is_snapshot = matches!(
                    zkformat::zxid::parse_file_name(n).map(|f| f.kind),
                    Some(zkformat::zxid::FileNameKind::Snapshot(_))
                );
                !(is_snapshot || *n == "acceptedEpoch" || *n == "currentEpoch")
            })
            .collect();
        if !foreign.is_empty() || snapshots > 1 {
            let why = if foreign.is_empty() {
                format!("{snapshots} snapshots")
            } else {
                preview(&foreign)
            };
            return Err(refuse(
                format!(
                    "{what} {name}: its version-2/ holds more than an earlier zkfilter output ({why}); --force replaces only an earlier output, and this looks like a server's data"
                ),
                "move it aside yourself (mv DIR/version-2 DIR/version-2.old), or choose a new folder",
            ));
        }
        Ok(())
    }

    /// Moves every staged output into place, in order; if one fails, those already moved are
    /// undone (earlier outputs come back) and the rest are removed.
    ///
    /// # Errors
    /// I/O errors syncing or renaming.
    pub fn commit(outputs: Vec<Output>) -> Result<(), CliError> {
        let mut done: Vec<Installed> = Vec::new();
        for o in outputs {
            let result = match o {
                Output::Stdout => io::Write::flush(&mut io::stdout())
                    .map(|()| None)
                    .map_err(|e| CliError::io("standard output", &e)),
                Output::File(f) => install_file(f).map(Some),
                Output::DataDir(d) => install_data_dir(d).map(Some),
            };
            match result {
                Ok(Some(i)) => done.push(i),
                Ok(None) => {}
                Err(e) => {
                    for i in done.into_iter().rev() {
                        i.undo();
                    }
                    return Err(e);
                }
            }
        }
        for i in done {
            i.finish();
        }
        Ok(())
    }
}

fn preview(names: &[&String]) -> String {
    let mut s = names
        .iter()
        .take(4)
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 4 {
        s.push_str(&format!(", … {} in all", names.len()));
    }
    s
}

/// An output moved into place; what it replaced is kept aside until every output is in place.
#[derive(Debug)]
struct Installed {
    dest: PathBuf,
    aside: Option<PathBuf>,
}

impl Installed {
    fn undo(self) {
        match &self.aside {
            // A file comes back in one rename; a folder must first be moved out of the way.
            Some(a) if a.is_file() => {
                let _ = fs::rename(a, &self.dest);
            }
            Some(a) => {
                let _ = remove_any(&self.dest);
                let _ = fs::rename(a, &self.dest);
            }
            None => {
                let _ = remove_any(&self.dest);
            }
        }
    }

    fn finish(self) {
        if let Some(a) = &self.aside {
            let _ = remove_any(a);
        }
    }
}

fn remove_any(p: &Path) -> io::Result<()> {
    if p.is_dir() {
        fs::remove_dir_all(p)
    } else {
        fs::remove_file(p)
    }
}

fn aside_name(dest: &Path, tool: &str) -> PathBuf {
    parent_dir(dest).join(format!(
        ".{}.{tool}-old-{}",
        file_name(dest),
        std::process::id()
    ))
}

fn install_file(f: StagedFile) -> Result<Installed, CliError> {
    let name = shown(&f.dest);
    let ctx = |e: &io::Error| CliError::io(&name, e).with_what(&f.what);
    f.temp.as_file().sync_all().map_err(|e| ctx(&e))?;
    // The file it replaces is kept under a second name until every output is in place, and
    // the new one is renamed over it: the destination is never missing, not even for a moment.
    let aside = if f.dest.exists() {
        let a = aside_name(&f.dest, "zkfilter");
        fs::hard_link(&f.dest, &a).map_err(|e| ctx(&e))?;
        Some(a)
    } else {
        None
    };
    let persisted = if aside.is_some() {
        f.temp.persist(&f.dest).map(drop)
    } else {
        f.temp.persist_noclobber(&f.dest).map(drop)
    };
    if let Err(e) = persisted {
        if let Some(a) = &aside {
            let _ = fs::remove_file(a);
        }
        return Err(ctx(&e.error));
    }
    sync_dir(&parent_dir(&f.dest));
    Ok(Installed {
        dest: f.dest,
        aside,
    })
}

fn install_data_dir(d: StagedDataDir) -> Result<Installed, CliError> {
    let (target, staged) = if d.swap_version2 {
        (d.dest.join("version-2"), d.staged.keep())
    } else {
        (d.dest.clone(), d.staged.keep())
    };
    let name = shown(&target);
    let fail = |e: &io::Error, staged: &Path| {
        let _ = fs::remove_dir_all(staged);
        CliError::io(&name, e).with_what(&d.what)
    };
    sync_dir(&staged);
    let aside = if target.exists() {
        if !d.swap_version2 {
            let _ = fs::remove_dir_all(&staged);
            return Err(CliError::msg(format!(
                "{name} appeared while the output was being built; nothing was changed"
            )));
        }
        let a = aside_name(&target, "zkfilter");
        fs::rename(&target, &a).map_err(|e| fail(&e, &staged))?;
        Some(a)
    } else {
        None
    };
    if let Err(e) = fs::rename(&staged, &target) {
        if let Some(a) = &aside {
            let _ = fs::rename(a, &target);
        }
        return Err(fail(&e, &staged));
    }
    sync_dir(&parent_dir(&target));
    Ok(Installed {
        dest: target,
        aside,
    })
}

/// Writes a file inside a staged folder and syncs it.
///
/// # Errors
/// I/O errors.
pub fn write_synced(
    path: &Path,
    f: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), CliError> {
    let name = shown(path);
    let file = fs::File::create(path).map_err(|e| CliError::io(&name, &e))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, file);
    f(&mut w).map_err(|e| CliError::io(&name, &e))?;
    let file = w.into_inner().map_err(|e| CliError::io(&name, e.error()))?;
    file.sync_all().map_err(|e| CliError::io(&name, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_follows_symlinks_and_dots() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, t.path().join("link")).unwrap();
        let base = t.path().canonicalize().unwrap();
        assert_eq!(
            resolve(&t.path().join("link/new/../x")).unwrap(),
            base.join("real/x")
        );
        assert_eq!(
            resolve(&t.path().join("real/./a/b/..")).unwrap(),
            base.join("real/a")
        );
    }

    #[test]
    fn overlaps_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        fs::create_dir_all(d.join("version-2")).unwrap();
        let mut plan = Plan::new("zkfilter", true);
        plan.input_path(&d, "the input").unwrap();
        assert!(plan.data_dir(&d, "the output").is_err());
        assert!(plan.data_dir(&d.join("sub"), "the output").is_err());
        assert!(plan.data_dir(t.path(), "the output").is_err());
        assert!(plan.file(&d.join("version-2/../x"), "the report").is_err());
        assert!(plan.data_dir(&t.path().join("e"), "the output").is_ok());
    }

    #[test]
    fn one_stdout() {
        let mut plan = Plan::new("zkfilter", false);
        plan.stdout("the report", false).unwrap();
        let e = plan.stdout("the filtered log", false).unwrap_err();
        assert!(e.message.contains("both the report and the filtered log"));
    }

    #[test]
    fn commit_undoes_earlier_outputs() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        fs::write(&a, b"old").unwrap();
        let mut plan = Plan::new("zkfilter", true);
        let mut fa = plan.file(&a, "a").unwrap();
        io::Write::write_all(fa.file(), b"new").unwrap();
        let mut dd = plan.data_dir(&t.path().join("dd"), "dd").unwrap();
        // Make the data dir fail at commit: its destination appears meanwhile.
        fs::create_dir(t.path().join("dd")).unwrap();
        let _ = &mut dd;
        let r = Plan::commit(vec![Output::File(fa), Output::DataDir(dd)]);
        assert!(r.is_err());
        assert_eq!(
            fs::read(&a).unwrap(),
            b"old",
            "the earlier output came back"
        );
    }
}
