//! One interface over the slice readers (memory-mapped files) and the streaming readers
//! (standard input, compressed snapshots).

use std::io::Read;

use std::thread::Scope;
use zkformat::kind::{FileHeader, FileKind};

use zkformat::snapshot::{Item, Items, Snapshot, SnapshotReader, SnapshotSummary};
use zkformat::txnlog::{Entries, LogEnd, LogReader, TxnEntry, TxnLog};
use zkformat::{Limits, Result};

use crate::cli::Input;

/// The entries of a txn log, read from a slice or a stream. Entries with a bad checksum are
/// yielded (marked) so that tools can report them and go on, as TxnLogToolkit's dump does.
pub enum LogSource<'a> {
    /// A memory-mapped file.
    Slice(Entries<'a>),
    /// A stream.
    Stream(Box<LogReader<Box<dyn Read + Send + 'a>>>),
}

impl std::fmt::Debug for LogSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogSource::Slice(e) => f.debug_tuple("Slice").field(e).finish(),
            LogSource::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl<'a> LogSource<'a> {
    /// Opens the log in `input` and reads its header.
    ///
    /// # Errors
    /// I/O errors, a short input or a bad magic.
    pub fn open(input: &'a Input, limits: Limits) -> Result<(FileHeader, LogSource<'a>)> {
        match input.bytes() {
            // The file's holes (ZooKeeper's preallocated zero tail) are counted, not read.
            Some(b) => {
                let log = TxnLog::parse(b, limits)?.with_holes(input.holes());
                Ok((log.header(), LogSource::Slice(log.entries_lenient())))
            }
            None => {
                let rd = LogReader::lenient(input.reader(), limits)?;
                Ok((rd.header(), LogSource::Stream(Box::new(rd))))
            }
        }
    }

    /// Reads the log in `bytes`.
    ///
    /// # Errors
    /// A short input or a bad magic.
    pub fn from_slice(bytes: &'a [u8], limits: Limits) -> Result<(FileHeader, LogSource<'a>)> {
        let log = TxnLog::parse(bytes, limits)?;
        Ok((log.header(), LogSource::Slice(log.entries_lenient())))
    }

    /// The next entry (`Ok(None)` at the end).
    ///
    /// # Errors
    /// Framing errors (impossible lengths) and I/O errors.
    pub fn next_entry(&mut self) -> Result<Option<TxnEntry<'_>>> {
        match self {
            LogSource::Slice(e) => e.next_entry(),
            LogSource::Stream(r) => r.next_entry(),
        }
    }

    /// How the log ended (after the last entry was read).
    pub fn end(&self) -> Option<LogEnd> {
        match self {
            LogSource::Slice(e) => e.end(),
            LogSource::Stream(r) => r.end(),
        }
    }
}

/// The items of a snapshot, read from a slice or a (decompressing) stream.
#[derive(Debug)]
pub enum SnapSource<'a> {
    /// An uncompressed memory-mapped file.
    Slice(Box<Items<'a>>),
    /// A stream (compressed file, or standard input).
    Stream(Box<SnapshotReader<'a>>),
}

impl<'a> SnapSource<'a> {
    /// Opens the snapshot in `input` (plain, gzip or snappy); a compressed one is decompressed
    /// on a helper thread in `scope`, ahead of the parser.
    ///
    /// # Errors
    /// I/O errors reading the first bytes.
    pub fn open(
        scope: &'a Scope<'a, '_>,
        input: &'a Input,
        limits: Limits,
    ) -> Result<SnapSource<'a>> {
        match input.bytes() {
            Some(b) => Self::from_slice(scope, b, limits),
            None => Ok(SnapSource::Stream(Box::new(SnapshotReader::open_ahead(
                scope,
                input.reader(),
                limits,
            )?))),
        }
    }

    /// Reads the snapshot in `bytes` (plain, gzip or snappy); a compressed one is decompressed
    /// on a helper thread in `scope`, ahead of the parser.
    ///
    /// # Errors
    /// I/O errors reading the first bytes of a compressed stream.
    pub fn from_slice(
        scope: &'a Scope<'a, '_>,
        bytes: &'a [u8],
        limits: Limits,
    ) -> Result<SnapSource<'a>> {
        if FileKind::detect(bytes) == FileKind::Snapshot {
            Ok(SnapSource::Slice(Box::new(
                Snapshot::new(bytes, limits).items(),
            )))
        } else {
            Ok(SnapSource::Stream(Box::new(SnapshotReader::open_ahead(
                scope, bytes, limits,
            )?)))
        }
    }

    /// Reads on without comparing seals or computing the tree digest: a quicker first pass.
    pub fn skip_checks(&mut self) {
        match self {
            SnapSource::Slice(i) => i.skip_checks(),
            SnapSource::Stream(r) => r.skip_checks(),
        }
    }

    /// The next item (`Ok(None)` at the end).
    ///
    /// # Errors
    /// Everything the snapshot readers report.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>> {
        match self {
            SnapSource::Slice(i) => i.next_item(),
            SnapSource::Stream(r) => r.next_item(),
        }
    }

    /// What was read so far.
    pub fn summary(&self) -> SnapshotSummary {
        match self {
            SnapSource::Slice(i) => i.summary(),
            SnapSource::Stream(r) => r.summary(),
        }
    }

    /// The compression of the input.
    pub fn compression(&self) -> zkformat::compression::Compression {
        match self {
            SnapSource::Slice(_) => zkformat::compression::Compression::None,
            SnapSource::Stream(r) => r.compression(),
        }
    }
}

/// Is the input a snapshot (plain or compressed)?
pub fn is_snapshot_kind(k: FileKind) -> bool {
    matches!(k, FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy)
}
