//! Opening inputs: memory-mapped files (the fast path) or whole readers.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

/// The bytes of an input file: memory-mapped when possible, read into memory otherwise
/// (empty files, pipes and special files cannot be mapped).
#[derive(Debug)]
pub enum FileBytes {
    /// A read-only memory map.
    Mapped(Mmap),
    /// Bytes read into memory.
    Owned(Vec<u8>),
}

impl FileBytes {
    /// Opens `path` read-only and maps it (or reads it if it cannot be mapped).
    ///
    /// # Errors
    /// I/O errors opening or reading the file.
    pub fn open(path: &Path) -> io::Result<FileBytes> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to this process. The one hazard of mapping a
            // file is that another process truncates or rewrites it while it is mapped; the tools
            // only map inputs, which an operator copies aside from a live server before reading
            // (the README says so), and ZooKeeper itself only appends to logs, never truncating a
            // file it is writing. This is the crate's only `unsafe`.
            #[allow(unsafe_code)]
            let map = unsafe { Mmap::map(&file) };
            if let Ok(map) = map {
                return Ok(FileBytes::Mapped(map));
            }
        }
        let mut v = Vec::new();
        (&file).read_to_end(&mut v)?;
        Ok(FileBytes::Owned(v))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}
