//! Golden tests: `zkdump` over every real file in `testdata/` (text and JSON dumps), and
//! `verify` / `sessions` / `summary` over every data dir. Outputs are checked in under
//! `testdata/golden/zkdump/` and compared exactly; `ZK_BLESS=1 cargo test` rewrites them.
//!
//! `testdata/golden/` and `testdata/malformed/` are skipped (malformed inputs have their own test).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn is_data_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (name.starts_with("log.") || name.starts_with("snapshot.")) && !name.ends_with(".md")
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let mut has_data = false;
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if p.is_dir() {
            if ["golden", "malformed", "generate"].contains(&name.as_str())
                && p.parent() == Some(&root().join("testdata"))
            {
                continue;
            }
            if name == "version-2" {
                dirs.push(p.parent().unwrap_or(&p).to_path_buf());
            }
            walk(&p, files, dirs);
        } else if is_data_file(&p) {
            has_data = true;
            files.push(p);
        }
    }
    // Folders holding data files directly (the pre-3.0 upgrade fixtures) are data dirs too.
    if has_data && dir.file_name().and_then(|n| n.to_str()) != Some("version-2") {
        dirs.push(dir.to_path_buf());
    }
}

/// Every real data file and data dir under testdata/, relative to the workspace root.
pub fn discover() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    walk(&root().join("testdata"), &mut files, &mut dirs);
    let rel = |p: PathBuf| p.strip_prefix(root()).map(Path::to_path_buf).unwrap_or(p);
    let mut files: Vec<PathBuf> = files.into_iter().map(rel).collect();
    let mut dirs: Vec<PathBuf> = dirs.into_iter().map(rel).collect();
    files.sort();
    dirs.sort();
    dirs.dedup();
    (files, dirs)
}

struct Run {
    stdout: String,
    status: String,
}

fn zkdump(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zkdump"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run zkdump");
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: format!("exit: {code}\n{stderr}"),
    }
}

struct Golden {
    bless: bool,
    failures: Vec<String>,
    checked: usize,
}

impl Golden {
    fn new() -> Golden {
        Golden {
            bless: std::env::var("ZK_BLESS").is_ok_and(|v| v == "1"),
            failures: Vec::new(),
            checked: 0,
        }
    }

    fn check(&mut self, rel: &Path, suffix: &str, actual: &str) {
        let path = root()
            .join("testdata/golden/zkdump")
            .join(format!("{}.{suffix}", rel.display()));
        self.checked += 1;
        if self.bless {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create golden dir");
            }
            fs::write(&path, actual).expect("write golden file");
            return;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                let line = expected
                    .lines()
                    .zip(actual.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
                self.failures.push(format!(
                    "{}: differs from line {} (expected {:?}, got {:?})",
                    path.display(),
                    line + 1,
                    expected.lines().nth(line).unwrap_or("<eof>"),
                    actual.lines().nth(line).unwrap_or("<eof>")
                ));
            }
            Err(_) => self
                .failures
                .push(format!("{}: missing (run with ZK_BLESS=1)", path.display())),
        }
    }

    fn finish(self) {
        assert!(
            self.checked > 0,
            "no golden outputs checked: is testdata/ empty?"
        );
        assert!(
            self.failures.is_empty(),
            "{} golden mismatches (review, then rerun with ZK_BLESS=1 to accept):\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

#[test]
fn dump_every_real_file() {
    let (files, _) = discover();
    assert!(!files.is_empty(), "no data files found under testdata/");
    let mut g = Golden::new();
    for f in &files {
        let arg = f.to_str().expect("utf-8 path");
        let text = zkdump(&[arg]);
        g.check(f, "txt", &text.stdout);
        let json = zkdump(&["--json", arg]);
        g.check(f, "jsonl", &json.stdout);
        g.check(f, "status", &text.status);
        // Every JSON line parses and carries a kind.
        for line in json.stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{arg}: bad JSON line {line}: {e}"));
            assert!(
                v.get("kind").and_then(|k| k.as_str()).is_some(),
                "{arg}: line without kind: {line}"
            );
        }
    }
    g.finish();
}

#[test]
fn verify_summary_sessions_every_data_dir() {
    let (files, dirs) = discover();
    let mut g = Golden::new();
    for d in &dirs {
        let arg = d.to_str().expect("utf-8 path");
        let v = zkdump(&["verify", arg]);
        g.check(d, "verify.txt", &format!("{}{}", v.stdout, v.status));
        let s = zkdump(&["sessions", arg]);
        g.check(d, "sessions.txt", &format!("{}{}", s.stdout, s.status));
    }
    for f in files
        .iter()
        .filter(|f| f.to_string_lossy().contains("snapshot."))
    {
        let arg = f.to_str().expect("utf-8 path");
        let s = zkdump(&["summary", "--depth", "2", arg]);
        g.check(f, "summary.txt", &format!("{}{}", s.stdout, s.status));
    }
    g.finish();
}
