//! Every file in `testdata/malformed/` (made by `make.py` from real files): the exact error kind
//! and offset, or how the log ends; the slice reader and the streaming reader (fed 1–7 bytes per
//! `read`) agree; nothing panics.

use std::io::{self, Read};
use std::path::PathBuf;

use zkformat::snapshot::{Snapshot, SnapshotReader};
use zkformat::txnlog::{EndReason, LogEnd, LogReader, TxnLog};
use zkformat::{ErrorKind, Limits};

fn file(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/malformed")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Returns 1..=7 bytes per call.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1 = self.1 % 7 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[derive(Debug, PartialEq)]
struct LogResult {
    entries: Vec<u64>,
    record_errors: Vec<(ErrorKind, u64)>,
    end: Option<LogEnd>,
    error: Option<(ErrorKind, u64)>,
    version: Option<i32>,
}

fn read_log(data: &[u8]) -> LogResult {
    let mut r = LogResult {
        entries: vec![],
        record_errors: vec![],
        end: None,
        error: None,
        version: None,
    };
    let log = match TxnLog::parse(data, Limits::default()) {
        Ok(l) => l,
        Err(e) => {
            r.error = Some((e.kind().clone(), e.offset()));
            return r;
        }
    };
    r.version = Some(log.header().version);
    let mut it = log.entries();
    for e in it.by_ref() {
        match e {
            Ok(e) => {
                r.entries.push(e.offset());
                if let Err(x) = e.record() {
                    r.record_errors.push((x.kind().clone(), x.offset()));
                }
            }
            Err(e) => r.error = Some((e.kind().clone(), e.offset())),
        }
    }
    r.end = it.end();
    r
}

fn stream_log(data: &[u8]) -> LogResult {
    let mut r = LogResult {
        entries: vec![],
        record_errors: vec![],
        end: None,
        error: None,
        version: None,
    };
    let mut rd = match LogReader::new(Trickle(data, 0), Limits::default()) {
        Ok(l) => l,
        Err(e) => {
            r.error = Some((e.kind().clone(), e.offset()));
            return r;
        }
    };
    r.version = Some(rd.header().version);
    loop {
        match rd.next_entry() {
            Ok(Some(e)) => {
                r.entries.push(e.offset());
                if let Err(x) = e.record() {
                    r.record_errors.push((x.kind().clone(), x.offset()));
                }
            }
            Ok(None) => break,
            Err(e) => {
                r.error = Some((e.kind().clone(), e.offset()));
                break;
            }
        }
    }
    r.end = rd.end();
    r
}

/// Reads the log both ways, checks they agree, returns the result.
fn log(name: &str) -> LogResult {
    let d = file(name);
    let a = read_log(&d);
    let b = stream_log(&d);
    assert_eq!(a, b, "{name}: slice and stream differ");
    a
}

const ENTRIES6: [u64; 6] = [16, 65, 151, 241, 335, 429];

fn end(
    reason: EndReason,
    offset: u64,
    trailing_bytes: u64,
    trailing_nonzero: u64,
) -> Option<LogEnd> {
    Some(LogEnd {
        reason,
        offset,
        trailing_bytes,
        trailing_nonzero,
    })
}

#[test]
fn log_bad_magic() {
    let r = log("log-bad-magic");
    assert_eq!(
        r.error,
        Some((
            ErrorKind::BadMagic {
                expected: 0x5A4B_4C47,
                found: u32::from_be_bytes(*b"XKLG")
            },
            0
        ))
    );
}

#[test]
fn log_version_is_ignored_like_zookeeper() {
    let r = log("log-version-99");
    assert_eq!(r.version, Some(99));
    assert_eq!(r.entries, ENTRIES6);
    assert_eq!(r.end, end(EndReason::Eof, 523, 0, 0));
    assert_eq!(r.error, None);
}

#[test]
fn log_truncated_header() {
    let r = log("log-truncated-header");
    assert_eq!(
        r.error,
        Some((
            ErrorKind::Truncated {
                what: "txn log file header",
                needed: 6
            },
            8
        ))
    );
}

#[test]
fn log_torn_final_entry() {
    let r = log("log-torn-final-entry");
    assert_eq!(r.entries, ENTRIES6[..5]);
    assert_eq!(r.end, end(EndReason::Torn, 429, 52, 25));
    assert_eq!(r.error, None);
}

#[test]
fn log_flipped_payload_byte() {
    let r = log("log-flipped-payload");
    assert_eq!(r.entries, ENTRIES6[..2]);
    assert_eq!(
        r.error,
        Some((
            ErrorKind::ChecksumMismatch {
                stored: 2_971_667_392,
                computed: 2_974_092_225
            },
            151
        ))
    );
    assert_eq!(r.end, None);
}

#[test]
fn log_bad_end_of_record() {
    let r = log("log-bad-eor");
    assert_eq!(r.entries, ENTRIES6[..2]);
    assert_eq!(
        r.end,
        end(EndReason::PartialRecord { found: b'X' }, 151, 372, 200)
    );
    assert!(!r.end.is_some_and(|e| e.is_clean()));
}

#[test]
fn log_bad_lengths() {
    for (name, len) in [
        ("log-length-minus1", -1),
        ("log-length-minus2", -2),
        ("log-length-over-limit", 2_097_151),
    ] {
        let r = log(name);
        assert_eq!(r.entries, ENTRIES6[..2], "{name}");
        assert_eq!(
            r.error,
            Some((
                ErrorKind::LengthOutOfRange {
                    field: "txn log entry length",
                    len,
                    limit: 2_097_150
                },
                151 + 8
            )),
            "{name}"
        );
    }
}

#[test]
fn log_acl_vector_count_max() {
    let r = log("log-acl-count-max");
    assert_eq!(r.entries, ENTRIES6);
    assert_eq!(
        r.record_errors,
        vec![(
            ErrorKind::CountOutOfRange {
                field: "ACL vector count",
                count: 0x7fff_ffff,
                bytes_left: 24
            },
            122
        )]
    );
}

#[test]
fn log_trailing_garbage() {
    let r = log("log-trailing-garbage");
    assert_eq!(r.entries, ENTRIES6);
    assert_eq!(r.end, end(EndReason::Torn, 523, 7, 7));
}

/// Reads a snapshot as a slice (plain files) and as a stream; both must fail alike.
fn snap(name: &str, limits: Limits) -> Result<u64, (ErrorKind, u64)> {
    let d = file(name);
    let stream = SnapshotReader::open(Trickle(&d, 0), limits)
        .and_then(|r| r.check())
        .map(|s| s.nodes)
        .map_err(|e| (e.kind().clone(), e.offset()));
    if zkformat::compression::Compression::detect(&d) == zkformat::compression::Compression::None {
        let slice = Snapshot::new(&d, limits)
            .check()
            .map(|s| s.nodes)
            .map_err(|e| (e.kind().clone(), e.offset()));
        // Same kind at the same offset; the kind's values may differ only where they count bytes
        // a stream has not seen (the length after seal #1 here).
        let shape = |r: &Result<u64, (ErrorKind, u64)>| {
            r.clone().map_err(|(k, o)| (std::mem::discriminant(&k), o))
        };
        assert_eq!(
            shape(&slice),
            shape(&stream),
            "{name}: slice and stream differ"
        );
        let whole = SnapshotReader::open(&d[..], limits)
            .and_then(|r| r.check())
            .map(|s| s.nodes)
            .map_err(|e| (e.kind().clone(), e.offset()));
        assert_eq!(slice, whole, "{name}: slice and whole-buffer stream differ");
        return slice;
    }
    stream
}

fn snap_err(name: &str) -> (ErrorKind, u64) {
    snap(name, Limits::default()).expect_err(name)
}

#[test]
fn snapshot_cases() {
    assert_eq!(
        snap_err("snap-bad-magic"),
        (
            ErrorKind::BadMagic {
                expected: 0x5A4B_534E,
                found: u32::from_be_bytes(*b"XKSN")
            },
            0
        )
    );
    assert_eq!(
        snap("snap-version-99", Limits::default()),
        Ok(4),
        "the version is ignored, as by ZooKeeper"
    );
    assert_eq!(
        snap_err("snap-truncated-header"),
        (
            ErrorKind::Truncated {
                what: "snapshot file header",
                needed: 6
            },
            0
        )
    );
    let (k, off) = snap_err("snap-acl-count-max");
    assert!(
        matches!(
            k,
            ErrorKind::CountOutOfRange {
                field: "ACL vector count",
                count: 0x7fff_ffff,
                ..
            }
        ),
        "{k:?}"
    );
    assert_eq!(off, 44);
    assert_eq!(
        snap_err("snap-acl-null"),
        (
            ErrorKind::UnexpectedNull {
                field: "ACL cache list"
            },
            44
        )
    );
    assert_eq!(
        snap_err("snap-path-length-minus2"),
        (
            ErrorKind::LengthOutOfRange {
                field: "node path",
                len: -2,
                limit: 2_097_150
            },
            147
        )
    );
    assert_eq!(
        snap_err("snap-data-length-over-limit"),
        (
            ErrorKind::LengthOutOfRange {
                field: "node data",
                len: 2_097_151,
                limit: 2_097_150
            },
            161
        )
    );
    assert_eq!(
        snap_err("snap-missing-terminator"),
        (
            ErrorKind::Truncated {
                what: "node path",
                needed: 4
            },
            5411
        )
    );
    assert_eq!(
        snap_err("snap-bad-seal"),
        (
            ErrorKind::SealMismatch {
                index: 1,
                stored: 2_615_263_067,
                computed: 2_615_263_066
            },
            5416
        )
    );
    assert_eq!(
        snap_err("snap-bad-seal2"),
        (
            ErrorKind::SealMismatch {
                index: 2,
                stored: 2_511_945_048,
                computed: 2_511_945_049
            },
            444
        )
    );
    assert_eq!(
        snap_err("snap-trailing-garbage"),
        (ErrorKind::BadSnapshotTail { len: 61 }, 424)
    );
}

fn decompression_error(name: &str, limits: Limits) -> (String, u64) {
    match snap(name, limits) {
        Err((ErrorKind::Decompression(msg), off)) => (msg, off),
        other => panic!("{name}: expected a decompression error, got {other:?}"),
    }
}

#[test]
fn compressed_cases() {
    let (msg, off) = decompression_error("gz-truncated.gz", Limits::default());
    assert!(msg.contains("incomplete deflate stream"), "{msg}");
    assert_eq!(off, 865);
    // A flipped byte inside deflate data decodes to garbage: the snapshot parser catches it
    // (or the decoder does); either way an error, never a panic.
    let r = snap("gz-corrupt.gz", Limits::default());
    assert_eq!(
        r,
        Err((
            ErrorKind::LengthOutOfRange {
                field: "node data",
                len: 871_973_045,
                limit: 2_097_150
            },
            1021
        ))
    );
    let (msg, off) = decompression_error("snappy-truncated.snappy", Limits::default());
    assert!(msg.contains("truncated"), "{msg}");
    assert_eq!(off, 0);
    let (msg, off) = decompression_error("snappy-corrupt.snappy", Limits::default());
    assert!(
        msg.contains("chunk length 2147483647 out of range"),
        "{msg}"
    );
    assert_eq!(off, 0);
    let (msg, off) = decompression_error("snappy-block-bomb.snappy", Limits::default());
    assert!(msg.contains("claims 67108864 bytes"), "{msg}");
    assert_eq!(off, 0);
}

#[test]
fn gzip_bomb_is_capped() {
    let capped = Limits {
        max_decompressed: 16 << 20,
        ..Limits::default()
    };
    let (msg, off) = decompression_error("gz-bomb.gz", capped);
    assert!(
        msg.contains("larger than the limit of 16777216 bytes"),
        "{msg}"
    );
    // The offset is where the decompressed bytes buffered so far end: just under the cap.
    assert!(off <= 16 << 20 && off > (16 << 20) - (64 << 10), "{off}");
    // Without a small cap the 48 MiB of zeros are read as sessions until the stream ends.
    assert_eq!(
        snap("gz-bomb.gz", Limits::default()),
        Err((
            ErrorKind::Truncated {
                what: "session",
                needed: 12
            },
            20 + (48 << 20)
        ))
    );
}

#[test]
fn every_file_is_covered() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/malformed");
    let n = std::fs::read_dir(dir)
        .expect("testdata/malformed")
        .flatten()
        .filter(|e| {
            !e.file_name().to_string_lossy().ends_with(".md")
                && !e.file_name().to_string_lossy().ends_with(".py")
        })
        .count();
    assert_eq!(
        n, 28,
        "a new file in testdata/malformed/ needs its expectation here"
    );
}

// ---- Regressions for findings (fuzzing and these tests) ----

/// A create2 (op 15) whose body ends before parentCVersion is not a pre-3.4 CreateTxnV0: only op
/// 1 has that layout (`SerializeUtils.deserializeTxn`). It used to decode as a `Txn::Create`.
#[test]
fn create2_has_no_v0_layout() {
    use zkformat::txn::{op, TxnHeader, TxnRecord};
    let mut p = Vec::new();
    TxnHeader {
        session: 1,
        cxid: 1,
        zxid: zkformat::Zxid(1),
        time: 0,
        op: op::CREATE2,
    }
    .encode(&mut p);
    zkformat::jute::put_string(&mut p, b"/a");
    zkformat::jute::put_buffer(&mut p, None);
    zkformat::jute::put_i32(&mut p, 0);
    p.push(0);
    let e = TxnRecord::decode(&p, 0, Limits::default()).expect_err("truncated create2");
    assert!(e.is_truncated(), "{e}");
    assert_eq!(e.offset(), p.len() as u64);
}

/// Slice and stream readers used to fail differently on a session count larger than the file
/// (the slice reader checked it against the file's length up front; the stream cannot).
#[test]
fn huge_session_count_fails_alike() {
    let mut d = file("snap-bad-magic");
    d[0] = b'Z';
    d[16..20].copy_from_slice(&0x2000_0002i32.to_be_bytes());
    let slice = Snapshot::new(&d, Limits::default())
        .check()
        .map_err(|e| (e.kind().clone(), e.offset()));
    let stream = SnapshotReader::open(Trickle(&d, 0), Limits::default())
        .and_then(|r| r.check())
        .map_err(|e| (e.kind().clone(), e.offset()));
    assert_eq!(slice.clone().map(|s| s.nodes), stream.map(|s| s.nodes));
    assert!(slice.is_err());
}

/// An ACL cache entry larger than the largest item the streaming reader buffers (4 MiB + 76
/// bytes with the default jute.maxbuffer) is refused by both readers alike, even when the slice
/// reader could see all of it.
#[test]
fn oversized_acl_entry_fails_alike() {
    let mut d = b"ZKSN\0\0\0\x02\xff\xff\xff\xff\xff\xff\xff\xff".to_vec();
    d.extend_from_slice(&0i32.to_be_bytes());
    d.extend_from_slice(&1i32.to_be_bytes());
    d.extend_from_slice(&1i64.to_be_bytes());
    let n = 400_000i32;
    d.extend_from_slice(&n.to_be_bytes());
    for _ in 0..n {
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    d.extend_from_slice(&[0; 100]);
    let slice = Snapshot::new(&d, Limits::default())
        .check()
        .map(|s| s.nodes)
        .map_err(|e| (e.kind().clone(), e.offset()));
    let stream = SnapshotReader::open(&d[..], Limits::default())
        .and_then(|r| r.check())
        .map(|s| s.nodes)
        .map_err(|e| (e.kind().clone(), e.offset()));
    let trickle = SnapshotReader::open(Trickle(&d, 0), Limits::default())
        .and_then(|r| r.check())
        .map(|s| s.nodes)
        .map_err(|e| (e.kind().clone(), e.offset()));
    assert_eq!(slice, stream);
    assert_eq!(slice, trickle);
    assert!(
        matches!(slice, Err((ErrorKind::LengthOutOfRange { .. }, 24))),
        "{slice:?}"
    );
}
