//! The logs of a replay, read on a helper thread that starts with the snapshot's load.
//!
//! While two threads load the snapshot, a third reads the logs after it: it frames and
//! checksums every entry, shows each to the caller's watcher, passes over the entries the
//! snapshot already holds and queues copies of the others, a few MiB at most. Once the tree is
//! loaded the replay only decodes and applies; the log it starts in (often mostly txns from before the
//! snapshot) and each log's zero-padded tail were read during the load or are read while
//! earlier txns are applied.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::txnlog::{LogEnd, LogReader, TxnEntry};
use crate::zxid::Zxid;

/// Bytes of entries in one handed-over batch (at least one entry, however large).
const BATCH_BYTES: usize = 256 << 10;

/// Batches that may wait for the replay: 4 MiB, so the reader gets through a log's zero
/// padding (most of a 64 MiB file) while the replay applies the last MiB of entries before it.
pub(super) const DEPTH: usize = 16;

/// Where one entry sits in its batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    start: usize,
    len: usize,
    offset: u64,
    index: u64,
}

/// What the reader hands over, log after log, in order: a log's batches, then how it ended.
#[derive(Debug)]
pub(super) enum LogRead {
    /// Entries after the snapshot's zxid (and not after `to_zxid`), copied out of the file.
    Entries(Vec<u8>, Vec<Frame>),
    /// The log was read to its end; the reader goes on with the next one.
    End(LogEnd),
    /// The reader stopped inside the log: its next txn is past `to_zxid`.
    Reached,
    /// The log could not be opened (the replay fails, even when salvaging). The reader stops.
    OpenFailed(Error),
    /// The log could not be read on (a salvaging replay stops here). The reader stops.
    Failed(Error),
}

impl LogRead {
    /// Each entry of a batch, as the reader framed and checked it.
    pub(super) fn entries<'b>(
        bytes: &'b [u8],
        frames: &'b [Frame],
        limits: Limits,
    ) -> impl Iterator<Item = Result<TxnEntry<'b>>> + 'b {
        frames.iter().map(move |f| {
            let raw = f
                .start
                .checked_add(f.len)
                .and_then(|end| bytes.get(f.start..end))
                .unwrap_or(&[]);
            TxnEntry::from_frame(raw, f.offset, f.index, true, limits)
        })
    }
}

/// Reads `logs` in order for a replay from a snapshot at `after`: shows every entry to `watch`
/// and sends the replay the entries after `after`, up to `to_zxid`. Stops at the first
/// problem, at `to_zxid`, or when the replay stops listening.
pub(super) fn read_logs(
    logs: &[PathBuf],
    after: Zxid,
    to_zxid: Option<Zxid>,
    limits: Limits,
    watch: &mut (dyn FnMut(&Path, &TxnEntry<'_>) + Send),
    out: &SyncSender<LogRead>,
) {
    for path in logs {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                let _ = out.send(LogRead::OpenFailed(Error::io(&e, 0)));
                return;
            }
        };
        let mut bytes = Vec::new();
        let mut frames = Vec::new();
        let outcome = (|| -> Result<Option<LogEnd>> {
            let mut reader = LogReader::new(file, limits)?;
            while let Some(e) = reader.next_entry()? {
                watch(path, &e);
                if e.zxid() <= after {
                    continue;
                }
                if to_zxid.is_some_and(|z| e.zxid() > z) {
                    return Ok(None);
                }
                frames.push(Frame {
                    start: bytes.len(),
                    len: e.raw().len(),
                    offset: e.offset(),
                    index: e.index(),
                });
                bytes.extend_from_slice(e.raw());
                if bytes.len() >= BATCH_BYTES {
                    let full =
                        LogRead::Entries(std::mem::take(&mut bytes), std::mem::take(&mut frames));
                    if out.send(full).is_err() {
                        // The replay stopped: nothing more to read.
                        return Ok(None);
                    }
                }
            }
            Ok(reader.end())
        })();
        if !frames.is_empty() && out.send(LogRead::Entries(bytes, frames)).is_err() {
            return;
        }
        let (last, more) = match outcome {
            Ok(Some(end)) => (LogRead::End(end), true),
            Ok(None) => (LogRead::Reached, false),
            Err(e) => (LogRead::Failed(e), false),
        };
        if out.send(last).is_err() || !more {
            return;
        }
    }
}
