//! `zkdump verify` on every file of `testdata/malformed/` (defects made from real files, see its
//! README): each defect is reported with its offset and the documented exit status (1: problem
//! found; 2: not a ZooKeeper file at all; 0: files ZooKeeper itself reads, whose header version
//! it ignores).

#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;

/// (file, exit status, text the report must contain)
const EXPECTED: &[(&str, i32, &str)] = &[
    ("gz-bomb.gz", 1, "problem at offset"),
    ("gz-corrupt.gz", 1, "unreasonable length"),
    ("gz-truncated.gz", 1, "decompression failed"),
    ("log-acl-count-max", 1, "vector count 2147483647"),
    ("log-bad-eor", 1, "end-of-record byte"),
    (
        "log-bad-magic",
        2,
        "zkdump expects a ZooKeeper txn log or snapshot",
    ),
    ("log-flipped-payload", 1, "Adler32 mismatch"),
    ("log-length-minus1", 1, "-1"),
    ("log-length-minus2", 1, "-2"),
    ("log-length-over-limit", 1, "unreasonable length"),
    ("log-torn-final-entry", 1, "torn final entry"),
    ("log-trailing-garbage", 1, "torn final entry"),
    (
        "log-truncated-header",
        1,
        "input ends inside txn log file header",
    ),
    ("log-version-99", 0, "0 problems"),
    ("snap-acl-count-max", 1, "vector count 2147483647"),
    ("snap-acl-null", 1, "null ACL cache list"),
    (
        "snap-bad-magic",
        2,
        "zkdump expects a ZooKeeper txn log or snapshot",
    ),
    ("snap-bad-seal", 1, "seal #1 mismatch"),
    ("snap-bad-seal2", 1, "seal #2 mismatch"),
    (
        "snap-data-length-over-limit",
        1,
        "unreasonable length 2097151",
    ),
    ("snap-missing-terminator", 1, "input ends inside node path"),
    ("snap-path-length-minus2", 1, "unreasonable length -2"),
    ("snap-trailing-garbage", 1, "bytes after the first seal"),
    (
        "snap-truncated-header",
        1,
        "input ends inside snapshot file header",
    ),
    ("snap-version-99", 0, "0 problems"),
    ("snappy-block-bomb.snappy", 1, "claims 67108864 bytes"),
    ("snappy-corrupt.snappy", 1, "decompression failed"),
    ("snappy-truncated.snappy", 1, "snappy stream truncated"),
];

#[test]
fn verify_reports_every_defect_with_its_exit_status() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/malformed");
    for (name, code, text) in EXPECTED {
        let o = Command::new(env!("CARGO_BIN_EXE_zkdump"))
            .arg("verify")
            .arg(dir.join(name))
            .output()
            .expect("run zkdump");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains("panicked"), "{name}: {all}");
        assert_eq!(o.status.code(), Some(*code), "{name}: {all}");
        assert!(all.contains(text), "{name}: expected {text:?} in {all}");
    }
    // Every file of the corpus is covered here.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata/malformed")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".py"))
        .collect();
    files.sort();
    let listed: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    assert_eq!(files, listed);
}
