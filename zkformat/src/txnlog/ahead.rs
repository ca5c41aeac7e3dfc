//! Reading a txn log one batch ahead, on a helper thread.
//!
//! [`LogReader::read_ahead`] (any reader) and [`TxnLog::read_ahead`] (a log in memory) move the
//! framing and the Adler32 check of every entry to a second thread, which hands verified entries
//! over in batches: from a stream, the read buffers themselves (about [`READ_AHEAD_BATCH`]
//! bytes each, nothing copied but the start of an entry cut by a buffer's end), or just the
//! positions of [`READ_AHEAD_FRAMES`] entries of a slice. The caller decodes and acts on one
//! batch while the next is read and checked: on two cores a filter or a verifier runs at the
//! speed of the slower half instead of the sum of both. Memory stays bounded: at most
//! [`READ_AHEAD_DEPTH`] batches wait in the queue.
//!
//! Entries, errors and the log's end arrive in file order, exactly as [`LogReader::next_entry`]
//! gives them. The `_with` variants also run a caller's `prepare` step on every entry on the
//! helper thread (decoding it, say) and hand its result over with the entry.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

use super::{Entries, LogEnd, LogReader, Step, TxnEntry, TxnLog};
use crate::error::Result;
use crate::kind::FileHeader;
use crate::limits::Limits;
use crate::txn::TxnHeader;

/// Bytes of a stream the helper thread reads into one batch's buffer before handing it over (a
/// batch holds at least one entry, however large).
pub const READ_AHEAD_BATCH: usize = super::READ_CHUNK;

/// Entries per batch when reading a log in memory (nothing is copied then).
pub const READ_AHEAD_FRAMES: usize = 4096;

/// Batches that may wait for the caller (more than this and the helper thread waits).
pub const READ_AHEAD_DEPTH: usize = 4;

/// Where one entry sits in its batch (16 bytes: the caller re-reads the txn header from the
/// entry, and offsets and indexes follow from the batch's first entry).
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: usize,
    len: u32,
    checksum_ok: bool,
}

/// Entries copied out of the reader's buffer, and, in the last batch, how the log ended.
#[derive(Debug)]
struct Batch<P> {
    bytes: Vec<u8>,
    frames: Vec<Frame>,
    /// What `prepare` made of each entry (one per frame).
    prepared: Vec<P>,
    /// Set on the last batch: the end of the log, or the error that stopped the reader.
    outcome: Option<Result<Option<LogEnd>>>,
    /// Offset and index of the first entry (the others follow it without gaps).
    first_offset: u64,
    first_index: u64,
}

impl<P> Default for Batch<P> {
    fn default() -> Batch<P> {
        Batch {
            bytes: Vec::new(),
            frames: Vec::new(),
            prepared: Vec::new(),
            outcome: None,
            first_offset: 0,
            first_index: 0,
        }
    }
}

/// The caller's side of [`LogReader::read_ahead`]: entries in file order, verified by the helper
/// thread.
#[derive(Debug)]
pub struct ReadAhead<'a, P = ()> {
    /// The log in memory, when reading one (frames point into it instead of into batches).
    slice: Option<&'a [u8]>,
    batches: Receiver<Batch<P>>,
    recycle: SyncSender<Batch<P>>,
    current: Batch<P>,
    next: usize,
    header: FileHeader,
    limits: Limits,
    end: Option<LogEnd>,
    finished: bool,
}

impl<P> ReadAhead<'_, P> {
    /// The file header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// How the log ended; `None` until all entries were read (or after an error).
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// The next entry (`Ok(None)` at the end). The entry borrows the current batch.
    ///
    /// # Errors
    /// Whatever [`LogReader::next_entry`] reported at this point of the log; after an error no
    /// more entries come.
    pub fn next_entry(&mut self) -> Result<Option<TxnEntry<'_>>> {
        Ok(self.next_prepared()?.map(|(entry, _)| entry))
    }

    /// The next entry and what the `prepare` step made of it (`Ok(None)` at the end).
    ///
    /// # Errors
    /// As [`ReadAhead::next_entry`].
    pub fn next_prepared(&mut self) -> Result<Option<(TxnEntry<'_>, &P)>> {
        while self.next >= self.current.frames.len() {
            if let Some(outcome) = self.current.outcome.take() {
                self.finished = true;
                self.end = outcome?;
                return Ok(None);
            }
            if self.finished {
                return Ok(None);
            }
            let Ok(batch) = self.batches.recv() else {
                // The helper thread is gone without a last batch: it cannot be, but end cleanly.
                self.finished = true;
                return Ok(None);
            };
            let done = std::mem::replace(&mut self.current, batch);
            // Hand the buffers back for reuse; if the queue is full they are simply freed.
            let _ = self.recycle.try_send(done);
            self.next = 0;
        }
        let i = self.next;
        let (Some(f), Some(prepared)) = (
            self.current.frames.get(i).copied(),
            self.current.prepared.get(i),
        ) else {
            return Ok(None);
        };
        self.next += 1;
        let source: &[u8] = match self.slice {
            Some(s) => s,
            None => &self.current.bytes,
        };
        let raw = f
            .start
            .checked_add(f.len as usize)
            .and_then(|end| source.get(f.start..end))
            .unwrap_or(&[]);
        // Entries follow each other: the offset is the first one's plus the distance to it.
        let first_start = self
            .current
            .frames
            .first()
            .map_or(f.start, |first| first.start);
        let entry = TxnEntry {
            raw,
            offset: self.current.first_offset + (f.start - first_start) as u64,
            index: self.current.first_index + i as u64,
            header: TxnHeader::from_payload(raw.get(12..).unwrap_or(&[])),
            checksum_ok: f.checksum_ok,
            limits: self.limits,
        };
        Ok(Some((entry, prepared)))
    }
}

/// Adds an entry at `start` to `batch` with what `prepare` made of it.
fn push<P>(batch: &mut Batch<P>, e: &TxnEntry<'_>, start: usize, prepared: P) {
    if batch.frames.is_empty() {
        batch.first_offset = e.offset();
        batch.first_index = e.index();
    }
    batch.frames.push(Frame {
        start,
        // Framed entries are shorter than jute's largest buffer (under 2 GiB).
        len: u32::try_from(e.raw().len()).unwrap_or(u32::MAX),
        checksum_ok: e.checksum_ok(),
    });
    batch.prepared.push(prepared);
}

/// A batch from the recycled ones (its byte buffer keeps its size, to be reused without being
/// zeroed again), or a new one.
fn fresh<P>(recycled: &Receiver<Batch<P>>) -> Batch<P> {
    match recycled.try_recv() {
        Ok(mut b) => {
            b.frames.clear();
            b.prepared.clear();
            b.outcome = None;
            b
        }
        Err(TryRecvError::Empty | TryRecvError::Disconnected) => Batch::default(),
    }
}

/// Sends `batch` with `outcome`; false when the caller stopped reading or this was the last.
fn send<P>(
    out: &SyncSender<Batch<P>>,
    batch: &mut Batch<P>,
    outcome: Option<Result<Option<LogEnd>>>,
) -> bool {
    let last = outcome.is_some();
    batch.outcome = outcome;
    // A send fails only when the caller stopped reading: nothing left to do.
    out.send(std::mem::take(batch)).is_ok() && !last
}

/// The helper thread of a stream: reads straight into the batch's buffer, frames and checks the
/// entries where they landed, and hands the buffer itself over once it is full (only the start
/// of an entry cut by the buffer's end is copied, into the next buffer). Sends in file order.
fn produce_stream<R: Read, P>(
    mut reader: LogReader<R>,
    prepare: impl Fn(&TxnEntry<'_>) -> P,
    out: SyncSender<Batch<P>>,
    recycled: Receiver<Batch<P>>,
) {
    let mut batch = fresh(&recycled);
    if reader.failed || reader.end.is_some() {
        send(&out, &mut batch, Some(Ok(reader.end)));
        return;
    }
    let limits = reader.limits;
    let buf = &mut reader.buf;
    let parser = &mut reader.parser;
    loop {
        let offset = parser.offset();
        let index = parser.next_index();
        let outcome = match parser.step(buf.data(), buf.eof()) {
            Err(e) => Some(Err(e)),
            Ok(Step::Header(_)) => None,
            Ok(Step::Entry { len, checksum_ok }) => {
                let start = buf.start;
                buf.consume(len);
                let raw = buf.consumed_slice(len);
                match TxnEntry::from_frame(raw, offset, index, checksum_ok, limits) {
                    Ok(e) => {
                        push(&mut batch, &e, start, prepare(&e));
                        None
                    }
                    Err(e) => Some(Err(e)),
                }
            }
            Ok(Step::NeedMoreData(n)) => {
                let full = buf.start.saturating_add(n) > buf.buf.len();
                if full && !batch.frames.is_empty() {
                    let mut next = fresh(&recycled);
                    batch.bytes = buf.swap_buffer(std::mem::take(&mut next.bytes));
                    if !send(&out, &mut batch, None) {
                        return;
                    }
                    batch = next;
                }
                // With entries framed in the buffer, read only after them; otherwise the buffer
                // may be compacted or grown.
                let filled = if batch.frames.is_empty() {
                    buf.fill(n)
                } else {
                    buf.fill_in_place(n)
                };
                filled.err().map(Err)
            }
            Ok(Step::End(reason)) => {
                // The framed entries leave with their buffer; the rest of the input is counted.
                batch.bytes = buf.swap_buffer(Vec::new());
                Some(buf.drain().map(|(trailing_bytes, trailing_nonzero)| {
                    Some(LogEnd {
                        reason,
                        offset,
                        trailing_bytes,
                        trailing_nonzero,
                    })
                }))
            }
        };
        if let Some(outcome) = outcome {
            // The framed entries leave with their buffer (at the end it already left).
            if batch.bytes.is_empty() {
                batch.bytes = buf.swap_buffer(Vec::new());
            }
            send(&out, &mut batch, Some(outcome));
            return;
        }
    }
}

/// The helper thread of a log in memory: frames and checks entries, sends their positions.
fn produce_frames<P>(
    mut entries: Entries<'_>,
    prepare: impl Fn(&TxnEntry<'_>) -> P,
    out: SyncSender<Batch<P>>,
    recycled: Receiver<Batch<P>>,
) {
    let mut batch = fresh(&recycled);
    loop {
        let outcome = match entries.next_entry() {
            Ok(Some(e)) => {
                let start = usize::try_from(e.offset()).unwrap_or(usize::MAX);
                push(&mut batch, &e, start, prepare(&e));
                if batch.frames.len() < READ_AHEAD_FRAMES {
                    continue;
                }
                None
            }
            Ok(None) => Some(Ok(entries.end())),
            Err(e) => Some(Err(e)),
        };
        if !send(&out, &mut batch, outcome) {
            return;
        }
        batch = fresh(&recycled);
    }
}

/// Runs `body` on a [`ReadAhead`] fed by `produce` on a scoped helper thread.
fn run<'a, P: Send, T>(
    slice: Option<&'a [u8]>,
    header: FileHeader,
    limits: Limits,
    produce: impl FnOnce(SyncSender<Batch<P>>, Receiver<Batch<P>>) + Send,
    body: impl FnOnce(&mut ReadAhead<'a, P>) -> T,
) -> T {
    let (to_caller, batches) = sync_channel(READ_AHEAD_DEPTH);
    let (recycle, recycled) = sync_channel(READ_AHEAD_DEPTH);
    std::thread::scope(|scope| {
        scope.spawn(move || produce(to_caller, recycled));
        let mut ahead = ReadAhead {
            slice,
            batches,
            recycle,
            current: Batch::default(),
            next: 0,
            header,
            limits,
            end: None,
            finished: false,
        };
        let result = body(&mut ahead);
        // Dropping the receiver stops the helper thread if `body` left early.
        drop(ahead);
        result
    })
}

impl<R: Read + Send> LogReader<R> {
    /// Runs `body` with a [`ReadAhead`] over this log: a helper thread reads, frames and
    /// checksums the entries while `body` works on earlier ones. The thread ends when the log
    /// does, or as soon as `body` returns.
    pub fn read_ahead<T>(self, body: impl FnOnce(&mut ReadAhead<'_>) -> T) -> T {
        self.read_ahead_with(|_| (), body)
    }

    /// [`LogReader::read_ahead`], also running `prepare` on every entry on the helper thread;
    /// [`ReadAhead::next_prepared`] hands its result over with the entry.
    pub fn read_ahead_with<P: Send, T>(
        self,
        prepare: impl Fn(&TxnEntry<'_>) -> P + Send,
        body: impl FnOnce(&mut ReadAhead<'_, P>) -> T,
    ) -> T {
        let (header, limits) = (self.header, self.limits);
        run(
            None,
            header,
            limits,
            move |out, recycled| produce_stream(self, prepare, out, recycled),
            body,
        )
    }
}

impl<'a> TxnLog<'a> {
    /// Runs `body` with a [`ReadAhead`] over this log's entries (as [`TxnLog::entries`] gives
    /// them, or as [`TxnLog::entries_lenient`] does when `lenient`): a helper thread frames and
    /// checksums the entries while `body` works on earlier ones. Nothing is copied.
    pub fn read_ahead<T>(&self, lenient: bool, body: impl FnOnce(&mut ReadAhead<'a>) -> T) -> T {
        self.read_ahead_with(lenient, |_| (), body)
    }

    /// [`TxnLog::read_ahead`], also running `prepare` on every entry on the helper thread.
    pub fn read_ahead_with<P: Send, T>(
        &self,
        lenient: bool,
        prepare: impl Fn(&TxnEntry<'_>) -> P + Send,
        body: impl FnOnce(&mut ReadAhead<'a, P>) -> T,
    ) -> T {
        let entries = if lenient {
            self.entries_lenient()
        } else {
            self.entries()
        };
        run(
            Some(self.data),
            self.header,
            self.limits,
            move |out, recycled| produce_frames(entries, prepare, out, recycled),
            body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txnlog::tests::sample_log;
    use crate::ErrorKind;

    /// Entries seen (offset, index, raw bytes) and how the reading ended.
    type Seen = (Vec<(u64, u64, Vec<u8>)>, Result<Option<LogEnd>>);

    /// A reader that hands out its bytes in the sizes given (cycled), as pipes and sockets do.
    struct Uneven<'a> {
        data: &'a [u8],
        sizes: Vec<usize>,
        turn: usize,
    }

    impl Read for Uneven<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let want = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = want.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// A log of entries with the given payload sizes (a txn header then filler), and a tail.
    fn log_of(sizes: &[usize], tail: &[u8]) -> Vec<u8> {
        let mut w = crate::txnlog::TxnLogWriter::new(Vec::new()).expect("in memory");
        for (i, &size) in sizes.iter().enumerate() {
            let mut payload = Vec::with_capacity(size + 28);
            TxnHeader {
                session: 9,
                cxid: i as i32,
                zxid: crate::Zxid(i as i64 + 1),
                time: 7,
                op: 5,
            }
            .encode(&mut payload);
            payload.extend((0..size).map(|k| (k * 7 + i) as u8));
            w.append_payload(&payload).expect("in memory");
        }
        let mut log = w.finish().expect("in memory");
        log.extend_from_slice(tail);
        log
    }

    fn direct_from(reader: impl Read) -> Seen {
        let mut r = LogReader::new(reader, Limits::default()).expect("header");
        let mut seen = Vec::new();
        loop {
            match r.next_entry() {
                Ok(Some(e)) => seen.push((e.offset(), e.index(), e.raw().to_vec())),
                Ok(None) => return (seen, Ok(r.end())),
                Err(e) => return (seen, Err(e)),
            }
        }
    }

    fn ahead_from(reader: impl Read + Send) -> Seen {
        let reader = LogReader::new(reader, Limits::default()).expect("header");
        reader.read_ahead(|ahead| {
            let mut seen = Vec::new();
            loop {
                match ahead.next_entry() {
                    Ok(Some(e)) => seen.push((e.offset(), e.index(), e.raw().to_vec())),
                    Ok(None) => return (seen, Ok(ahead.end())),
                    Err(e) => return (seen, Err(e)),
                }
            }
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Entries of any size (some larger than a batch), read in uneven pieces, ending
        /// cleanly, torn, padded, with garbage or with a bad checksum: the same entries, offsets,
        /// end and error as the plain reader.
        #[test]
        fn uneven_reads_and_any_end(
            sizes in proptest::collection::vec(
                proptest::prop_oneof![8 => 0usize..300, 1 => 1000usize..70_000, 1 => 200_000usize..600_000],
                1..120,
            ),
            reads in proptest::collection::vec(1usize..300_000, 1..8),
            tail in 0usize..5,
            damage in proptest::option::of(0usize..1000),
        ) {
            let tail: Vec<u8> = match tail {
                0 => Vec::new(),
                1 => vec![0; 3000],
                2 => vec![1, 2, 3],
                3 => vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 9],
                _ => vec![0xff; 40],
            };
            let mut log = log_of(&sizes, &tail);
            if let Some(d) = damage {
                let at = 16 + d * 997 % (log.len() - 16);
                log[at] ^= 0x20;
            }
            let plain = direct_from(&log[..]);
            let ahead = ahead_from(Uneven { data: &log, sizes: reads.clone(), turn: 0 });
            proptest::prop_assert_eq!(&ahead.0, &plain.0);
            match (&ahead.1, &plain.1) {
                (Ok(a), Ok(p)) => proptest::prop_assert_eq!(a, p),
                (Err(a), Err(p)) => {
                    proptest::prop_assert_eq!((a.kind(), a.offset()), (p.kind(), p.offset()))
                }
                (a, p) => proptest::prop_assert!(false, "ahead {:?}, plain {:?}", a, p),
            }
        }
    }

    #[test]
    fn same_entries_and_end_as_the_plain_reader() {
        // Enough entries for several batches.
        let log = sample_log(40_000);
        assert!(log.len() > 3 * READ_AHEAD_BATCH);
        let (ahead, end) = ahead_from(&log[..]);
        let (plain, plain_end) = direct_from(&log[..]);
        assert_eq!(ahead.len(), 40_000);
        assert_eq!(ahead, plain);
        assert_eq!(end.expect("end"), plain_end.expect("end"));
    }

    #[test]
    fn prepared_values_travel_with_their_entries() {
        let log = sample_log(20_000);
        let reader = LogReader::new(&log[..], Limits::default()).expect("header");
        let pairs = reader.read_ahead_with(
            |e| (e.index(), e.record().map(|r| r.header.cxid).ok()),
            |ahead| {
                let mut pairs = Vec::new();
                while let Ok(Some((e, p))) = ahead.next_prepared() {
                    pairs.push((e.index(), *p));
                }
                pairs
            },
        );
        assert_eq!(pairs.len(), 20_000);
        for (i, (index, (prepared_index, cxid))) in pairs.into_iter().enumerate() {
            assert_eq!(
                (index, prepared_index, cxid),
                (i as u64, i as u64, Some(i as i32))
            );
        }
        let parsed = TxnLog::parse(&log, Limits::default()).expect("header");
        let zxids = parsed.read_ahead_with(
            false,
            |e| e.zxid(),
            |ahead| {
                let mut ok = 0;
                while let Ok(Some((e, z))) = ahead.next_prepared() {
                    ok += usize::from(e.zxid() == *z);
                }
                ok
            },
        );
        assert_eq!(zxids, 20_000);
    }

    #[test]
    fn errors_arrive_after_the_entries_before_them() {
        let mut log = sample_log(30_000);
        // Corrupt a payload byte of entry 29,000 (every entry is 49 bytes), in a late batch.
        let at = 16 + 49 * 29_000 + 20;
        log[at] ^= 0x55;
        let (ahead, err) = ahead_from(&log[..]);
        let (plain, plain_err) = direct_from(&log[..]);
        assert_eq!(ahead, plain);
        let (a, p) = (err.expect_err("error"), plain_err.expect_err("error"));
        assert!(matches!(a.kind(), ErrorKind::ChecksumMismatch { .. }));
        assert_eq!((a.kind(), a.offset()), (p.kind(), p.offset()));
    }

    #[test]
    fn slices_read_ahead_like_entries() {
        let mut log = sample_log(30_000);
        let at = 16 + 49 * 29_000 + 20;
        log[at] ^= 0x55;
        let (plain, plain_err) = direct_from(&log[..]);
        for lenient in [false, true] {
            let parsed = TxnLog::parse(&log, Limits::default()).expect("header");
            let (seen, end) = parsed.read_ahead(lenient, |ahead| {
                let mut seen = Vec::new();
                loop {
                    match ahead.next_entry() {
                        Ok(Some(e)) => seen.push((e.offset(), e.index(), e.checksum_ok())),
                        Ok(None) => return (seen, Ok(ahead.end())),
                        Err(e) => return (seen, Err(e)),
                    }
                }
            });
            if lenient {
                assert_eq!(seen.len(), 30_000);
                assert_eq!(seen.iter().filter(|s| !s.2).count(), 1);
                assert!(!seen[29_000].2);
                assert!(end.expect("end").is_some());
            } else {
                let offsets: Vec<_> = plain.iter().map(|p| (p.0, p.1, true)).collect();
                assert_eq!(seen, offsets);
                let (a, p) = (
                    end.expect_err("error"),
                    plain_err.as_ref().expect_err("error"),
                );
                assert_eq!((a.kind(), a.offset()), (p.kind(), p.offset()));
            }
        }
    }

    #[test]
    fn leaving_early_stops_the_helper() {
        let log = sample_log(40_000);
        let reader = LogReader::new(&log[..], Limits::default()).expect("header");
        let first = reader.read_ahead(|ahead| ahead.next_entry().ok().flatten().map(|e| e.index()));
        assert_eq!(first, Some(0));
    }
}
