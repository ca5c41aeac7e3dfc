//! What the filter needs to know about a log entry, found ahead of the decision (on the
//! read-ahead thread when [`super::filter_log`] runs).
//!
//! [`peek`] reads the common records (create/create2, delete, setData, error, createSession,
//! closeSession) straight from their bytes, checking every length exactly as the jute decoder
//! does; anything else, or anything unusual, is decoded in full ([`peek_decoded`]), so results
//! and errors are always those of a full decode (tested on every real log, and in the fuzz
//! filter target).

use super::OpClass;
use crate::error::Result;
use crate::txn::{op, Txn, TXN_DIGEST_SIZE, TXN_HEADER_SIZE};
use crate::txnlog::TxnEntry;

/// What the filter learns about a log entry before deciding on it: computed by [`peek`], on the
/// read-ahead thread when [`filter_log`] runs, so that the deciding thread does not decode
/// most entries at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPeek(pub(super) Result<Peeked>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Peeked {
    /// A createSession.
    CreateSession { timeout: i32, digest: bool },
    /// A closeSession (its paths are not needed: the filter knows the session's ephemerals).
    CloseSession { digest: bool },
    /// Decided from the whole record (multis).
    Whole,
    /// An op; `path` is its range in the payload.
    Op {
        path: Option<(usize, usize)>,
        class: OpClass,
        digest: bool,
    },
}

/// Finds what [`super::LogFilter::decide_peeked`] needs; a record that does not decode keeps its
/// error for the moment the filter reaches the entry.
pub fn peek(entry: &TxnEntry<'_>) -> EntryPeek {
    match fast(entry.payload(), entry.header().op) {
        Some(p) => EntryPeek(Ok(p)),
        None => peek_decoded(entry),
    }
}

/// A cursor over a payload for the fast path: `None` at the first thing it does not expect.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn take(&mut self, n: usize) -> Option<(usize, usize)> {
        let end = self.at.checked_add(n)?;
        if end > self.bytes.len() {
            return None;
        }
        let range = (self.at, end);
        self.at = end;
        Some(range)
    }

    fn i32(&mut self) -> Option<i32> {
        let (a, b) = self.take(4)?;
        let v: [u8; 4] = self.bytes.get(a..b)?.try_into().ok()?;
        Some(i32::from_be_bytes(v))
    }

    fn u8(&mut self) -> Option<u8> {
        let (a, _) = self.take(1)?;
        self.bytes.get(a).copied()
    }

    /// A jute buffer: `Some(None)` for null (-1); a negative length other than -1, or one past
    /// the end, is unexpected. (Lengths within the payload are within jute's limit: the entry's
    /// own length was checked against it.)
    fn buffer(&mut self) -> Option<Option<(usize, usize)>> {
        match self.i32()? {
            -1 => Some(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            _ => None,
        }
    }

    /// A jute ustring that must not be null.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.buffer()?
    }
}

/// The fast path: the common records read in place, or `None` to decode in full.
fn fast(payload: &[u8], op_code: i32) -> Option<Peeked> {
    let mut c = Cursor {
        bytes: payload,
        at: TXN_HEADER_SIZE,
    };
    let digest = |c: &Cursor<'_>| match c.left() {
        0 => Some(false),
        TXN_DIGEST_SIZE => Some(true),
        _ => None,
    };
    let (path, class) = match op_code {
        op::CREATE | op::CREATE2 => {
            let path = c.string()?;
            let data = c.buffer()?;
            let count = c.i32()?;
            // A count the bytes cannot hold, or a negative one, is left to the decoder.
            if count < 0 || (count as usize).saturating_mul(crate::data::MIN_ACL_SIZE) > c.left() {
                return None;
            }
            for _ in 0..count {
                c.i32()?;
                c.string()?;
                c.string()?;
            }
            let ephemeral = c.u8()? != 0;
            // Without parentCVersion (pre-3.4 records) the decoder decides.
            let parent_cversion = c.i32()?;
            let class = OpClass::Create {
                parent_cversion,
                ephemeral,
                ext: None,
                v0: false,
                data_len: data.map_or(0, |(a, b)| b - a),
            };
            (Some(path), class)
        }
        op::DELETE => (Some(c.string()?), OpClass::Delete),
        op::SET_DATA => {
            let path = c.string()?;
            c.buffer()?;
            c.i32()?;
            (Some(path), OpClass::Other)
        }
        op::ERROR => {
            c.i32()?;
            (None, OpClass::Other)
        }
        op::CREATE_SESSION => {
            let timeout = c.i32()?;
            return Some(Peeked::CreateSession {
                timeout,
                digest: digest(&c)?,
            });
        }
        op::CLOSE_SESSION => {
            // No body, or just a digest (its version is 2); a path list goes to the decoder.
            let rest = payload.get(TXN_HEADER_SIZE..)?;
            return match rest.len() {
                0 => Some(Peeked::CloseSession { digest: false }),
                TXN_DIGEST_SIZE if rest.starts_with(&[0, 0, 0, 2]) => {
                    Some(Peeked::CloseSession { digest: true })
                }
                _ => None,
            };
        }
        _ => return None,
    };
    Some(Peeked::Op {
        path,
        class,
        digest: digest(&c)?,
    })
}

/// What [`peek`] gives, always found by decoding the whole record: the reference the fast path
/// is tested against (it is public for the fuzz targets).
#[doc(hidden)]
pub fn peek_decoded(entry: &TxnEntry<'_>) -> EntryPeek {
    EntryPeek(entry.record().map(|rec| {
        let digest = rec.digest.is_some();
        match &rec.body {
            Txn::CreateSession { timeout } => Peeked::CreateSession {
                timeout: *timeout,
                digest,
            },
            Txn::CloseSession(_) => Peeked::CloseSession { digest },
            Txn::Multi(_) => Peeked::Whole,
            t => match OpClass::of(t) {
                None => Peeked::Op {
                    path: None,
                    class: OpClass::Other,
                    digest,
                },
                Some((path, class)) => {
                    // Where the path sits in the payload (it borrows from it).
                    let start =
                        (path.as_ptr() as usize).wrapping_sub(entry.payload().as_ptr() as usize);
                    match entry.payload().get(start..start.wrapping_add(path.len())) {
                        Some(p) if std::ptr::eq(p, path) => Peeked::Op {
                            path: Some((start, start + path.len())),
                            class,
                            digest,
                        },
                        _ => Peeked::Whole,
                    }
                }
            },
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::txnlog::TxnLog;
    use std::path::Path;

    fn logs_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                logs_under(&p, out);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("log."))
            {
                out.push(p);
            }
        }
    }

    /// Every entry of every log in testdata/ (real servers 3.4, 3.8, 3.9, ZooKeeper's fixtures,
    /// the malformed corpus): the fast path gives exactly what a full decode gives.
    #[test]
    fn fast_peek_equals_full_decode_on_every_test_log() {
        let mut logs = Vec::new();
        logs_under(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata"),
            &mut logs,
        );
        let (mut entries, mut fast_hits) = (0, 0);
        for path in &logs {
            let bytes = std::fs::read(path).unwrap();
            let Ok(log) = TxnLog::parse(&bytes, Limits::default()) else {
                continue;
            };
            for e in log.entries_lenient().map_while(|e| e.ok()) {
                entries += 1;
                fast_hits += usize::from(fast(e.payload(), e.header().op).is_some());
                assert_eq!(
                    peek(&e),
                    peek_decoded(&e),
                    "{} entry {}",
                    path.display(),
                    e.index()
                );
            }
        }
        assert!(entries > 5000, "{entries} entries");
        // Most of them take the fast path (the rest are multis, setACLs, closeSessions with
        // paths, pre-3.4 creates and damaged records).
        assert!(fast_hits * 2 > entries, "{fast_hits} of {entries}");
    }

    /// Damaged copies of real creates (every byte of the body changed in turn, and every cut):
    /// still the same result, errors included.
    #[test]
    fn fast_peek_equals_full_decode_on_damaged_records() {
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/zk-3.8/basic/version-2/log.1"),
        )
        .unwrap();
        let log = TxnLog::parse(&bytes, Limits::default()).unwrap();
        let mut checked = 0;
        for e in log.entries().map_while(|e| e.ok()).take(60) {
            let raw = e.raw().to_vec();
            let payload_end = raw.len() - 1;
            for at in 12 + TXN_HEADER_SIZE..payload_end {
                for variant in 0..3 {
                    let mut payload = raw[12..payload_end].to_vec();
                    match variant {
                        0 => payload[at - 12] ^= 0x80,
                        1 => payload[at - 12] = 0xff,
                        _ => payload.truncate(at - 12),
                    }
                    let mut w = crate::txnlog::TxnLogWriter::new(Vec::new()).unwrap();
                    w.append_payload(&payload).unwrap();
                    let file = w.finish().unwrap();
                    let damaged = TxnLog::parse(&file, Limits::default()).unwrap();
                    if let Some(Ok(d)) = damaged.entries().next() {
                        assert_eq!(peek(&d), peek_decoded(&d), "entry {} byte {at}", e.index());
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
