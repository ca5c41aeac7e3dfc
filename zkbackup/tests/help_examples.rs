//! Every command line in `zkbackup --help`'s examples runs as pasted from the project's root
//! (the commented ones need a live server or S3 and are exercised by tests/backup).

#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

#[test]
fn help_examples_run_as_pasted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let exe = env!("CARGO_BIN_EXE_zkbackup");
    let help = Command::new(exe).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    let examples: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Examples"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(examples.len() >= 3, "{text}");
    let _ = std::fs::remove_dir_all("/tmp/zkbackup-example");
    let bin_dir = Path::new(exe).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for ex in examples {
        let o = Command::new("bash")
            .args(["-o", "pipefail", "-c", ex])
            .env("PATH", &path)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "example failed: {ex}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let _ = std::fs::remove_dir_all("/tmp/zkbackup-example");
}
