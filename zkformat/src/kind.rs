//! File headers and telling a file's kind from its first bytes.
//!
//! | record | fields |
//! |---|---|
//! | `FileHeader` (16 bytes) | magic: int (`ZKLG` logs, `ZKSN` snapshots), version: int (2), dbid: long |

use crate::error::{Error, ErrorKind, Result};
use crate::jute::{self, Reader};
use crate::limits::Limits;

/// `ZKLG`: magic of txn logs.
pub const LOG_MAGIC: u32 = 0x5A4B_4C47;
/// `ZKSN`: magic of snapshots.
pub const SNAPSHOT_MAGIC: u32 = 0x5A4B_534E;
/// First bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// First 8 bytes of a snappy-java (`SnappyOutputStream`) stream.
pub const SNAPPY_JAVA_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// The 16-byte header at the start of every log and snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHeader {
    /// `ZKLG` or `ZKSN`.
    pub magic: u32,
    /// Format version (2 for every 3.x release; readers ignore it, as ZooKeeper does).
    pub version: i32,
    /// Database id: 0 in logs, -1 in snapshots.
    pub dbid: i64,
}

/// Encoded size of [`FileHeader`].
pub const FILE_HEADER_SIZE: usize = 16;

impl FileHeader {
    /// The header ZooKeeper writes on txn logs.
    pub const LOG: FileHeader = FileHeader {
        magic: LOG_MAGIC,
        version: 2,
        dbid: 0,
    };

    /// The header ZooKeeper writes on snapshots.
    pub const SNAPSHOT: FileHeader = FileHeader {
        magic: SNAPSHOT_MAGIC,
        version: 2,
        dbid: -1,
    };

    /// Decodes a header and checks its magic.
    pub fn decode(bytes: &[u8], expected_magic: u32) -> Result<FileHeader> {
        let mut r = Reader::new(bytes, 0, Limits::default());
        let what = if expected_magic == LOG_MAGIC {
            "txn log file header"
        } else {
            "snapshot file header"
        };
        let magic = r.i32(what)? as u32;
        if magic != expected_magic {
            return Err(Error::new(
                ErrorKind::BadMagic {
                    expected: expected_magic,
                    found: magic,
                },
                0,
            ));
        }
        Ok(FileHeader {
            magic,
            version: r.i32(what)?,
            dbid: r.i64(what)?,
        })
    }

    /// Encodes the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.magic as i32);
        jute::put_i32(out, self.version);
        jute::put_i64(out, self.dbid);
    }
}

/// What a file is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Starts with `ZKLG`.
    TxnLog,
    /// Starts with `ZKSN`.
    Snapshot,
    /// A gzip stream (a `.gz` snapshot).
    Gzip,
    /// A snappy-java stream (a `.snappy` snapshot).
    Snappy,
    /// None of the above.
    Unknown,
}

impl FileKind {
    /// Classifies a file from its first bytes (at least 8 are needed to recognise snappy).
    pub fn detect(prefix: &[u8]) -> FileKind {
        if prefix.starts_with(&LOG_MAGIC.to_be_bytes()) {
            FileKind::TxnLog
        } else if prefix.starts_with(&SNAPSHOT_MAGIC.to_be_bytes()) {
            FileKind::Snapshot
        } else if prefix.starts_with(&GZIP_MAGIC) {
            FileKind::Gzip
        } else if prefix.starts_with(&SNAPPY_JAVA_MAGIC) {
            FileKind::Snappy
        } else {
            FileKind::Unknown
        }
    }

    /// A short name for messages ("txn log", "snapshot", …).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::TxnLog => "txn log",
            FileKind::Snapshot => "snapshot",
            FileKind::Gzip => "gzip-compressed snapshot",
            FileKind::Snappy => "snappy-compressed snapshot",
            FileKind::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_and_decode() {
        let mut h = Vec::new();
        FileHeader::LOG.encode(&mut h);
        assert_eq!(h.len(), FILE_HEADER_SIZE);
        assert_eq!(&h[..4], b"ZKLG");
        assert_eq!(FileKind::detect(&h), FileKind::TxnLog);
        assert_eq!(FileHeader::decode(&h, LOG_MAGIC).unwrap(), FileHeader::LOG);
        let e = FileHeader::decode(&h, SNAPSHOT_MAGIC).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadMagic { .. }));
        assert_eq!(FileKind::detect(&SNAPPY_JAVA_MAGIC), FileKind::Snappy);
        assert_eq!(FileKind::detect(&[0x1f, 0x8b, 8]), FileKind::Gzip);
        assert_eq!(FileKind::detect(b"ZK"), FileKind::Unknown);
    }
}
