//! Opening inputs: memory-mapped files (the fast path) or whole readers.

use std::fs::File;
use std::io::{self, Read};
use std::ops::{Deref, Range};
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
        FileBytes::of_file(&File::open(path)?)
    }

    /// Maps an open file (or reads it from its current position when it cannot be mapped).
    ///
    /// # Errors
    /// I/O errors reading the file.
    pub fn of_file(file: &File) -> io::Result<FileBytes> {
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to this process. The one hazard of mapping a
            // file is that another process truncates or rewrites it while it is mapped; the tools
            // only map inputs, which an operator copies aside from a live server before reading
            // (the README says so), and ZooKeeper itself only appends to logs, never truncating a
            // file it is writing. With `release_before`, the crate's only `unsafe`.
            #[allow(unsafe_code)]
            let map = unsafe { Mmap::map(file) };
            if let Ok(map) = map {
                return Ok(FileBytes::Mapped(map));
            }
        }
        let mut v = Vec::new();
        let mut file = file;
        file.read_to_end(&mut v)?;
        Ok(FileBytes::Owned(v))
    }

    /// Tells the kernel this process is done with the bytes before `end` (rounded down to a
    /// page): a mapped file's pages there leave the resident set. They stay in the page cache,
    /// and read back as they were if touched again. Nothing happens to bytes read into memory.
    /// A replay calls this behind the snapshot parser, so that the file and the tree built from
    /// it are not both resident at the end of the load.
    pub fn release_before(&self, end: usize) {
        const PAGE: usize = 4096;
        if let FileBytes::Mapped(map) = self {
            let len = end.min(map.len()) / PAGE * PAGE;
            if len > 0 {
                // SAFETY: MADV_DONTNEED on this read-only shared file mapping only unmaps the
                // pages; the range stays mapped, and a later read faults the same bytes back in
                // from the page cache (the file is not written meanwhile: see `of_file`). memmap2
                // marks the advice unsafe for private mappings, whose changes it would discard;
                // this map has none.
                #[allow(unsafe_code)]
                let _ = unsafe {
                    map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len)
                };
            }
        }
    }

    /// Like [`FileBytes::open`], with the file's holes: the byte ranges a sparse file stores no
    /// data for, which read as zeros (sorted, not overlapping; empty where the file system or
    /// platform cannot tell). ZooKeeper preallocates its logs by writing one byte far past the
    /// end, so most of a log's zero tail is a hole: [`crate::txnlog::TxnLog::with_holes`] counts
    /// it without reading it.
    ///
    /// # Errors
    /// As [`FileBytes::open`].
    pub fn open_with_holes(path: &Path) -> io::Result<(FileBytes, Vec<Range<usize>>)> {
        FileBytes::of_file_with_holes(&File::open(path)?)
    }

    /// [`FileBytes::of_file`] with the file's holes, as [`FileBytes::open_with_holes`] finds
    /// them. The file's offset is where it was (looking for holes moves it, then puts it back).
    ///
    /// # Errors
    /// As [`FileBytes::of_file`].
    pub fn of_file_with_holes(file: &File) -> io::Result<(FileBytes, Vec<Range<usize>>)> {
        let bytes = FileBytes::of_file(file)?;
        let holes = match &bytes {
            FileBytes::Mapped(m) => holes_of(file, m.len()),
            FileBytes::Owned(_) => Vec::new(),
        };
        Ok((bytes, holes))
    }
}

/// The holes of the first `len` bytes of `file`, from `lseek`'s `SEEK_HOLE`/`SEEK_DATA`.
#[cfg(target_os = "linux")]
fn holes_of(file: &File, len: usize) -> Vec<Range<usize>> {
    use rustix::fs::{seek, SeekFrom};
    let Ok(offset) = seek(file, SeekFrom::Current(0)) else {
        return Vec::new();
    };
    let holes = hole_ranges(file, len);
    // The offset is shared with every descriptor of the open file (standard input's too).
    let _ = seek(file, SeekFrom::Start(offset));
    holes
}

/// [`holes_of`]'s search, which leaves the file's offset anywhere.
#[cfg(target_os = "linux")]
fn hole_ranges(file: &File, len: usize) -> Vec<Range<usize>> {
    use rustix::fs::{seek, SeekFrom};
    let mut holes = Vec::new();
    let mut pos = 0usize;
    while pos < len {
        let Ok(hole) = seek(file, SeekFrom::Hole(pos as u64)) else {
            break;
        };
        let hole = usize::try_from(hole).unwrap_or(usize::MAX);
        if hole >= len {
            break;
        }
        let data = match seek(file, SeekFrom::Data(hole as u64)) {
            Ok(d) => usize::try_from(d).unwrap_or(usize::MAX).min(len),
            // No data after the hole: it runs to the end of the file.
            Err(e) if e == rustix::io::Errno::NXIO => len,
            Err(_) => break,
        };
        if data <= hole {
            break;
        }
        holes.push(hole..data);
        pos = data;
    }
    holes
}

/// Holes are not looked for on this platform.
#[cfg(not(target_os = "linux"))]
fn holes_of(_file: &File, _len: usize) -> Vec<Range<usize>> {
    Vec::new()
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
