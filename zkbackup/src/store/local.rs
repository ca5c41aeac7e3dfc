//! A store in a local folder: one file per key, written to a temporary file in the same folder,
//! synced and renamed (or hard-linked, for create-if-absent). Files are created 0600 and folders
//! 0700: a backup holds everything the ensemble holds.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{ObjectMeta, Store, StoreError, StoreResult};

/// Prefix of temporary files (never listed).
const TEMP_PREFIX: &str = ".zkbackup-tmp-";

/// A folder holding the store's objects.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens the store in `root` (created, 0700, by the first write: opening writes nothing).
    ///
    /// # Errors
    /// `root` exists and is not a folder.
    pub fn open(root: &Path) -> StoreResult<LocalStore> {
        if root.exists() && !root.is_dir() {
            return Err(StoreError::Other(format!(
                "{}: exists and is not a folder (a local store is a folder)",
                root.display()
            )));
        }
        Ok(LocalStore {
            root: root.to_path_buf(),
        })
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && key
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && !c.starts_with(TEMP_PREFIX));
        if !valid {
            return Err(StoreError::Other(format!("{key:?}: not a valid key")));
        }
        Ok(self.root.join(key))
    }

    /// Writes `data` to a synced temporary file next to `path` and returns it.
    fn write_temp(
        &self,
        path: &Path,
        data: &mut dyn Read,
    ) -> StoreResult<(tempfile::NamedTempFile, u64)> {
        let dir = path.parent().unwrap_or(&self.root);
        create_dirs(dir).map_err(|e| other(dir, &e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| other(dir, &e))?;
        let n = {
            let mut w = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            let n = io::copy(data, &mut w).map_err(|e| other(path, &e))?;
            w.flush().map_err(|e| other(path, &e))?;
            n
        };
        tmp.as_file().sync_all().map_err(|e| other(path, &e))?;
        Ok((tmp, n))
    }
}

fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn other(path: &Path, e: &io::Error) -> StoreError {
    StoreError::Other(format!("{}: {e}", path.display()))
}

fn sync_parent(path: &Path) {
    if let Some(d) = path.parent() {
        if let Ok(f) = fs::File::open(d) {
            let _ = f.sync_all();
        }
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn local_root(&self) -> Option<PathBuf> {
        Some(self.root.clone())
    }

    fn put_stream(&self, key: &str, data: &mut dyn Read) -> StoreResult<u64> {
        let path = self.path_of(key)?;
        let (tmp, n) = self.write_temp(&path, data)?;
        tmp.persist(&path).map_err(|e| other(&path, &e.error))?;
        sync_parent(&path);
        Ok(n)
    }

    fn put_new(&self, key: &str, data: &[u8]) -> StoreResult<()> {
        let path = self.path_of(key)?;
        let (tmp, _) = self.write_temp(&path, &mut &data[..])?;
        // A hard link fails if the name is taken: create-if-absent, atomically.
        match fs::hard_link(tmp.path(), &path) {
            Ok(()) => {
                sync_parent(&path);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(StoreError::AlreadyExists(key.to_string()))
            }
            Err(e) => Err(other(&path, &e)),
        }
    }

    fn put(&self, key: &str, data: &[u8]) -> StoreResult<()> {
        self.put_stream(key, &mut &data[..]).map(drop)
    }

    fn get(&self, key: &str) -> StoreResult<Box<dyn Read + Send>> {
        let path = self.path_of(key)?;
        match fs::File::open(&path) {
            Ok(f) => Ok(Box::new(io::BufReader::with_capacity(1 << 20, f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(key.to_string()))
            }
            Err(e) => Err(other(&path, &e)),
        }
    }

    fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(other(&dir, &e)),
            };
            for entry in rd {
                let entry = entry.map_err(|e| other(&dir, &e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let p = entry.path();
                let ft = entry.file_type().map_err(|e| other(&p, &e))?;
                let Ok(rel) = p.strip_prefix(&self.root) else {
                    continue;
                };
                let key = rel.to_string_lossy().into_owned();
                if ft.is_dir() {
                    // Only descend where keys can still match the prefix.
                    let k = format!("{key}/");
                    if k.starts_with(prefix) || prefix.starts_with(&k) {
                        stack.push(p);
                    }
                } else if ft.is_file() && key.starts_with(prefix) {
                    let size = entry.metadata().map_err(|e| other(&p, &e))?.len();
                    out.push(ObjectMeta { key, size });
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_parent(&path);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(other(&path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn conformance() {
        let t = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&t.path().join("store")).unwrap();
        super::super::conformance::run(&store);
    }

    #[test]
    fn files_0600_folders_0700_and_keys_checked() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("s");
        let store = LocalStore::open(&root).unwrap();
        store.put("x/y/z", b"secret").unwrap();
        store.put_new("x/n", b"n").unwrap();
        assert_eq!(
            fs::metadata(root.join("x/y/z")).unwrap().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(root.join("x/n")).unwrap().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(root.join("x/y")).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(fs::metadata(&root).unwrap().mode() & 0o777, 0o700);
        for bad in ["", "/abs", "a/../b", "a//b", ".zkbackup-tmp-x"] {
            assert!(store.put(bad, b"x").is_err(), "{bad:?}");
        }
    }
}
