//! What the filter needs to know about a log entry, found ahead of the decision (on the
//! read-ahead thread when [`super::filter_log`] runs).
//!
//! [`peek`] reads the common records in place (`txn::shape`); anything else, or anything
//! unusual, is decoded in full ([`peek_decoded`]), so results and errors are always those of a
//! full decode (tested on every real log, on damaged records, and in the fuzz filter target).

use super::OpClass;
use crate::error::Result;
use crate::txn::{op, shape, Txn};
use crate::txnlog::TxnEntry;

/// What the filter learns about a log entry before deciding on it: computed by [`peek`], on the
/// read-ahead thread when [`super::filter_log`] runs, so that the deciding thread does not decode
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

/// The fast path: a record's [`shape`] read in place, or `None` to decode in full.
fn fast(payload: &[u8], op_code: i32) -> Option<Peeked> {
    let found = shape(payload, op_code)?;
    let digest = found.digest;
    Some(match op_code {
        op::CREATE_SESSION => Peeked::CreateSession {
            timeout: found.session_timeout?,
            digest,
        },
        op::CLOSE_SESSION => Peeked::CloseSession { digest },
        _ => Peeked::Op {
            path: found.path,
            class: match (found.create, op_code) {
                (Some(c), _) => OpClass::Create {
                    parent_cversion: c.parent_cversion,
                    ephemeral: c.ephemeral,
                    ext: None,
                    v0: false,
                    data_len: c.data_len,
                },
                (None, op::DELETE) => OpClass::Delete,
                (None, _) => OpClass::Other,
            },
            digest,
        },
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
                assert_eq!(
                    e.check_record(),
                    e.record().map(|r| r.digest.is_some()),
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
            for at in 12 + crate::txn::TXN_HEADER_SIZE..payload_end {
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
                        assert_eq!(d.check_record(), d.record().map(|r| r.digest.is_some()));
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
