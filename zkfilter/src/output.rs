//! Atomic outputs: everything is written to a temporary file (or folder) next to the destination
//! and renamed into place only when complete, so a killed or failed run leaves nothing at the
//! destination and an existing output is replaced only with `--force`.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::CliError;

/// Where a tool writes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output (`-`).
    Stdout,
    /// A file, written through a temporary file in the same folder.
    File {
        /// Final path.
        path: PathBuf,
        /// The temporary file (deleted if the run fails).
        temp: tempfile::NamedTempFile,
    },
}

/// Refuses to overwrite `path` unless `force`; says so in terms an operator can act on.
///
/// # Errors
/// The path exists and `force` is off.
pub fn check_overwrite(path: &Path, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::msg(format!(
            "{} already exists; pass --force to replace it (the old output is replaced only when the new one is complete)",
            path.display()
        )));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl Destination {
    /// Opens `arg` (`-` = stdout) for binary output.
    ///
    /// # Errors
    /// An existing file without `force`, binary output to a terminal, or I/O errors creating the
    /// temporary file.
    pub fn open(arg: &str, force: bool) -> Result<Destination, CliError> {
        if arg == "-" {
            if io::stdout().is_terminal() {
                return Err(CliError::msg(
                    "refusing to write binary output to a terminal: use -o FILE or redirect standard output",
                ));
            }
            return Ok(Destination::Stdout);
        }
        let path = PathBuf::from(arg);
        check_overwrite(&path, force)?;
        let dir = parent_dir(&path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.zkfilter-"))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| CliError::io(&dir.display().to_string(), &e))?;
        Ok(Destination::File { path, temp })
    }

    /// A writer for the output (buffered by the caller).
    pub fn writer(&mut self) -> Box<dyn Write + '_> {
        match self {
            Destination::Stdout => Box::new(io::stdout().lock()),
            Destination::File { temp, .. } => Box::new(temp.as_file_mut()),
        }
    }

    /// Makes the output durable and moves it into place.
    ///
    /// # Errors
    /// I/O errors syncing or renaming (the temporary file is removed).
    pub fn commit(self) -> Result<(), CliError> {
        match self {
            Destination::Stdout => io::stdout().flush().map_err(CliError::from),
            Destination::File { path, temp } => {
                let name = path.display().to_string();
                temp.as_file()
                    .sync_all()
                    .map_err(|e| CliError::io(&name, &e))?;
                temp.persist(&path)
                    .map_err(|e| CliError::io(&name, &e.error))?;
                sync_dir(&parent_dir(&path));
                Ok(())
            }
        }
    }
}

/// Syncs a folder so a rename in it is durable (best effort).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically (temp file + rename).
///
/// # Errors
/// An existing file without `force`, or I/O errors.
pub fn write_file_atomically(path: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    let mut d = Destination::open(&path.display().to_string(), force)?;
    d.writer()
        .write_all(bytes)
        .map_err(|e| CliError::io(&path.display().to_string(), &e))?;
    d.commit()
}

/// A folder built aside (`.<name>.zkfilter-XXXX` next to the destination) and renamed into place.
#[derive(Debug)]
pub struct StagedDir {
    dest: PathBuf,
    temp: Option<tempfile::TempDir>,
    force: bool,
}

impl StagedDir {
    /// Prepares a staging folder for `dest`.
    ///
    /// # Errors
    /// An existing destination without `force`, or I/O errors.
    pub fn new(dest: &Path, force: bool) -> Result<StagedDir, CliError> {
        check_overwrite(dest, force)?;
        let dir = parent_dir(dest);
        fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir.display().to_string(), &e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.zkfilter-"))
            .tempdir_in(&dir)
            .map_err(|e| CliError::io(&dir.display().to_string(), &e))?;
        Ok(StagedDir {
            dest: dest.to_path_buf(),
            temp: Some(temp),
            force,
        })
    }

    /// The staging folder.
    pub fn path(&self) -> &Path {
        self.temp.as_ref().map_or(Path::new("."), |t| t.path())
    }

    /// Moves the staged folder into place (replacing an old one only with `--force`, and only
    /// now that the new one is complete).
    ///
    /// # Errors
    /// I/O errors.
    pub fn commit(mut self) -> Result<(), CliError> {
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        let staged = temp.keep();
        let dest = self.dest.clone();
        let name = dest.display().to_string();
        let mut old = None;
        if dest.exists() {
            if !self.force {
                let _ = fs::remove_dir_all(&staged);
                return Err(CliError::msg(format!(
                    "{name} appeared while the output was being built; nothing was changed"
                )));
            }
            let aside = parent_dir(&dest).join(format!(
                ".{}.zkfilter-old-{}",
                dest.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::process::id()
            ));
            fs::rename(&dest, &aside).map_err(|e| CliError::io(&name, &e))?;
            old = Some(aside);
        }
        if let Err(e) = fs::rename(&staged, &dest) {
            if let Some(a) = &old {
                let _ = fs::rename(a, &dest);
            }
            let _ = fs::remove_dir_all(&staged);
            return Err(CliError::io(&name, &e));
        }
        sync_dir(&parent_dir(&dest));
        if let Some(a) = old {
            let _ = if a.is_dir() {
                fs::remove_dir_all(&a)
            } else {
                fs::remove_file(&a)
            };
        }
        Ok(())
    }
}

/// Writes a file inside a staging folder and syncs it.
///
/// # Errors
/// I/O errors.
pub fn write_synced(
    path: &Path,
    f: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), CliError> {
    let name = path.display().to_string();
    let file = fs::File::create(path).map_err(|e| CliError::io(&name, &e))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, file);
    f(&mut w).map_err(|e| CliError::io(&name, &e))?;
    let file = w.into_inner().map_err(|e| CliError::io(&name, e.error()))?;
    file.sync_all().map_err(|e| CliError::io(&name, &e))?;
    Ok(())
}
