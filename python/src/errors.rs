//! The exception hierarchy: every error of the library or of the tools becomes a
//! `ZkFormatError` (or a subclass) carrying `file`, `offset`, `zxid`, `hint` and `kind`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use zkfilter::cli::CliError;
use zkformat::ErrorKind;

create_exception!(
    zkformat,
    ZkFormatError,
    PyException,
    "Base class of every zkformat error. Attributes: file (str or None), offset (int or None: byte offset in the decompressed stream), zxid (int or None), hint (str or None: what to try next), kind (str: the library's error kind, e.g. \"ChecksumMismatch\", or \"Tool\" for errors of the tools' checks)."
);
create_exception!(
    zkformat,
    TruncatedError,
    ZkFormatError,
    "The input ends inside a record (a file cut short)."
);
create_exception!(
    zkformat,
    ChecksumError,
    ZkFormatError,
    "A txn log entry's Adler32, a snapshot seal or a digest does not match."
);
create_exception!(
    zkformat,
    CorruptError,
    ZkFormatError,
    "A record is damaged: impossible length or count, bad end-of-record byte, unknown txn type, missing parent, ..."
);
create_exception!(
    zkformat,
    UnknownFormatError,
    ZkFormatError,
    "Not a ZooKeeper txn log or snapshot (empty, random bytes, bad magic, pre-3.0 format)."
);
create_exception!(
    zkformat,
    DecompressionError,
    ZkFormatError,
    "A gzip or snappy stream is corrupt, or decompresses to more than the limit."
);

/// The variant name of an error kind (`ChecksumMismatch`, …).
fn kind_name(k: &ErrorKind) -> String {
    let dbg = format!("{k:?}");
    dbg.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string()
}

/// Builds the exception of class `T` for a tool error, attributes set.
fn raise<T: pyo3::PyTypeInfo>(py: Python<'_>, e: &CliError, kind: &str) -> PyErr {
    let err = PyErr::new::<T, _>(e.to_string());
    let v = err.value(py);
    let _ = v.setattr("file", e.path.clone());
    let _ = v.setattr("offset", e.offset);
    let _ = v.setattr("zxid", e.zxid.map(|z| z.0));
    let _ = v.setattr("hint", e.hint.clone());
    let _ = v.setattr("kind", kind);
    let _ = v.setattr("message", e.message.clone());
    err
}

/// A library error while reading `file`.
pub fn format_error(file: &str, e: &zkformat::Error) -> PyErr {
    Python::attach(|py| {
        let cli = CliError::format(file, e);
        let kind = kind_name(e.kind());
        match e.kind() {
            ErrorKind::Truncated { .. } => raise::<TruncatedError>(py, &cli, &kind),
            ErrorKind::ChecksumMismatch { .. }
            | ErrorKind::SealMismatch { .. }
            | ErrorKind::DigestMismatch { .. } => raise::<ChecksumError>(py, &cli, &kind),
            ErrorKind::BadMagic { .. } | ErrorKind::LegacyFormat => {
                raise::<UnknownFormatError>(py, &cli, &kind)
            }
            ErrorKind::Decompression(_) => raise::<DecompressionError>(py, &cli, &kind),
            ErrorKind::Io(..) | ErrorKind::Output(..) => raise::<ZkFormatError>(py, &cli, &kind),
            _ => raise::<CorruptError>(py, &cli, &kind),
        }
    })
}

/// An error of the tools (`zkfilter datadir`'s checks, `zkdump`'s input handling).
pub fn cli_error(e: &CliError) -> PyErr {
    Python::attach(|py| raise::<ZkFormatError>(py, e, "Tool"))
}

/// An input that is neither a txn log nor a snapshot.
pub fn unknown_format(e: &CliError) -> PyErr {
    Python::attach(|py| raise::<UnknownFormatError>(py, e, "UnknownFormat"))
}

/// Registers the exception classes in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ZkFormatError", py.get_type::<ZkFormatError>())?;
    m.add("TruncatedError", py.get_type::<TruncatedError>())?;
    m.add("ChecksumError", py.get_type::<ChecksumError>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    m.add("UnknownFormatError", py.get_type::<UnknownFormatError>())?;
    m.add("DecompressionError", py.get_type::<DecompressionError>())?;
    // Class-level defaults, so that the attributes exist on instances raised by Python code too.
    for name in ["file", "offset", "zxid", "hint", "message"] {
        py.get_type::<ZkFormatError>().setattr(name, py.None())?;
    }
    py.get_type::<ZkFormatError>().setattr("kind", "")?;
    Ok(())
}
