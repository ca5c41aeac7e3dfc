//! The one error type of the crate: what went wrong, and where.
//!
//! Every error carries the absolute byte offset in the (decompressed) stream where the problem was
//! found and, when known, the zxid of the record being read. The library does not know file names;
//! callers (the CLIs) add them.

use std::fmt;
use std::io;

use crate::zxid::Zxid;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Each variant carries the values needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a record: `needed` more bytes were required.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many more bytes were needed.
        needed: u64,
    },
    /// The file does not start with the expected magic number.
    BadMagic {
        /// The magic that was expected (`ZKLG` or `ZKSN`).
        expected: u32,
        /// The four bytes found.
        found: u32,
    },
    /// A jute buffer or string length is negative (other than -1) or above the limit.
    LengthOutOfRange {
        /// Which field.
        field: &'static str,
        /// The stored length.
        len: i64,
        /// The largest length allowed here (the jute limit or the bytes left).
        limit: u64,
    },
    /// A vector count cannot fit in the bytes that are left.
    CountOutOfRange {
        /// Which field.
        field: &'static str,
        /// The stored count.
        count: i64,
        /// Bytes left in the record.
        bytes_left: u64,
    },
    /// A null (-1) where ZooKeeper cannot accept one (a path, say).
    UnexpectedNull {
        /// Which field.
        field: &'static str,
    },
    /// A txn log entry's Adler32 does not match its payload.
    ChecksumMismatch {
        /// Stored checksum.
        stored: u64,
        /// Checksum computed over the payload.
        computed: u64,
    },
    /// A snapshot seal (cumulative Adler32) does not match.
    SealMismatch {
        /// Which seal (1, 2 or 3).
        index: u8,
        /// Stored value.
        stored: u64,
        /// Computed value.
        computed: u64,
    },
    /// A seal is not followed by the `"/"` string ZooKeeper writes.
    BadSealTerminator,
    /// A txn log entry whose end-of-record byte is not `'B'` in the middle of a log.
    BadEndOfRecord {
        /// The byte found.
        found: u8,
    },
    /// A txn type ZooKeeper does not write in a log (or not at this place).
    UnknownTxnType {
        /// The op code.
        op: i32,
    },
    /// A txn payload has bytes left after the body that are not a 12-byte digest.
    TrailingBytes {
        /// What was being read.
        what: &'static str,
        /// How many bytes were left.
        len: u64,
    },
    /// A snapshot node's parent did not appear before it.
    MissingParent,
    /// The bytes after a snapshot's first seal are not a known tail.
    BadSnapshotTail {
        /// Bytes after seal #1.
        len: u64,
    },
    /// A stored digest does not match the digest computed from the data.
    DigestMismatch {
        /// Stored digest.
        stored: u64,
        /// Computed digest.
        computed: u64,
    },
    /// A compressed stream is corrupt or its decompressed size is over the limit.
    Decompression(String),
    /// A file in the pre-3.0 "version 1" format (no header, no checksums): not supported.
    LegacyFormat,
    /// An I/O error from the underlying reader.
    Io(io::ErrorKind, String),
    /// An I/O error writing an output (the offset is where the input was when it happened).
    Output(io::ErrorKind, String),
    /// Something the writer refuses to produce (for example a node whose parent was not written).
    InvalidInput(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    offset: u64,
    zxid: Option<Zxid>,
    record: Option<u64>,
}

/// An error with the byte offset where it was found. One word wide, so `Result`s stay small.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

impl Error {
    /// Makes an error of `kind` at absolute byte `offset`.
    #[cold]
    pub fn new(kind: ErrorKind, offset: u64) -> Error {
        Error(Box::new(Inner {
            kind,
            offset,
            zxid: None,
            record: None,
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Absolute byte offset in the (decompressed) input.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// The zxid of the record being read, when known.
    pub fn zxid(&self) -> Option<Zxid> {
        self.0.zxid
    }

    /// The 0-based index of the log entry or snapshot node being read, when known.
    pub fn record_index(&self) -> Option<u64> {
        self.0.record
    }

    /// True when the error only says that the input ended early.
    pub fn is_truncated(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Truncated { .. })
    }

    /// Attaches the zxid of the record being read (kept if one is set already).
    pub fn with_zxid(mut self, zxid: Zxid) -> Error {
        if self.0.zxid.is_none() {
            self.0.zxid = Some(zxid);
        }
        self
    }

    /// Attaches the index of the record being read (kept if one is set already).
    pub fn with_record(mut self, index: u64) -> Error {
        if self.0.record.is_none() {
            self.0.record = Some(index);
        }
        self
    }

    /// An error writing an output, while the input was at `offset`.
    #[cold]
    pub fn output(err: &io::Error, offset: u64) -> Error {
        Error::new(ErrorKind::Output(err.kind(), err.to_string()), offset)
    }

    /// An I/O error at `offset`.
    #[cold]
    pub fn io(err: &io::Error, offset: u64) -> Error {
        Error::new(ErrorKind::Io(err.kind(), err.to_string()), offset)
    }

    /// A hint for an operator: what to try next.
    pub fn hint(&self) -> &'static str {
        match &self.0.kind {
            ErrorKind::ChecksumMismatch { .. } => {
                "the entry is damaged; `zkfilter --salvage` keeps the entries before it, or ZooKeeper's `zkTxnLogToolkit.sh -r` rewrites the checksum if the payload is known to be good"
            }
            ErrorKind::SealMismatch { .. } | ErrorKind::BadSealTerminator | ErrorKind::BadSnapshotTail { .. } => {
                "the snapshot is damaged; ZooKeeper would skip it and use the next older snapshot plus logs (`zkdump verify DATADIR` shows which)"
            }
            ErrorKind::LengthOutOfRange { .. } => {
                "a length field is corrupt, or the data was written with a larger jute.maxbuffer (raise it with --jute-maxbuffer)"
            }
            ErrorKind::BadMagic { .. } => "this is not a ZooKeeper txn log or snapshot (or it is compressed with an unsupported method)",
            ErrorKind::LegacyFormat => "pre-3.0 (version-1) files must first be upgraded by ZooKeeper 3.4's UpgradeMain",
            ErrorKind::Truncated { .. } => "the file is cut short; copy it again from the source",
            _ => "the input is damaged at this offset; `zkdump verify` reports every problem in the file",
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = self.0.record {
            write!(f, "record {r} ")?;
        }
        if let Some(z) = self.0.zxid {
            write!(f, "(zxid {z}) ")?;
        }
        write!(f, "at byte {} (0x{:x}): ", self.0.offset, self.0.offset)?;
        match &self.0.kind {
            ErrorKind::Truncated { what, needed } => {
                write!(f, "input ends inside {what} ({needed} more bytes needed)")
            }
            ErrorKind::BadMagic { expected, found } => write!(
                f,
                "bad magic: expected {:?}, found {:?} (0x{found:08x})",
                String::from_utf8_lossy(&expected.to_be_bytes()),
                String::from_utf8_lossy(&found.to_be_bytes())
            ),
            ErrorKind::LengthOutOfRange { field, len, limit } => {
                write!(f, "unreasonable length {len} for {field} (limit {limit})")
            }
            ErrorKind::CountOutOfRange {
                field,
                count,
                bytes_left,
            } => write!(
                f,
                "vector count {count} for {field} cannot fit in the {bytes_left} bytes left"
            ),
            ErrorKind::UnexpectedNull { field } => write!(f, "null {field}"),
            ErrorKind::ChecksumMismatch { stored, computed } => write!(
                f,
                "Adler32 mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}"
            ),
            ErrorKind::SealMismatch {
                index,
                stored,
                computed,
            } => write!(
                f,
                "snapshot seal #{index} mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}"
            ),
            ErrorKind::BadSealTerminator => write!(f, "seal is not followed by the string \"/\""),
            ErrorKind::BadEndOfRecord { found } => {
                write!(
                    f,
                    "end-of-record byte is 0x{found:02x}, expected 0x42 ('B')"
                )
            }
            ErrorKind::UnknownTxnType { op } => write!(f, "unsupported txn type {op}"),
            ErrorKind::TrailingBytes { what, len } => {
                write!(f, "{len} unexpected bytes after {what}")
            }
            ErrorKind::MissingParent => write!(f, "node's parent is not in the snapshot before it"),
            ErrorKind::BadSnapshotTail { len } => write!(
                f,
                "{len} bytes after the first seal (expected 0, 21, 33 or 54)"
            ),
            ErrorKind::DigestMismatch { stored, computed } => write!(
                f,
                "tree digest mismatch: stored 0x{stored:x}, computed 0x{computed:x}"
            ),
            ErrorKind::Decompression(msg) => write!(f, "decompression failed: {msg}"),
            ErrorKind::LegacyFormat => write!(
                f,
                "pre-3.0 \"version 1\" file (no header, no checksums): not supported"
            ),
            ErrorKind::Io(_, msg) => write!(f, "I/O error: {msg}"),
            ErrorKind::Output(_, msg) => write!(f, "writing the output: {msg}"),
            ErrorKind::InvalidInput(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind() {
            ErrorKind::Io(k, _) | ErrorKind::Output(k, _) => *k,
            ErrorKind::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
