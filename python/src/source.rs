//! Inputs: a path (memory-mapped), a bytes-like object or a binary file object (read into
//! memory), shared by the objects that read from it.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use zkformat::source::FileBytes;
use zkformat::Limits;

/// The bytes of one input and how to name it.
#[derive(Debug)]
pub struct Src {
    /// The bytes (a read-only memory map for files).
    pub bytes: FileBytes,
    /// The name shown in records and errors (the path as given, or `-` as zkdump names stdin).
    pub name: String,
    /// Read limits (`jute.maxbuffer`).
    pub limits: Limits,
}

/// Read limits for an optional `jute_maxbuffer`.
pub fn limits(jute_maxbuffer: Option<u32>) -> Limits {
    jute_maxbuffer.map_or_else(Limits::default, Limits::with_maxbuffer)
}

/// A filesystem path argument (`str` or `os.PathLike`) as a string.
pub fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let p: PathBuf = obj.extract()?;
    Ok(p.display().to_string())
}

/// Opens `obj`: a path (`str`/`os.PathLike`), a bytes-like object, or a binary file object
/// (anything with `read`).
pub fn open(obj: &Bound<'_, PyAny>, name: Option<String>, limits: Limits) -> PyResult<Arc<Src>> {
    let py = obj.py();
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(owned(b.as_bytes().to_vec(), name, limits));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(owned(b.to_vec(), name, limits));
    }
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        let shown = path_arg(obj)?;
        let path = PathBuf::from(&shown);
        let bytes = py.detach(|| FileBytes::open(&path)).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err((
                e.raw_os_error().unwrap_or(0),
                e.to_string(),
                shown.clone(),
            ))
        })?;
        return Ok(Arc::new(Src {
            bytes,
            name: name.unwrap_or(shown),
            limits,
        }));
    }
    if obj.hasattr("read")? {
        // Read in pieces, so that the file is held once (in Rust memory), not twice.
        let mut v = Vec::new();
        loop {
            let chunk = obj.call_method1("read", (1usize << 20,))?;
            let b = chunk.cast::<PyBytes>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "zkformat.open: the file object must be opened in binary mode ('rb')",
                )
            })?;
            if b.as_bytes().is_empty() {
                break;
            }
            v.extend_from_slice(b.as_bytes());
        }
        let name = name.or_else(|| {
            obj.getattr("name")
                .ok()
                .and_then(|n| n.extract::<String>().ok())
        });
        return Ok(owned(v, name, limits));
    }
    // memoryview and other buffer objects.
    if let Ok(v) = obj.call_method0("tobytes") {
        if let Ok(b) = v.cast::<PyBytes>() {
            return Ok(owned(b.as_bytes().to_vec(), name, limits));
        }
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "zkformat.open expects a path, bytes or a binary file object, not {}",
        obj.get_type().name()?
    )))
}

fn owned(v: Vec<u8>, name: Option<String>, limits: Limits) -> Arc<Src> {
    Arc::new(Src {
        bytes: FileBytes::Owned(v),
        name: name.unwrap_or_else(|| "-".to_string()),
        limits,
    })
}

/// A `Read` over the shared bytes (for the streaming snapshot reader).
#[derive(Debug)]
pub struct SrcReader {
    src: Arc<Src>,
    pos: usize,
}

impl SrcReader {
    /// A reader from the start.
    pub fn new(src: Arc<Src>) -> SrcReader {
        SrcReader { src, pos: 0 }
    }
}

impl std::io::Read for SrcReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.src.bytes.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}
