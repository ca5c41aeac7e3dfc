//! `zkfilter` on every file of `testdata/malformed/`: a damaged input gives exit status 2, an
//! error naming the file and the offset, and no output; an input ZooKeeper itself reads to a
//! quiet end (torn or partial last entry, trailing bytes, any header version) is filtered up to
//! that end with exit status 0. Nothing panics.

#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;

/// Files ZooKeeper reads without an error (and so does zkfilter).
const READABLE: [&str; 5] = [
    "log-bad-eor",
    "log-torn-final-entry",
    "log-trailing-garbage",
    "log-version-99",
    "snap-version-99",
];

#[test]
fn malformed_inputs_fail_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/malformed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata/malformed")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".py"))
        .collect();
    names.sort();
    assert!(names.len() >= 28);
    for name in names {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let out = out_dir.path().join("out");
        let sub = if name.starts_with("log-") {
            "log"
        } else {
            "snapshot"
        };
        let o = Command::new(env!("CARGO_BIN_EXE_zkfilter"))
            .arg(sub)
            .arg(dir.join(&name))
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .output()
            .expect("run zkfilter");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        if READABLE.contains(&name.as_str()) {
            assert_eq!(o.status.code(), Some(0), "{name}: {stderr}");
            assert!(out.exists(), "{name}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
            assert!(
                stderr.contains(&name) && stderr.contains("offset"),
                "{name}: the error names the file and the offset: {stderr}"
            );
            let left: Vec<_> = std::fs::read_dir(out_dir.path())
                .expect("dir")
                .flatten()
                .collect();
            assert!(
                left.is_empty(),
                "{name}: output or temporary file left: {left:?}"
            );
        }
    }
}
