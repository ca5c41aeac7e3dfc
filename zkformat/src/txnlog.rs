//! Txn log files: header, framed entries, where a log ends, and the writer.
//!
//! ```text
//! FileHeader   16 bytes: "ZKLG", version 2, dbid 0
//! entry*       checksum: long (Adler32 of the payload only) · length: int · payload · 0x42 ('B')
//! zeros        preallocation padding (optional)
//! ```
//!
//! Where a log ends follows `FileTxnLog.FileTxnIterator.next`: a length of 0 (the zero padding of a
//! preallocated file), the input ending inside an entry (a torn write) or an end-of-record byte
//! other than `'B'` end the log quietly and are reported as an [`EndReason`]; a length out of range
//! or an Adler32 mismatch is an error with the entry's offset and zxid.
//!
//! One parser ([`LogParser`]) drives both the slice reader ([`TxnLog`], for memory-mapped files)
//! and the streaming reader ([`LogReader`], for any `std::io::Read`), so both give the same entries
//! and the same error offsets.

use std::io::{self, Read, Write};
use std::ops::Range;

use byteorder::{BigEndian, ByteOrder};

use crate::checksum::{adler32, adler32_without_suffix};
use crate::error::{Error, ErrorKind, Result};
use crate::jute::Reader;
use crate::kind::{FileHeader, FILE_HEADER_SIZE, LOG_MAGIC};
use crate::limits::Limits;
use crate::txn::{TxnHeader, TxnRecord, TXN_DIGEST_SIZE, TXN_HEADER_SIZE};
use crate::zxid::Zxid;

mod ahead;
pub use ahead::{ReadAhead, READ_AHEAD_BATCH, READ_AHEAD_DEPTH};

/// Bytes of framing around each payload: checksum (8), length (4), end-of-record byte (1).
pub const ENTRY_OVERHEAD: usize = 13;
/// The end-of-record byte.
pub const END_OF_RECORD: u8 = b'B';

/// Why a log stopped yielding entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The input ended exactly after an entry.
    Eof,
    /// A zero length: the zero padding of a preallocated file (or zero bytes up to the end).
    ZeroPadding,
    /// The input ended inside an entry (a torn final write).
    Torn,
    /// An end-of-record byte other than `'B'` (ZooKeeper: "Last transaction was partial").
    PartialRecord {
        /// The byte found instead of `'B'`.
        found: u8,
    },
}

/// How and where a log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    /// Why it ended.
    pub reason: EndReason,
    /// Offset of the first byte after the last entry.
    pub offset: u64,
    /// Bytes from `offset` to the end of the input.
    pub trailing_bytes: u64,
    /// How many of those are not zero (zero padding has none).
    pub trailing_nonzero: u64,
}

impl LogEnd {
    /// True when the end is one ZooKeeper writes itself: clean EOF or zero padding.
    pub fn is_clean(&self) -> bool {
        matches!(self.reason, EndReason::Eof | EndReason::ZeroPadding) && self.trailing_nonzero == 0
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        let what = match self.reason {
            EndReason::Eof => "end of file".to_string(),
            EndReason::ZeroPadding => "zero padding".to_string(),
            EndReason::Torn => "torn final entry".to_string(),
            EndReason::PartialRecord { found } => {
                format!("partial final entry (end-of-record byte 0x{found:02x})")
            }
        };
        let mut s = format!("{what} at byte {}", self.offset);
        if self.trailing_bytes > 0 {
            s.push_str(&format!(
                ", {} trailing byte{} ({} non-zero)",
                self.trailing_bytes,
                if self.trailing_bytes == 1 { "" } else { "s" },
                self.trailing_nonzero
            ));
        }
        s
    }
}

/// One framed log entry, borrowed from the input. Its checksum was checked when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnEntry<'a> {
    raw: &'a [u8],
    offset: u64,
    index: u64,
    header: TxnHeader,
    checksum_ok: bool,
    limits: Limits,
}

impl<'a> TxnEntry<'a> {
    pub(crate) fn from_frame(
        raw: &'a [u8],
        offset: u64,
        index: u64,
        checksum_ok: bool,
        limits: Limits,
    ) -> Result<TxnEntry<'a>> {
        let payload = raw.get(12..raw.len().saturating_sub(1)).unwrap_or(&[]);
        let header = if payload.len() >= TXN_HEADER_SIZE {
            TxnHeader::from_payload(payload)
        } else {
            // Too short: the decoder says so, with the offset.
            TxnHeader::decode(&mut Reader::new(payload, offset + 12, limits))?
        };
        Ok(TxnEntry {
            raw,
            offset,
            index,
            header,
            checksum_ok,
            limits,
        })
    }

    /// The complete framed entry (checksum, length, payload, `'B'`): copy it to keep it verbatim.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The payload (txn header, body, optional digest).
    pub fn payload(&self) -> &'a [u8] {
        self.raw
            .get(12..self.raw.len().saturating_sub(1))
            .unwrap_or(&[])
    }

    /// Absolute offset of the entry's first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// 0-based index of the entry in its file.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The txn header.
    pub fn header(&self) -> &TxnHeader {
        &self.header
    }

    /// The entry's zxid.
    pub fn zxid(&self) -> Zxid {
        self.header.zxid
    }

    /// The stored checksum.
    pub fn stored_checksum(&self) -> u64 {
        self.raw.get(..8).map(BigEndian::read_u64).unwrap_or(0)
    }

    /// False only for entries read with checksum checking relaxed ([`LogParser::lenient`]) whose
    /// stored Adler32 does not match.
    pub fn checksum_ok(&self) -> bool {
        self.checksum_ok
    }

    /// Decodes the payload.
    ///
    /// # Errors
    /// See [`TxnRecord::decode`]; the error carries this entry's index and zxid.
    pub fn record(&self) -> Result<TxnRecord<'a>> {
        // The header was decoded when the entry was framed: start after it.
        let mut r = Reader::new(self.payload(), self.offset + 12, self.limits);
        r.bytes(TXN_HEADER_SIZE, "txn header")
            .and_then(|_| TxnRecord::decode_after_header(self.header, r))
            .map_err(|e| e.with_zxid(self.header.zxid).with_record(self.index))
    }

    /// Checks that the payload decodes, exactly as [`TxnEntry::record`] would (same errors),
    /// and says whether it ends with a TxnDigest. Common records are checked in place without
    /// being built: this is what a verifier needs, at a fraction of the cost.
    ///
    /// # Errors
    /// As [`TxnEntry::record`].
    pub fn check_record(&self) -> Result<bool> {
        match crate::txn::shape(self.payload(), self.header.op) {
            Some(found) => Ok(found.digest),
            None => self.record().map(|r| r.digest.is_some()),
        }
    }

    /// Checks that the payload decodes, as [`TxnEntry::check_record`] does (same errors), and
    /// returns the path the txn acts on (`None` for ops without one, as [`Txn::path`]): the
    /// common records are read in place, the others decoded in full. For readers that show
    /// every txn's path (the Python package's iterator).
    ///
    /// [`Txn::path`]: crate::txn::Txn::path
    ///
    /// # Errors
    /// As [`TxnEntry::record`].
    pub fn check_path(&self) -> Result<Option<&'a [u8]>> {
        match crate::txn::shape(self.payload(), self.header.op) {
            Some(found) => Ok(found.path.and_then(|(a, b)| self.payload().get(a..b))),
            None => self.record().map(|r| r.body.path()),
        }
    }
}

/// What one parser step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// At least this many bytes (from the start of the buffer) are needed.
    NeedMoreData(usize),
    /// The file header (16 bytes consumed).
    Header(FileHeader),
    /// An entry of `len` bytes at the start of the buffer.
    Entry {
        /// Framed length.
        len: usize,
        /// Whether the stored checksum matches.
        checksum_ok: bool,
    },
    /// The log ends at the start of the buffer; nothing is consumed.
    End(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Entries,
    Done,
}

/// The push parser behind both readers: give it the unconsumed bytes, drop what it consumed.
#[derive(Debug, Clone)]
pub struct LogParser {
    limits: Limits,
    offset: u64,
    index: u64,
    state: State,
    strict: bool,
}

impl LogParser {
    /// A parser that stops with an error at the first checksum mismatch (as ZooKeeper does).
    pub fn new(limits: Limits) -> LogParser {
        LogParser {
            limits,
            offset: 0,
            index: 0,
            state: State::Header,
            strict: true,
        }
    }

    /// A parser that yields entries with a bad checksum (marked) instead of failing: for tools
    /// that report every problem.
    pub fn lenient(limits: Limits) -> LogParser {
        LogParser {
            strict: false,
            ..LogParser::new(limits)
        }
    }

    /// Absolute offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Index the next entry will get.
    pub fn next_index(&self) -> u64 {
        self.index
    }

    /// Looks at `buf` (the unconsumed input) and says what is at its start. `eof` tells that no
    /// more bytes will come. After `Header` or `Entry` the caller must drop the consumed bytes.
    ///
    /// # Errors
    /// Bad magic, a truncated header, an impossible length, a checksum mismatch (strict mode), or
    /// an entry too short to hold a txn header.
    pub fn step(&mut self, buf: &[u8], eof: bool) -> Result<Step> {
        match self.state {
            State::Done => Ok(Step::End(EndReason::Eof)),
            State::Header => {
                if buf.len() < FILE_HEADER_SIZE && !eof {
                    return Ok(Step::NeedMoreData(FILE_HEADER_SIZE));
                }
                let h = FileHeader::decode(buf, LOG_MAGIC)?;
                self.state = State::Entries;
                self.offset += FILE_HEADER_SIZE as u64;
                Ok(Step::Header(h))
            }
            State::Entries => self.step_entry(buf, eof),
        }
    }

    fn end(&mut self, reason: EndReason, buf: &[u8]) -> Result<Step> {
        self.state = State::Done;
        let reason = match reason {
            EndReason::Torn if buf.iter().all(|&b| b == 0) => EndReason::ZeroPadding,
            r => r,
        };
        Ok(Step::End(reason))
    }

    fn step_entry(&mut self, buf: &[u8], eof: bool) -> Result<Step> {
        let (Some(crc), Some(len)) = (buf.get(..8), buf.get(8..12)) else {
            if !eof {
                return Ok(Step::NeedMoreData(12));
            }
            let reason = if buf.is_empty() {
                EndReason::Eof
            } else {
                EndReason::Torn
            };
            return self.end(reason, buf);
        };
        let stored = BigEndian::read_u64(crc);
        let len = BigEndian::read_i32(len);
        if len == 0 {
            return self.end(EndReason::ZeroPadding, buf);
        }
        let limit = self.limits.max_buffer_len();
        if len < 0 || len as u32 > limit {
            return Err(Error::new(
                ErrorKind::LengthOutOfRange {
                    field: "txn log entry length",
                    len: i64::from(len),
                    limit: u64::from(limit),
                },
                self.offset + 8,
            )
            .with_record(self.index));
        }
        let len = len as usize;
        let total = len + ENTRY_OVERHEAD;
        let Some(frame) = buf.get(..total) else {
            if !eof {
                return Ok(Step::NeedMoreData(total));
            }
            return self.end(EndReason::Torn, buf);
        };
        let payload = frame.get(12..12 + len).unwrap_or(&[]);
        let eor = frame.get(total - 1).copied().unwrap_or(0);
        if eor != END_OF_RECORD {
            return self.end(EndReason::PartialRecord { found: eor }, buf);
        }
        let computed = u64::from(adler32(payload));
        let zxid = payload.get(12..20).map(|z| Zxid(BigEndian::read_i64(z)));
        let checksum_ok = computed == stored;
        if !checksum_ok && self.strict {
            let e = Error::new(
                ErrorKind::ChecksumMismatch { stored, computed },
                self.offset,
            )
            .with_record(self.index);
            return Err(match zxid {
                Some(z) => e.with_zxid(z),
                None => e,
            });
        }
        if payload.len() < TXN_HEADER_SIZE {
            return Err(Error::new(
                ErrorKind::Truncated {
                    what: "txn header (entry payload too short)",
                    needed: (TXN_HEADER_SIZE - payload.len()) as u64,
                },
                self.offset + 12,
            )
            .with_record(self.index));
        }
        self.offset += total as u64;
        self.index += 1;
        Ok(Step::Entry {
            len: total,
            checksum_ok,
        })
    }
}

/// Length of the bytes after a log's end, and how many of them are not zero.
///
/// ZooKeeper preallocates logs in 64 MiB steps, so a real log's tail is often most of the file:
/// blocks of 64 bytes are first tested for zero with a wide OR (vectorised), and only a block
/// that holds a non-zero byte is counted byte by byte.
fn count_trailing(bytes: &[u8]) -> (u64, u64) {
    const BLOCK: usize = 64;
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut nonzero = 0u64;
    for block in &mut blocks {
        if block.iter().fold(0u8, |acc, &b| acc | b) != 0 {
            nonzero += block.iter().filter(|&&b| b != 0).count() as u64;
        }
    }
    nonzero += blocks.remainder().iter().filter(|&&b| b != 0).count() as u64;
    (bytes.len() as u64, nonzero)
}

/// [`count_trailing`] of `data[from..]`, where the `holes` (sorted) are known zeros, not read.
fn count_trailing_outside(data: &[u8], from: usize, holes: &[Range<usize>]) -> (u64, u64) {
    let len = data.len();
    let mut pos = from.min(len);
    let total = (len - pos) as u64;
    let mut nonzero = 0u64;
    for hole in holes {
        if hole.end <= pos {
            continue;
        }
        let start = hole.start.clamp(pos, len);
        nonzero += count_trailing(data.get(pos..start).unwrap_or(&[])).1;
        pos = hole.end.clamp(start, len);
        if pos == len {
            break;
        }
    }
    nonzero += count_trailing(data.get(pos..).unwrap_or(&[])).1;
    (total, nonzero)
}

/// A txn log held in memory (a memory-mapped file or a buffer).
#[derive(Debug, Clone)]
pub struct TxnLog<'a> {
    data: &'a [u8],
    header: FileHeader,
    limits: Limits,
    holes: &'a [Range<usize>],
}

impl<'a> TxnLog<'a> {
    /// Reads the file header.
    ///
    /// # Errors
    /// Input shorter than 16 bytes, or not starting with `ZKLG`.
    pub fn parse(data: &'a [u8], limits: Limits) -> Result<TxnLog<'a>> {
        let header = FileHeader::decode(data, LOG_MAGIC)?;
        Ok(TxnLog {
            data,
            header,
            limits,
            holes: &[],
        })
    }

    /// Byte ranges of the input known to be zeros without reading them: the holes of a sparse
    /// file, from [`crate::source::FileBytes::open_with_holes`] (sorted, not overlapping). The
    /// count of trailing bytes after the log's end skips them, so ZooKeeper's preallocated tail
    /// is not paged in. Ranges that are not really zeros make that count wrong, nothing else.
    #[must_use]
    pub fn with_holes(mut self, holes: &'a [Range<usize>]) -> TxnLog<'a> {
        self.holes = holes;
        self
    }

    /// The file header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// The entries, stopping with an error at the first checksum mismatch.
    pub fn entries(&self) -> Entries<'a> {
        self.entries_with(LogParser::new(self.limits))
    }

    /// The entries, yielding bad-checksum entries (marked) instead of stopping.
    pub fn entries_lenient(&self) -> Entries<'a> {
        self.entries_with(LogParser::lenient(self.limits))
    }

    fn entries_with(&self, mut parser: LogParser) -> Entries<'a> {
        // The header was already checked in `parse`.
        let _ = parser.step(self.data, true);
        Entries {
            data: self.data,
            pos: FILE_HEADER_SIZE,
            parser,
            end: None,
            failed: false,
            limits: self.limits,
            holes: self.holes,
        }
    }
}

/// Iterator over the entries of a [`TxnLog`]; fused after the first error or the end.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    data: &'a [u8],
    pos: usize,
    parser: LogParser,
    end: Option<LogEnd>,
    failed: bool,
    limits: Limits,
    holes: &'a [Range<usize>],
}

impl<'a> Entries<'a> {
    /// How the log ended; `None` until the iterator is exhausted (or after an error).
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// Reads the next entry (`Ok(None)` at the end).
    ///
    /// # Errors
    /// See [`LogParser::step`].
    pub fn next_entry(&mut self) -> Result<Option<TxnEntry<'a>>> {
        if self.failed || self.end.is_some() {
            return Ok(None);
        }
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let offset = self.parser.offset();
        let index = self.parser.next_index();
        match self.parser.step(rest, true) {
            Err(e) => {
                self.failed = true;
                Err(e)
            }
            Ok(Step::Entry { len, checksum_ok }) => {
                let raw = rest.get(..len).unwrap_or(&[]);
                self.pos += len;
                TxnEntry::from_frame(raw, offset, index, checksum_ok, self.limits).map(Some)
            }
            Ok(Step::End(reason)) => {
                let (trailing_bytes, trailing_nonzero) =
                    count_trailing_outside(self.data, self.pos, self.holes);
                self.end = Some(LogEnd {
                    reason,
                    offset,
                    trailing_bytes,
                    trailing_nonzero,
                });
                Ok(None)
            }
            Ok(Step::NeedMoreData(_) | Step::Header(_)) => Ok(None),
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<TxnEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// Default read size of the streaming readers.
pub(crate) const READ_CHUNK: usize = 256 * 1024;

/// A buffer over a reader that keeps at most one record plus one read chunk in memory.
#[derive(Debug)]
pub(crate) struct StreamBuffer<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Absolute offset of `buf[start]`.
    pub(crate) offset: u64,
}

impl<R: Read> StreamBuffer<R> {
    pub(crate) fn new(inner: R) -> StreamBuffer<R> {
        StreamBuffer {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    pub(crate) fn eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// The last `len` bytes consumed (still in the buffer until the next fill).
    pub(crate) fn consumed_slice(&self, len: usize) -> &[u8] {
        self.buf
            .get(self.start.saturating_sub(len)..self.start)
            .unwrap_or(&[])
    }

    /// Reads until at least `n` unconsumed bytes are buffered or the input ends.
    pub(crate) fn fill(&mut self, n: usize) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let want = n.max(READ_CHUNK);
        while self.end < n && !self.eof {
            // Grow towards `want` only as bytes arrive (doubling), so a length field cannot
            // allocate more than about twice what the input really holds.
            if self.end == self.buf.len() {
                let grown = self.buf.len().saturating_mul(2).max(READ_CHUNK).min(want);
                self.buf.resize(grown, 0);
            }
            self.read_more()?;
        }
        Ok(())
    }

    /// One read into the buffer's room after `end` (EOF noted, interruptions retried by the
    /// callers' loops).
    fn read_more(&mut self) -> Result<()> {
        let dst = self.buf.get_mut(self.end..).unwrap_or(&mut []);
        match self.inner.read(dst) {
            Ok(0) => self.eof = true,
            Ok(k) => self.end += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(&e, self.offset + (self.end - self.start) as u64)),
        }
        Ok(())
    }

    /// Reads until at least `n` unconsumed bytes are buffered or the input ends, without moving
    /// any byte already in the buffer (consumed ones stay where they are). The caller makes sure
    /// there is room: `start + n` must fit in the buffer.
    pub(crate) fn fill_in_place(&mut self, n: usize) -> Result<()> {
        while self.end - self.start < n && !self.eof && self.end < self.buf.len() {
            self.read_more()?;
        }
        Ok(())
    }

    /// Swaps in `fresh` as the buffer, the unconsumed bytes moved to its start, and returns the
    /// old buffer with every consumed byte where it was. `fresh` keeps its length if it has at
    /// least one read chunk of room after them (so a reused buffer is not zeroed again).
    pub(crate) fn swap_buffer(&mut self, mut fresh: Vec<u8>) -> Vec<u8> {
        let unconsumed = self.end - self.start;
        let needed = unconsumed + READ_CHUNK;
        if fresh.len() < needed {
            // Room for what the next batches will need too, so a reused buffer never grows.
            fresh.resize(needed.max(2 * READ_CHUNK), 0);
        }
        if let (Some(dst), Some(src)) = (
            fresh.get_mut(..unconsumed),
            self.buf.get(self.start..self.end),
        ) {
            dst.copy_from_slice(src);
        }
        self.start = 0;
        self.end = unconsumed;
        std::mem::replace(&mut self.buf, fresh)
    }

    /// Consumes the rest of the input, counting bytes and non-zero bytes.
    pub(crate) fn drain(&mut self) -> Result<(u64, u64)> {
        let mut total = (0u64, 0u64);
        loop {
            let (b, nz) = count_trailing(self.data());
            total.0 += b;
            total.1 += nz;
            let n = self.end - self.start;
            self.consume(n);
            if self.eof {
                return Ok(total);
            }
            self.fill(1)?;
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}

/// Reads a txn log from any `std::io::Read` with bounded memory (one entry at a time).
#[derive(Debug)]
pub struct LogReader<R> {
    buf: StreamBuffer<R>,
    parser: LogParser,
    header: FileHeader,
    end: Option<LogEnd>,
    failed: bool,
    limits: Limits,
}

impl<R: Read> LogReader<R> {
    /// Reads the header; entries stop with an error at the first checksum mismatch.
    ///
    /// # Errors
    /// I/O errors, a short input or a bad magic.
    pub fn new(inner: R, limits: Limits) -> Result<LogReader<R>> {
        Self::with_parser(inner, LogParser::new(limits), limits)
    }

    /// Like [`LogReader::new`], but bad-checksum entries are yielded (marked) instead.
    ///
    /// # Errors
    /// I/O errors, a short input or a bad magic.
    pub fn lenient(inner: R, limits: Limits) -> Result<LogReader<R>> {
        Self::with_parser(inner, LogParser::lenient(limits), limits)
    }

    fn with_parser(inner: R, mut parser: LogParser, limits: Limits) -> Result<LogReader<R>> {
        let mut buf = StreamBuffer::new(inner);
        buf.fill(FILE_HEADER_SIZE)?;
        let header = match parser.step(buf.data(), buf.eof())? {
            Step::Header(h) => h,
            _ => FileHeader::decode(buf.data(), LOG_MAGIC)?,
        };
        buf.consume(FILE_HEADER_SIZE);
        Ok(LogReader {
            buf,
            parser,
            header,
            end: None,
            failed: false,
            limits,
        })
    }

    /// The file header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// How the log ended; `None` until all entries were read.
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// Reads the next entry (`Ok(None)` at the end). The entry borrows the reader's buffer.
    ///
    /// # Errors
    /// I/O errors and everything [`LogParser::step`] reports.
    pub fn next_entry(&mut self) -> Result<Option<TxnEntry<'_>>> {
        if self.failed || self.end.is_some() {
            return Ok(None);
        }
        loop {
            let offset = self.parser.offset();
            let index = self.parser.next_index();
            let step = self.parser.step(self.buf.data(), self.buf.eof());
            match step {
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
                Ok(Step::NeedMoreData(n)) => {
                    if let Err(e) = self.buf.fill(n) {
                        self.failed = true;
                        return Err(e);
                    }
                }
                Ok(Step::End(reason)) => {
                    let (trailing_bytes, trailing_nonzero) = self.buf.drain()?;
                    self.end = Some(LogEnd {
                        reason,
                        offset,
                        trailing_bytes,
                        trailing_nonzero,
                    });
                    return Ok(None);
                }
                Ok(Step::Header(_)) => {}
                Ok(Step::Entry { len, checksum_ok }) => {
                    self.buf.consume(len);
                    let raw = self.buf.consumed_slice(len);
                    return TxnEntry::from_frame(raw, offset, index, checksum_ok, self.limits)
                        .map(Some);
                }
            }
        }
    }

    /// Gives back the inner reader.
    pub fn into_inner(self) -> R {
        self.buf.into_inner()
    }
}

/// Writes a txn log, computing every length and checksum itself.
///
/// Wrap the destination in a `BufWriter`: entries are written with several small writes.
#[derive(Debug)]
pub struct TxnLogWriter<W: Write> {
    out: W,
    offset: u64,
    entries: u64,
    scratch: Vec<u8>,
}

impl<W: Write> TxnLogWriter<W> {
    /// Starts a log with ZooKeeper's header (`ZKLG`, version 2, dbid 0).
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(out: W) -> io::Result<TxnLogWriter<W>> {
        Self::with_header(out, FileHeader::LOG)
    }

    /// Starts a log with a given header (to copy an input's header verbatim).
    ///
    /// # Errors
    /// I/O errors.
    pub fn with_header(mut out: W, header: FileHeader) -> io::Result<TxnLogWriter<W>> {
        let mut h = Vec::with_capacity(FILE_HEADER_SIZE);
        header.encode(&mut h);
        out.write_all(&h)?;
        Ok(TxnLogWriter {
            out,
            offset: FILE_HEADER_SIZE as u64,
            entries: 0,
            scratch: Vec::new(),
        })
    }

    /// Appends a payload (txn header ‖ body ‖ optional digest), framing it with its Adler32,
    /// its length and `'B'`.
    ///
    /// # Errors
    /// I/O errors, or a payload too large for jute's `i32` length.
    pub fn append_payload(&mut self, payload: &[u8]) -> io::Result<()> {
        self.append_framed(payload, adler32(payload))
    }

    fn append_framed(&mut self, payload: &[u8], checksum: u32) -> io::Result<()> {
        let len = i32::try_from(payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "txn payload over 2 GiB"))?;
        let mut frame = [0u8; 12];
        BigEndian::write_u64(&mut frame[..8], u64::from(checksum));
        BigEndian::write_i32(&mut frame[8..], len);
        self.out.write_all(&frame)?;
        self.out.write_all(payload)?;
        self.out.write_all(&[END_OF_RECORD])?;
        self.offset += (payload.len() + ENTRY_OVERHEAD) as u64;
        self.entries += 1;
        Ok(())
    }

    /// Encodes and appends a txn record.
    ///
    /// # Errors
    /// I/O errors.
    pub fn append_record(&mut self, record: &TxnRecord<'_>) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        record.encode(&mut scratch);
        let r = self.append_payload(&scratch);
        self.scratch = scratch;
        r
    }

    /// Copies an entry verbatim (its checksum was verified when it was read). An entry whose
    /// checksum did not match is refused: re-framing it would hide the damage.
    ///
    /// # Errors
    /// I/O errors, or an entry with a bad checksum.
    pub fn append_entry(&mut self, entry: &TxnEntry<'_>) -> io::Result<()> {
        if !entry.checksum_ok() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "entry at byte {} (zxid {}) has a bad checksum",
                    entry.offset(),
                    entry.zxid()
                ),
            ));
        }
        self.out.write_all(entry.raw())?;
        self.offset += entry.raw().len() as u64;
        self.entries += 1;
        Ok(())
    }

    /// Copies an entry without its TxnDigest (its last 12 payload bytes), re-framed. The new
    /// checksum is derived from the verified stored one without reading the payload again. An
    /// entry whose checksum did not match, or whose payload is too short to hold a header and a
    /// digest, is refused.
    ///
    /// # Errors
    /// I/O errors, or an entry that cannot be copied this way.
    pub fn append_entry_without_digest(&mut self, entry: &TxnEntry<'_>) -> io::Result<()> {
        let payload = entry.payload();
        let cut = payload.len().checked_sub(TXN_DIGEST_SIZE);
        let (kept, digest) = match cut {
            Some(at) if entry.checksum_ok() && at >= TXN_HEADER_SIZE => payload.split_at(at),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "entry at byte {} (zxid {}) has a bad checksum or no digest to strip",
                        entry.offset(),
                        entry.zxid()
                    ),
                ))
            }
        };
        // A verified stored checksum is the Adler32 of the payload (it fits in 32 bits).
        let whole = entry.stored_checksum() as u32;
        self.append_framed(kept, adler32_without_suffix(whole, digest))
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Entries written so far.
    pub fn entries_written(&self) -> u64 {
        self.entries
    }

    /// Flushes and returns the destination. No padding is written: ZooKeeper reads an unpadded log
    /// to its clean end (as it reads logs cut by `LogChopper`).
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{op, Txn, TxnHeader};

    #[test]
    fn trailing_bytes_skip_holes_and_count_the_rest() {
        let mut data = vec![0u8; 10_000];
        for i in [5usize, 700, 4_000, 9_999] {
            data[i] = 1;
        }
        // Holes over zeros only; a byte at 700 and 4000 lies outside them.
        let holes = [100..600, 1_000..3_900, 5_000..9_000];
        for from in [0usize, 6, 650, 4_500, 9_999, 10_000, 20_000] {
            let naive = data
                .get(from..)
                .unwrap_or(&[])
                .iter()
                .filter(|&&b| b != 0)
                .count() as u64;
            let len = data.len().saturating_sub(from) as u64;
            assert_eq!(
                count_trailing_outside(&data, from, &holes),
                (len, naive),
                "from {from}"
            );
            assert_eq!(
                count_trailing_outside(&data, from, &[]),
                (len, naive),
                "from {from}"
            );
        }
        // Unsorted or out-of-range hints never panic.
        #[allow(clippy::reversed_empty_ranges)]
        let odd = [9_000..20_000, 0..50, 3..2];
        let _ = count_trailing_outside(&data, 0, &odd);
    }

    #[test]
    fn a_sparse_log_tail_is_found_as_a_hole_and_counted_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.1");
        let log = sample_log(50);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&log).unwrap();
        // As ZooKeeper pads: one byte written far past the end leaves a hole before it.
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start((8 << 20) - 1)).unwrap();
        f.write_all(&[0]).unwrap();
        drop(f);
        let (bytes, holes) = crate::source::FileBytes::open_with_holes(&path).unwrap();
        let plain = TxnLog::parse(&bytes, Limits::default()).unwrap();
        let mut a = plain.entries();
        while a.next_entry().unwrap().is_some() {}
        let holed = plain.clone().with_holes(&holes);
        let mut b = holed.entries();
        while b.next_entry().unwrap().is_some() {}
        assert_eq!(a.end(), b.end());
        assert_eq!(
            b.end().unwrap().trailing_bytes,
            (8 << 20) - log.len() as u64
        );
        if cfg!(target_os = "linux") && !holes.is_empty() {
            assert!(
                holes
                    .iter()
                    .all(|h| h.start >= log.len() && h.end <= 8 << 20),
                "{holes:?}"
            );
        }
    }

    #[test]
    fn trailing_bytes_are_counted_exactly_in_and_between_blocks() {
        for len in [0usize, 1, 63, 64, 65, 200, 4096 + 17] {
            for marks in [
                vec![],
                vec![0],
                vec![len / 2],
                vec![len.saturating_sub(1)],
                (0..len).step_by(7).collect(),
            ] {
                let mut tail = vec![0u8; len];
                for &m in marks.iter().filter(|&&m| m < len) {
                    tail[m] = 0x5a;
                }
                let naive = tail.iter().filter(|&&b| b != 0).count() as u64;
                assert_eq!(
                    count_trailing(&tail),
                    (len as u64, naive),
                    "len {len}, marks {marks:?}"
                );
            }
        }
    }

    #[test]
    fn check_path_is_the_decoded_path() {
        use crate::data::AclList;
        use crate::txn::{SetAclTxn, SetDataTxn};
        let bodies = [
            Txn::CreateSession { timeout: 30000 },
            Txn::Delete { path: b"/a/b" },
            Txn::SetData(SetDataTxn {
                path: b"/a",
                data: Some(b"x"),
                version: 2,
            }),
            // Read in full (not one of the records read in place).
            Txn::SetAcl(SetAclTxn {
                path: b"/acl",
                acl: AclList::open_unsafe(),
                version: 1,
            }),
            Txn::Error { err: -101 },
        ];
        let mut w = TxnLogWriter::new(Vec::new()).unwrap();
        for (i, body) in bodies.iter().enumerate() {
            let header = TxnHeader {
                session: 5,
                cxid: i as i32,
                zxid: Zxid(i as i64 + 1),
                time: 1000,
                op: body.op(),
            };
            w.append_record(&TxnRecord {
                header,
                body: *body,
                digest: None,
            })
            .unwrap();
        }
        let bytes = w.finish().unwrap();
        let log = TxnLog::parse(&bytes, Limits::default()).unwrap();
        let paths: Vec<_> = log
            .entries()
            .map(|e| e.unwrap().check_path().unwrap())
            .collect();
        let want: [Option<&[u8]>; 5] = [None, Some(b"/a/b"), Some(b"/a"), Some(b"/acl"), None];
        assert_eq!(paths, want);
        for e in log.entries() {
            let e = e.unwrap();
            assert_eq!(e.check_path().unwrap(), e.record().unwrap().body.path());
        }
    }

    pub(super) fn sample_log(n: i64) -> Vec<u8> {
        let mut w = TxnLogWriter::new(Vec::new()).unwrap();
        for i in 0..n {
            let rec = TxnRecord {
                header: TxnHeader {
                    session: 5,
                    cxid: i as i32,
                    zxid: Zxid(i + 1),
                    time: 1000 + i,
                    op: op::CREATE_SESSION,
                },
                body: Txn::CreateSession { timeout: 30000 },
                digest: None,
            };
            w.append_record(&rec).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn write_then_read_slice_and_stream() {
        let mut data = sample_log(3);
        data.extend_from_slice(&[0u8; 100]);
        let log = TxnLog::parse(&data, Limits::default()).unwrap();
        let mut it = log.entries();
        let got: Vec<_> = it.by_ref().map(|e| e.unwrap().zxid()).collect();
        assert_eq!(got, vec![Zxid(1), Zxid(2), Zxid(3)]);
        let end = it.end().unwrap();
        assert_eq!(end.reason, EndReason::ZeroPadding);
        assert_eq!(end.offset, 16 + 3 * (36 + 13));
        assert!(end.is_clean());
        let mut rd = LogReader::new(&data[..], Limits::default()).unwrap();
        let mut n = 0;
        while let Some(e) = rd.next_entry().unwrap() {
            assert_eq!(
                e.record().unwrap().body,
                Txn::CreateSession { timeout: 30000 }
            );
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(rd.end(), Some(end));
    }

    #[test]
    fn torn_and_corrupt() {
        let data = sample_log(2);
        let torn = &data[..data.len() - 5];
        let log = TxnLog::parse(torn, Limits::default()).unwrap();
        let mut it = log.entries();
        assert_eq!(it.by_ref().count(), 1);
        assert_eq!(it.end().unwrap().reason, EndReason::Torn);
        let mut bad = data.clone();
        bad[16 + 12 + 20] ^= 1; // inside the first payload
        let log = TxnLog::parse(&bad, Limits::default()).unwrap();
        let e = log.entries().next().unwrap().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::ChecksumMismatch { .. }));
        assert_eq!(e.offset(), 16);
        assert_eq!(e.zxid(), Some(Zxid(1)));
        let lenient: Vec<_> = log
            .entries_lenient()
            .map(|e| e.unwrap().checksum_ok())
            .collect();
        assert_eq!(lenient, vec![false, true]);
        let mut huge = data.clone();
        huge[16 + 8..16 + 12].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
        let e = TxnLog::parse(&huge, Limits::default())
            .unwrap()
            .entries()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LengthOutOfRange { .. }));
        assert_eq!(e.offset(), 24);
    }
}
