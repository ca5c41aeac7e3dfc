//! Property tests (proptest): round trips of every record, whole logs and snapshots written by
//! our writers, streaming with random short reads ≡ slice parsing (on random and real files,
//! intact and damaged), and the filter's properties.
//!
//! The fuzz targets' bodies (`fuzz/src/lib.rs`, with the owned model in `fuzz/src/model.rs`) are
//! included here, so proptest drives the same properties libFuzzer does.

#![allow(missing_docs, dead_code)]

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use targets::model::{self, MAcl, MRecord, MSnapshot, MStat};
use zkformat::data::{AclList, Stat};
use zkformat::jute::{self, Reader};
use zkformat::kind::{FileHeader, LOG_MAGIC, SNAPSHOT_MAGIC};
use zkformat::txn::{TxnHeader, TxnRecord};
use zkformat::{Limits, Zxid};

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A value of `T` built by `arbitrary` from proptest's bytes.
fn arb<T: for<'a> Arbitrary<'a>>(bytes: &[u8]) -> Option<T> {
    T::arbitrary(&mut Unstructured::new(bytes)).ok()
}

fn real_files() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("log.") || n.starts_with("snapshot."))
                || p.parent().is_some_and(|d| d.ends_with("malformed"))
            {
                if let Ok(b) = std::fs::read(&p) {
                    out.push((p, b));
                }
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(cfg(512))]

    #[test]
    fn jute_primitives_round_trip(a in any::<i32>(), b in any::<i64>(), flag in any::<u8>(), buf in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))) {
        let mut out = Vec::new();
        jute::put_i32(&mut out, a);
        jute::put_i64(&mut out, b);
        out.push(flag);
        jute::put_buffer(&mut out, buf.as_deref());
        let mut r = Reader::new(&out, 7, Limits::default());
        prop_assert_eq!(r.i32("a").unwrap(), a);
        prop_assert_eq!(r.i64("b").unwrap(), b);
        prop_assert_eq!(r.bool("c").unwrap().0, flag);
        prop_assert_eq!(r.buffer("d").unwrap(), buf.as_deref());
        prop_assert!(r.is_empty());
        prop_assert_eq!(r.offset(), 7 + out.len() as u64);
    }

    #[test]
    fn adler32_suffix_removal(data in proptest::collection::vec(any::<u8>(), 0..20_000), cut in any::<prop::sample::Index>()) {
        use zkformat::checksum::{adler32, adler32_without_suffix};
        let at = cut.index(data.len() + 1);
        let (prefix, suffix) = data.split_at(at);
        prop_assert_eq!(adler32_without_suffix(adler32(&data), suffix), adler32(prefix));
    }

    #[test]
    fn acl_lists_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let Some(acls) = arb::<Option<Vec<MAcl>>>(&bytes) else { return Ok(()) };
        let mut enc = Vec::new();
        model::put_acls(&mut enc, acls.as_deref());
        let mut r = Reader::new(&enc, 0, Limits::default());
        let list = AclList::decode(&mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(model::acl_list_model(&list), acls);
        let mut again = Vec::new();
        list.encode(&mut again);
        prop_assert_eq!(again, enc);
    }

    #[test]
    fn stat_and_headers_round_trip(bytes in proptest::collection::vec(any::<u8>(), 60..120), magic in prop_oneof![Just(LOG_MAGIC), Just(SNAPSHOT_MAGIC)], version in any::<i32>(), dbid in any::<i64>()) {
        let s: MStat = arb(&bytes).unwrap();
        let mut enc = Vec::new();
        model::put_stat(&mut enc, &s);
        prop_assert_eq!(enc.len(), 60);
        let st = Stat::decode(&mut Reader::new(&enc, 0, Limits::default())).unwrap();
        prop_assert_eq!(MStat::of(&st), s);
        let mut again = Vec::new();
        st.encode(&mut again);
        prop_assert_eq!(&again, &enc);
        let h = FileHeader { magic, version, dbid };
        let mut hb = Vec::new();
        h.encode(&mut hb);
        prop_assert_eq!(FileHeader::decode(&hb, magic).unwrap(), h);
        let th = TxnHeader { session: dbid, cxid: version, zxid: Zxid(dbid ^ 5), time: dbid.wrapping_mul(3), op: version };
        let mut tb = Vec::new();
        th.encode(&mut tb);
        prop_assert_eq!(TxnHeader::decode(&mut Reader::new(&tb, 0, Limits::default())).unwrap(), th);
    }

    /// Every txn body (multi with error sub-ops, V0 create, with and without digest) decodes to
    /// the model and re-encodes to the same bytes.
    #[test]
    fn txn_records_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let Some(mut rec) = arb::<MRecord>(&bytes) else { return Ok(()) };
        rec.normalize();
        let payload = rec.encode();
        let decoded = TxnRecord::decode(&payload, 0, Limits::default()).unwrap();
        prop_assert_eq!(MRecord::of(&decoded), Some(rec));
        let mut again = Vec::new();
        decoded.encode(&mut again);
        prop_assert_eq!(again, payload);
    }

    /// Whole logs and snapshots from our writers: read back equal, re-written identical, read
    /// identically by the streaming readers (short reads, gzip, snappy), and reproduced by the
    /// keep-all snapshot filter.
    #[test]
    fn writers_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
        if let Some(input) = arb::<targets::WriterInput>(&bytes) {
            targets::writer_roundtrip(&input);
        }
    }

    /// Damaged logs: streaming with random short reads ≡ slice parsing (entries, offsets, end,
    /// first error kind and offset), in strict and lenient mode.
    #[test]
    fn damaged_logs_stream_like_slices(bytes in proptest::collection::vec(any::<u8>(), 0..3000), cut in any::<prop::sample::Index>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4), seed in any::<u64>()) {
        let Some(records) = arb::<Vec<MRecord>>(&bytes) else { return Ok(()) };
        let mut w = zkformat::txnlog::TxnLogWriter::new(Vec::new()).unwrap();
        for mut r in records {
            r.normalize();
            w.append_payload(&r.encode()).unwrap();
        }
        let mut log = w.finish().unwrap();
        log.extend_from_slice(&[0; 40]);
        for (i, x) in flips {
            let i = i.index(log.len());
            log[i] ^= x;
        }
        let log = &log[..cut.index(log.len() + 1)];
        targets::txnlog_stream_with(log, seed);
        targets::txnlog(log);
    }

    /// Damaged snapshots: streaming ≡ slice (same items, same first error kind and offset).
    #[test]
    fn damaged_snapshots_stream_like_slices(bytes in proptest::collection::vec(any::<u8>(), 0..3000), cut in any::<prop::sample::Index>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
        let Some(snap) = arb::<MSnapshot>(&bytes) else { return Ok(()) };
        let mut data = snap.write().unwrap();
        for (i, x) in flips {
            let i = i.index(data.len());
            data[i] ^= x;
        }
        let data = &data[..cut.index(data.len() + 1)];
        targets::snapshot(data);
    }

    /// Filter properties on logs from our writer: keep-all reproduces the input up to the end of
    /// the last entry; any policy gives a log that re-parses, kept entries are input entries,
    /// and filtering twice changes nothing.
    #[test]
    fn filter_properties(bytes in proptest::collection::vec(any::<u8>(), 0..3000), bits in 0u8..8) {
        let Some(records) = arb::<Vec<MRecord>>(&bytes) else { return Ok(()) };
        let mut w = zkformat::txnlog::TxnLogWriter::new(Vec::new()).unwrap();
        for mut r in records {
            r.normalize();
            w.append_payload(&r.encode()).unwrap();
        }
        let mut log = w.finish().unwrap();
        log.extend_from_slice(&[0; 100]);
        targets::filter_with(&log, &targets::policy_from(bits, &bytes));
        targets::filter_with(&log, &zkformat::filter::Policy::keep_all());
    }
}

/// Every real file in `testdata/`: streaming with random short reads (several seeds) equals
/// slice (mmap) parsing, and so does every truncation at a random point.
#[test]
fn real_files_stream_like_slices() {
    let files = real_files();
    assert!(files.len() > 10, "testdata/ has the real files");
    let mut runner = proptest::test_runner::TestRunner::new(cfg(8));
    for (path, data) in &files {
        let is_log = data.starts_with(b"ZKLG");
        runner
            .run(&(any::<u64>(), 0..=data.len()), |(seed, cut)| {
                for d in [&data[..], &data[..cut]] {
                    if is_log {
                        targets::txnlog_stream_with(d, seed);
                    } else if d.len() < 1 << 20 {
                        targets::snapshot(d);
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Every real snapshot and log through the filter with keep-all: identical output.
#[test]
fn real_files_keep_all_filter_is_identity() {
    for (path, data) in real_files() {
        if data.len() > 1 << 20 {
            continue;
        }
        let r = std::panic::catch_unwind(|| {
            targets::filter_with(&data, &zkformat::filter::Policy::keep_all())
        });
        assert!(r.is_ok(), "{}", path.display());
        for bits in 1..8 {
            let r = std::panic::catch_unwind(|| {
                targets::filter_with(&data, &targets::policy_from(bits, b"app"))
            });
            assert!(r.is_ok(), "{} policy {bits}", path.display());
        }
    }
}
