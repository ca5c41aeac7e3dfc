//! Jute binary encoding: the only code in the crate that slices input bytes.
//!
//! Jute (ZooKeeper's `BinaryInputArchive`/`BinaryOutputArchive`) is big-endian with no tags and no
//! padding: `int` = 4 bytes, `long` = 8, `boolean`/`byte` = 1, `buffer`/`ustring` = `i32` length then
//! the bytes (-1 = null), `vector` = `i32` count then the elements (-1 = null; any other count ≤ 0
//! reads as empty). [`Reader`] knows the absolute offset of its window, so errors found in a record
//! payload point at the right byte of the file.
#![deny(clippy::indexing_slicing)]

use byteorder::{BigEndian, ByteOrder};

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// A jute boolean as stored: ZooKeeper writes 0 or 1 and reads any non-zero byte as true. The raw
/// byte is kept so re-encoding gives the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct JuteBool(pub u8);

impl JuteBool {
    /// The boolean value (any non-zero byte is true).
    pub fn get(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for JuteBool {
    fn from(b: bool) -> JuteBool {
        JuteBool(u8::from(b))
    }
}

/// A bounds-checked big-endian cursor over a window of the input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    limits: Limits,
    partial: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at absolute offset `base` of the stream.
    pub fn new(data: &'a [u8], base: u64, limits: Limits) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            base,
            limits,
            partial: false,
        }
    }

    /// A reader over the buffered part of a longer stream: a vector count that does not fit in
    /// the buffered bytes reports "truncated" (more bytes may come) instead of "out of range".
    pub fn partial(data: &'a [u8], base: u64, limits: Limits) -> Reader<'a> {
        Reader {
            partial: true,
            ..Reader::new(data, base, limits)
        }
    }

    /// Absolute offset of the next byte to read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Position inside this window.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left in this window.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The limits this reader applies.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The unread rest of the window, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// The bytes from window position `start` up to the current position.
    pub fn since(&self, start: usize) -> &'a [u8] {
        self.data.get(start..self.pos).unwrap_or(&[])
    }

    /// Moves the cursor back to window position `pos` (used for the V0 create fallback).
    pub fn rewind_to(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    #[cold]
    fn truncated(&self, what: &'static str, n: usize) -> Error {
        Error::new(
            ErrorKind::Truncated {
                what,
                needed: (n - self.remaining().min(n)) as u64,
            },
            self.offset(),
        )
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.truncated(what, n))?;
        match self.data.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(self.truncated(what, n)),
        }
    }

    /// The next `n` bytes, if there are that many, without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.data.get(self.pos..self.pos.checked_add(n)?)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated(what, 1)),
        }
    }

    /// Reads a jute boolean.
    pub fn bool(&mut self, what: &'static str) -> Result<JuteBool> {
        self.u8(what).map(JuteBool)
    }

    /// Reads a big-endian `i32`.
    pub fn i32(&mut self, what: &'static str) -> Result<i32> {
        self.bytes(4, what).map(BigEndian::read_i32)
    }

    /// Reads a big-endian `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64> {
        self.bytes(8, what).map(BigEndian::read_i64)
    }

    /// Reads a length prefix and checks it against the jute limit (as ZooKeeper's reader does).
    /// Returns `None` for -1 (null).
    fn length(&mut self, field: &'static str) -> Result<Option<usize>> {
        let at = self.offset();
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let limit = self.limits.max_buffer_len();
        if len < 0 || len as u32 > limit {
            return Err(Error::new(
                ErrorKind::LengthOutOfRange {
                    field,
                    len: i64::from(len),
                    limit: u64::from(limit),
                },
                at,
            ));
        }
        Ok(Some(len as usize))
    }

    /// Reads a jute `buffer`; `None` is the null buffer (length -1).
    pub fn buffer(&mut self, field: &'static str) -> Result<Option<&'a [u8]>> {
        match self.length(field)? {
            None => Ok(None),
            Some(n) => self.bytes(n, field).map(Some),
        }
    }

    /// Reads a jute `ustring` that may be null.
    pub fn opt_string(&mut self, field: &'static str) -> Result<Option<&'a [u8]>> {
        self.buffer(field)
    }

    /// Reads a jute `ustring` that must not be null (paths, ACL schemes and ids).
    pub fn string(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let at = self.offset();
        self.opt_string(field)?
            .ok_or_else(|| Error::new(ErrorKind::UnexpectedNull { field }, at))
    }

    /// Reads a vector count and checks that `count × min_element_size` bytes are left.
    /// Returns the raw count (-1 = null, other negatives = empty, as in ZooKeeper).
    pub fn count(&mut self, field: &'static str, min_element_size: usize) -> Result<i32> {
        let at = self.offset();
        let count = self.i32(field)?;
        if count > 0 {
            let need = (count as u64).saturating_mul(min_element_size as u64);
            if need > self.remaining() as u64 {
                if self.partial {
                    return Err(Error::new(
                        ErrorKind::Truncated {
                            what: field,
                            needed: need - self.remaining() as u64,
                        },
                        self.offset(),
                    ));
                }
                return Err(Error::new(
                    ErrorKind::CountOutOfRange {
                        field,
                        count: i64::from(count),
                        bytes_left: self.remaining() as u64,
                    },
                    at,
                ));
            }
        }
        Ok(count)
    }
}

/// Number of elements a raw jute vector count stands for (null and negative counts read as 0).
pub fn count_len(raw: i32) -> usize {
    if raw > 0 {
        raw as usize
    } else {
        0
    }
}

/// The big-endian `i64` at `at` of a fixed-size block already checked to be complete (a stat,
/// a txn header): one bounds check for the whole block instead of one per field. 0 if `at` is
/// past the block (callers pass constant offsets inside it).
pub(crate) fn i64_at<const N: usize>(block: &[u8; N], at: usize) -> i64 {
    block
        .get(at..at.saturating_add(8))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, i64::from_be_bytes)
}

/// The big-endian `i32` at `at` of a fixed-size block (see [`i64_at`]).
pub(crate) fn i32_at<const N: usize>(block: &[u8; N], at: usize) -> i32 {
    block
        .get(at..at.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, i32::from_be_bytes)
}

/// Appends a big-endian `i32`.
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `i64`.
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a jute `buffer` (`None` = null, written as length -1).
pub fn put_buffer(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_i32(out, -1),
        Some(b) => {
            put_i32(out, len_i32(b.len()));
            out.extend_from_slice(b);
        }
    }
}

/// Appends a jute `ustring` that is not null.
pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_buffer(out, Some(s));
}

/// Converts a length to jute's `i32`, saturating (a writer never produces such lengths from parsed
/// input, since those were bounded by the jute limit).
pub fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(b: &[u8]) -> Reader<'_> {
        Reader::new(b, 100, Limits::default())
    }

    #[test]
    fn primitives_are_big_endian() {
        let mut rd = r(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1]);
        assert_eq!(rd.i32("a").unwrap(), 256);
        assert_eq!(rd.i64("b").unwrap(), 2);
        assert!(rd.bool("c").unwrap().get());
        assert_eq!(rd.offset(), 113);
        let e = rd.u8("d").unwrap_err();
        assert!(e.is_truncated());
        assert_eq!(e.offset(), 113);
    }

    #[test]
    fn buffers_null_empty_and_limits() {
        assert_eq!(r(&[0xff; 4]).buffer("x").unwrap(), None);
        assert_eq!(r(&[0, 0, 0, 0]).buffer("x").unwrap(), Some(&[][..]));
        let e = r(&[0xff, 0xff, 0xff, 0xfe]).buffer("x").unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::LengthOutOfRange { len: -2, .. }
        ));
        let mut small = Reader::new(&[0, 0, 4, 0x65], 0, Limits::with_maxbuffer(100));
        let e = small.buffer("x").unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::LengthOutOfRange {
                len: 1125,
                limit: 1124,
                ..
            }
        ));
        let e = r(&[0, 0, 0, 5, 1]).buffer("x").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { needed: 4, .. }));
        assert!(matches!(
            r(&[0xff; 4]).string("path").unwrap_err().kind(),
            ErrorKind::UnexpectedNull { .. }
        ));
    }

    #[test]
    fn counts_are_bounded_by_bytes_left() {
        let e = r(&[0x7f, 0xff, 0xff, 0xff, 0, 0])
            .count("v", 1)
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::CountOutOfRange { .. }));
        assert_eq!(r(&[0xff; 4]).count("v", 8).unwrap(), -1);
        assert_eq!(count_len(-5), 0);
    }

    #[test]
    fn encode_matches_decode() {
        let mut out = Vec::new();
        put_buffer(&mut out, None);
        put_string(&mut out, b"/a");
        put_i64(&mut out, -2);
        let mut rd = r(&out);
        assert_eq!(rd.buffer("n").unwrap(), None);
        assert_eq!(rd.string("s").unwrap(), b"/a");
        assert_eq!(rd.i64("l").unwrap(), -2);
        assert!(rd.is_empty());
    }
}
