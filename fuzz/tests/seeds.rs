//! Runs every fuzz target body over the seeds: every real file in `testdata/` (ZooKeeper 3.4,
//! 3.8, 3.9 data dirs, ZooKeeper's own fixtures, and the malformed cases), plus a few cheap
//! mutations of each (truncations and single-byte flips), so CI exercises the properties
//! without libFuzzer.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("log.")
                || name.starts_with("snapshot.")
                || p.parent().is_some_and(|d| d.ends_with("malformed"))
            {
                if let Ok(b) = std::fs::read(&p) {
                    if b.len() <= 4 << 20 {
                        out.push((p, b));
                    }
                }
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 10,
        "expected the real files of testdata/ (found {})",
        out.len()
    );
    out
}

/// The file itself, a few truncations and a few byte flips.
fn variants(data: &[u8]) -> Vec<Vec<u8>> {
    let mut v = vec![data.to_vec()];
    let n = data.len();
    for cut in [n / 2, n.saturating_sub(1), n.saturating_sub(7), 15, 17] {
        if cut < n {
            v.push(data[..cut].to_vec());
        }
    }
    let mut state = zkformat_fuzz::seed_of(data) | 1;
    for _ in 0..4 {
        if n == 0 {
            break;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut d = data.to_vec();
        let i = (state % n as u64) as usize;
        d[i] ^= 1 << (state >> 60 & 7);
        v.push(d);
    }
    v
}

fn run(target: fn(&[u8])) {
    for (path, data) in seeds() {
        for (i, d) in variants(&data).iter().enumerate() {
            let r = std::panic::catch_unwind(|| target(d));
            assert!(r.is_ok(), "{} (variant {i}) failed", path.display());
        }
    }
}

#[test]
fn jute_records() {
    run(zkformat_fuzz::jute_records);
    // Also every txn payload of the real logs, which is what the target is really about.
    for (path, data) in seeds() {
        if let Ok(log) = zkformat::txnlog::TxnLog::parse(&data, zkformat::Limits::default()) {
            for e in log.entries().flatten() {
                let r = std::panic::catch_unwind(|| zkformat_fuzz::jute_records(e.payload()));
                assert!(r.is_ok(), "{} entry at {}", path.display(), e.offset());
            }
        }
    }
}

#[test]
fn txnlog() {
    run(zkformat_fuzz::txnlog);
}

#[test]
fn txnlog_stream() {
    for (path, data) in seeds() {
        for d in variants(&data) {
            for seed in 0..6 {
                let r = std::panic::catch_unwind(|| {
                    zkformat_fuzz::txnlog_stream_with(&d, seed * 7919 + 1)
                });
                assert!(r.is_ok(), "{} seed {seed}", path.display());
            }
        }
    }
}

#[test]
fn snapshot() {
    run(zkformat_fuzz::snapshot);
}

#[test]
fn filter() {
    for (path, data) in seeds() {
        for d in variants(&data) {
            for bits in 0..8u8 {
                let mut input = vec![bits];
                input.extend_from_slice(&d);
                let r = std::panic::catch_unwind(|| zkformat_fuzz::filter(&input));
                assert!(r.is_ok(), "{} policy bits {bits}", path.display());
            }
        }
    }
}

#[test]
fn writer_roundtrip() {
    // Structured inputs from the seeds' bytes (as libFuzzer would feed them) and from a
    // deterministic generator.
    let mut inputs: Vec<Vec<u8>> = seeds().into_iter().map(|(_, d)| d).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for len in [0usize, 1, 10, 100, 1000, 5000, 20_000] {
        for _ in 0..20 {
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            inputs.push(v);
        }
    }
    for bytes in inputs {
        let mut u = Unstructured::new(&bytes);
        if let Ok(input) = zkformat_fuzz::WriterInput::arbitrary(&mut u) {
            zkformat_fuzz::writer_roundtrip(&input);
        }
    }
}

/// Regression (fuzzing, jute_records): a TxnDigest with version 0 decodes and re-encodes as read;
/// the model used to assume version 2.
#[test]
fn digest_version_other_than_2_round_trips() {
    // The minimised crasher: an error txn (op -1), err 0, digest version 0.
    let mut p = vec![0, 0x7a, 0];
    p.extend_from_slice(&[0xff; 29]);
    p.extend_from_slice(&[0; 14]);
    p.extend_from_slice(&[0x4e, 0x20]);
    assert_eq!(p.len(), 48);
    zkformat_fuzz::jute_records(&p);
}

/// Regression (fuzzing, jute_records): an ACL vector count of -256 in a create reads as empty
/// and re-encodes as read; the model writes 0 there.
#[test]
fn negative_acl_count_round_trips() {
    let p: Vec<u8> = vec![
        0x81, 0x20, 0x6d, 0xe6, 0x75, 0xbd, 0, 0, 0, 0, 0, 0x0f, 0, 0, 0, 0, 5, b'w', b'o', b'r',
        b'l', b'd', 1, 0x20, 0x6d, 0xe6, 0x78, 0x94, 0, 0, 0, 1, 0, 0, 0, 2, b'/', b'1', 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 5,
    ];
    zkformat_fuzz::jute_records(&p);
}

/// Regression (fuzzing, jute_records): a closeSession whose paths2Delete vector is null (-1)
/// re-encodes as read; the model writes an empty vector there.
#[test]
fn null_close_session_paths_round_trip() {
    let mut p = vec![
        0x80, 0x61, 0xff, 0xff, 0xff, 0xf5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x78, 0xff, 0xff, 0xff,
        0xfe, 0, 0, 1, 0x61,
    ];
    p.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf5]);
    p.extend_from_slice(&[0xff; 8]);
    p.extend_from_slice(&[0, 0x9f, 0, 0, 0, 0, 0, 0x4e]);
    zkformat_fuzz::jute_records(&p);
}

/// `writer_roundtrip` from raw bytes, as libFuzzer feeds it.
fn writer_roundtrip_bytes(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    if let Ok(input) = zkformat_fuzz::WriterInput::arbitrary(&mut u) {
        zkformat_fuzz::writer_roundtrip(&input);
    }
}

/// The body of the target named `name` (the names of `cargo fuzz list`).
fn body(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "jute_records" => zkformat_fuzz::jute_records,
        "txnlog" => zkformat_fuzz::txnlog,
        "txnlog_stream" => zkformat_fuzz::txnlog_stream,
        "snapshot" => zkformat_fuzz::snapshot,
        "writer_roundtrip" => writer_roundtrip_bytes,
        "filter" => zkformat_fuzz::filter,
        _ => return None,
    })
}

/// Inputs the fuzzers found, as `(target, path, bytes)`: the files of `dir/<target>/`.
fn found_inputs(dir: &str) -> Vec<(String, PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    for t in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let target = t.file_name().to_string_lossy().into_owned();
        if body(&target).is_none() {
            continue;
        }
        for f in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
            if let Ok(b) = std::fs::read(f.path()) {
                out.push((target.clone(), f.path(), b));
            }
        }
    }
    out.sort();
    out
}

/// Fixed findings (`fuzz/regressions/<target>/`, minimised crashers): each runs clean through its
/// target's body. `seed.sh` also copies them into the corpus.
#[test]
fn regressions() {
    for (target, path, data) in found_inputs("regressions") {
        let run = body(&target).expect("a target");
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{target}: {} fails again", path.display());
    }
}
