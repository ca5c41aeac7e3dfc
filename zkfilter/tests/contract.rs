//! The command-line contract (README, "The contract"), tried for every tool and mode the way an
//! operator could type it: outputs pointed at inputs, `--force` over data dirs, unwritable and
//! full report places, two outputs on standard output, terminals, `-` for every path, inputs of
//! every kind, impossible versions, points in time outside the data.
//!
//! Every case checks the exit code, that every input file is byte-identical afterwards (all
//! files hashed before and after), that nothing is left at the output on failure, and that the
//! message names the problem.

#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn testdata() -> PathBuf {
    root().join("testdata")
}

/// Every file under `p` (or `p` itself): path → (length, CRC32). Symlinks are followed.
fn hashes(p: &Path) -> BTreeMap<PathBuf, (u64, u32)> {
    let mut m = BTreeMap::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(q) = stack.pop() {
        if q.is_dir() {
            for e in fs::read_dir(&q).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if let Ok(b) = fs::read(&q) {
            m.insert(q, (b.len() as u64, zkformat::checksum::crc32(&b)));
        }
    }
    m
}

/// Names in a folder (hidden temporary files included).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn run_with(bin: &str, args: &[&str], stdin: Option<&Path>) -> Run {
    let exe = match bin {
        "zkfilter" => env!("CARGO_BIN_EXE_zkfilter"),
        _ => env!("CARGO_BIN_EXE_zkdump"),
    };
    let mut c = Command::new(exe);
    c.args(args).current_dir(root());
    match stdin {
        Some(p) => c.stdin(fs::File::open(p).unwrap()),
        None => c.stdin(Stdio::null()),
    };
    let o: Output = c.output().unwrap();
    Run {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn zkfilter(args: &[&str]) -> Run {
    run_with("zkfilter", args, None)
}

fn zkdump(args: &[&str]) -> Run {
    run_with("zkdump", args, None)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_dir(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A scratch folder with a copy of a real 3.8 data dir (`data/version-2/…`) and a `myid`.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    copy_dir(
        &testdata().join("zk-3.8/recipes/version-2"),
        &d.join("version-2"),
    );
    fs::write(d.join("myid"), b"1\n").unwrap();
    (t, d)
}

/// Asserts a refusal: exit 2, the message, inputs unchanged, nothing new in `out_dir`.
fn assert_refused(r: &Run, needle: &str, before: &BTreeMap<PathBuf, (u64, u32)>, inputs: &Path) {
    assert_eq!(r.code, Some(2), "exit 2 expected; stderr: {}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "message should contain {needle:?}: {}",
        r.stderr
    );
    assert_eq!(&hashes(inputs), before, "inputs must be byte-identical");
}

fn log_of(d: &Path) -> PathBuf {
    d.join("version-2/log.1c")
}

fn snap_of(d: &Path) -> PathBuf {
    d.join("version-2/snapshot.33")
}

#[test]
fn outputs_over_into_or_around_inputs_are_refused() {
    let (t, d) = scratch();
    let before = hashes(t.path());
    let v2 = d.join("version-2");
    let link = t.path().join("link");
    std::os::unix::fs::symlink(&d, &link).unwrap();
    let log = log_of(&d);
    let snap = snap_of(&d);
    let hard = t.path().join("hardlink.1c");
    fs::hard_link(&log, &hard).unwrap();
    let prefixes = t.path().join("prefixes.txt");
    fs::write(&prefixes, b"/app/tmp\n").unwrap();
    let before_all = hashes(t.path());
    let dots = format!("{}/../version-2/log.1c", s(&v2));
    let cases: Vec<Vec<String>> = vec![
        // output = input
        vec![
            "datadir".into(),
            s(&d).into(),
            "-o".into(),
            s(&d).into(),
            "--force".into(),
        ],
        // input inside output
        vec![
            "datadir".into(),
            s(&v2).into(),
            "-o".into(),
            s(&d).into(),
            "--force".into(),
        ],
        // output inside input
        vec![
            "datadir".into(),
            s(&d).into(),
            "-o".into(),
            format!("{}/new", s(&v2)),
            "--force".into(),
        ],
        // output through a symlink to the input
        vec![
            "datadir".into(),
            s(&d).into(),
            "-o".into(),
            s(&link).into(),
            "--force".into(),
        ],
        vec![
            "log".into(),
            s(&log).into(),
            "-o".into(),
            s(&log).into(),
            "--force".into(),
        ],
        vec![
            "log".into(),
            s(&log).into(),
            "-o".into(),
            dots.clone(),
            "--force".into(),
        ],
        vec![
            "log".into(),
            s(&log).into(),
            "-o".into(),
            s(&hard).into(),
            "--force".into(),
        ],
        vec![
            "snapshot".into(),
            s(&snap).into(),
            "-o".into(),
            s(&snap).into(),
            "--force".into(),
        ],
        vec![
            "snapshot".into(),
            s(&snap).into(),
            "-o".into(),
            "-".into(),
            "--report".into(),
            s(&snap).into(),
            "--force".into(),
        ],
        vec![
            "datadir".into(),
            s(&d).into(),
            "--admin-restore".into(),
            s(&snap).into(),
            "--force".into(),
        ],
        vec![
            "datadir".into(),
            s(&d).into(),
            "--dry-run".into(),
            "--report".into(),
            s(&log).into(),
            "--force".into(),
        ],
        vec![
            "log".into(),
            s(&log).into(),
            "--snapshot".into(),
            s(&snap).into(),
            "-o".into(),
            s(&snap).into(),
            "--force".into(),
        ],
        vec![
            "datadir".into(),
            s(&d).into(),
            "-o".into(),
            format!("{}/restored", t.path().display()),
            "--prefix-file".into(),
            s(&prefixes).into(),
            "--report".into(),
            s(&prefixes).into(),
            "--force".into(),
        ],
    ];
    for args in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = zkfilter(&a);
        assert_refused(
            &r,
            "never writes over, into or around its inputs",
            &before_all,
            t.path(),
        );
        assert!(!r.stderr.is_empty(), "{a:?}");
    }
    // Standard input that is the output file.
    let r = run_with(
        "zkfilter",
        &["log", "-", "-o", s(&log), "--force"],
        Some(&log),
    );
    assert_refused(&r, "standard input", &before_all, t.path());
    drop(before);
}

#[test]
fn force_over_a_data_dir_keeps_myid_and_foreign_files() {
    let (t, d) = scratch();
    let out = t.path().join("restored");
    let r = zkfilter(&["datadir", s(&d), "-o", s(&out), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    fs::write(out.join("myid"), b"2\n").unwrap();
    fs::write(out.join("notes.txt"), b"operator's notes").unwrap();
    let before = hashes(t.path());
    // Without --force: refused, nothing changed.
    let r = zkfilter(&["datadir", s(&d), "-o", s(&out), "--drop-prefix", "/app"]);
    assert_refused(&r, "already holds a version-2/", &before, t.path());
    // With --force: version-2 replaced, everything else kept.
    let r = zkfilter(&[
        "datadir",
        s(&d),
        "-o",
        s(&out),
        "--drop-prefix",
        "/app",
        "--force",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(fs::read(out.join("myid")).unwrap(), b"2\n");
    assert_eq!(
        fs::read(out.join("notes.txt")).unwrap(),
        b"operator's notes"
    );
    assert_eq!(listing(&out), vec!["myid", "notes.txt", "version-2"]);
    let v2 = listing(&out.join("version-2"));
    assert_eq!(
        v2.len(),
        3,
        "one snapshot and the (fenced) epoch files: {v2:?}"
    );
    assert_eq!(v2.iter().filter(|n| n.starts_with("snapshot.")).count(), 1);
    // An existing folder without version-2 (a prepared member with its myid) gets one.
    let fresh = t.path().join("member");
    fs::create_dir(&fresh).unwrap();
    fs::write(fresh.join("myid"), b"3\n").unwrap();
    let r = zkfilter(&["datadir", s(&d), "-o", s(&fresh), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(listing(&fresh), vec!["myid", "version-2"]);
    // A server's data dir (logs in version-2) is never replaced, even with --force.
    let server = t.path().join("server");
    copy_dir(&d, &server);
    let before = hashes(t.path());
    let r = zkfilter(&["datadir", s(&out), "-o", s(&server), "--force"]);
    assert_refused(&r, "looks like a server's data", &before, t.path());
    // Nor a version-2 folder named as if it were the data dir.
    let r = zkfilter(&[
        "datadir",
        s(&out),
        "-o",
        s(&server.join("version-2")),
        "--force",
    ]);
    assert_refused(&r, "looks like a version-2 folder", &before, t.path());
}

#[test]
fn report_places_are_checked_before_the_work() {
    let (t, d) = scratch();
    let out = t.path().join("out");
    let before = hashes(t.path());
    for report in ["/proc/zkfilter-report.json", "/nonexistent-dir/r.json"] {
        let r = zkfilter(&["datadir", s(&d), "-o", s(&out), "--report", report]);
        assert_refused(&r, report, &before, t.path());
        assert!(!out.exists(), "no output after a refused report");
        let r = zkfilter(&[
            "snapshot",
            s(&snap_of(&d)),
            "-o",
            s(&out),
            "--report",
            report,
        ]);
        assert_refused(&r, report, &before, t.path());
        assert!(!out.exists());
        let r = zkfilter(&["log", s(&log_of(&d)), "-o", s(&out), "--report", report]);
        assert_refused(&r, report, &before, t.path());
        assert!(!out.exists());
    }
    assert_eq!(listing(t.path()), vec!["data"], "no temporary file left");
}

struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_for_the_report_leaves_no_output() {
    let (t, d) = scratch();
    let full = t.path().join("full");
    fs::create_dir(&full).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(&full)])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    assert!(
        mounted || std::env::var_os("CI").is_none(),
        "CI runs as root and must be able to mount a tmpfs"
    );
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root)");
        return;
    }
    let _guard = Tmpfs(full.clone());
    // Fill it, leaving a few bytes: the report's temporary file is created, its write fails.
    let mut f = fs::File::create(full.join("filler")).unwrap();
    let block = vec![7u8; 4096];
    while f.write_all(&block).is_ok() {}
    drop(f);
    let before = hashes(&d);
    let out = t.path().join("out");
    for args in [
        vec!["datadir", s(&d), "-o", s(&out)],
        vec!["snapshot", s(&snap_of(&d)), "-o", s(&out)],
        vec!["log", s(&log_of(&d)), "-o", s(&out)],
    ] {
        let report = full.join("r.json");
        let mut a = args.clone();
        a.extend(["--report", s(&report)]);
        let r = zkfilter(&a);
        assert_refused(&r, "writing the report", &before, &d);
        assert!(!out.exists(), "{a:?}: the data output is removed too");
        assert!(!report.exists());
        assert_eq!(listing(&full), vec!["filler"]);
    }
}

#[test]
fn one_stream_per_destination() {
    let (t, d) = scratch();
    let before = hashes(t.path());
    let log = log_of(&d);
    let snap = snap_of(&d);
    for args in [
        vec!["log", s(&log), "--report", "-"],
        vec!["snapshot", s(&snap), "-o", "-", "--report", "-"],
        vec!["datadir", s(&d), "--admin-restore", "-", "--report", "-"],
    ] {
        let r = zkfilter(&args);
        assert_refused(&r, "would go to standard output", &before, t.path());
        assert!(r.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    // Two outputs to one place.
    let o = t.path().join("o");
    let o_report = format!("{}/version-2/r.json", s(&o));
    for args in [
        vec!["log", s(&log), "-o", s(&o), "--report", s(&o)],
        vec!["datadir", s(&d), "-o", s(&o), "--report", &o_report],
    ] {
        let r = zkfilter(&args);
        assert_refused(
            &r,
            "the same place, or one is inside the other",
            &before,
            t.path(),
        );
        assert!(!o.exists());
    }
    // A data dir cannot be a stream.
    let r = zkfilter(&["datadir", s(&d), "-o", "-"]);
    assert_refused(&r, "cannot be standard output", &before, t.path());
    assert!(!root().join("-").exists());
    // Standard input once only; --snapshot needs a file.
    let r = run_with("zkfilter", &["log", "-", "--snapshot", "-"], Some(&log));
    assert_refused(&r, "--snapshot needs a file", &before, t.path());
    let r = run_with("zkdump", &["diff", "-", "-"], Some(&snap));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("only once"), "{}", r.stderr);
}

/// Runs `cmd` under `script`, so standard input and output are a terminal.
fn in_terminal(cmd: &str) -> (Option<i32>, String) {
    let o = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("script (bsdutils)");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn terminals_get_no_binary_and_are_no_input() {
    let (t, d) = scratch();
    let before = hashes(t.path());
    let zkf = env!("CARGO_BIN_EXE_zkfilter");
    let log = log_of(&d);
    let (code, out) = in_terminal(&format!("{zkf} log {}", s(&log)));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("refusing to write the filtered log (binary) to a terminal"),
        "{out}"
    );
    assert!(
        !out.contains("ZKLG"),
        "no raw binary on the terminal: {out}"
    );
    let (code, out) = in_terminal(&format!("{zkf} snapshot {}", s(&snap_of(&d))));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("to a terminal"), "{out}");
    let (code, out) = in_terminal(&format!("{zkf} datadir {} --admin-restore -", s(&d)));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("to a terminal"), "{out}");
    // A terminal as input: say how to pipe.
    let (code, out) = in_terminal(&format!("{zkf} log - -o {}/x", t.path().display()));
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("is a terminal") && out.contains("pipe the file in"),
        "{out}"
    );
    let (code, out) = in_terminal(&format!("{} -", env!("CARGO_BIN_EXE_zkdump")));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is a terminal"), "{out}");
    assert_eq!(hashes(t.path()), before);
}

fn make_archives(dir: &Path, dest: &Path) -> Vec<PathBuf> {
    let tar = dest.join("backup.tar");
    let st = Command::new("tar")
        .args(["-C", s(dir), "-cf", s(&tar), "version-2", "myid"])
        .status()
        .unwrap();
    assert!(st.success());
    let tgz = dest.join("backup.tar.gz");
    let st = Command::new("sh")
        .args(["-c", &format!("gzip -c {} > {}", s(&tar), s(&tgz))])
        .status()
        .unwrap();
    assert!(st.success());
    let tzst = dest.join("backup.tar.zst");
    let st = Command::new("zstd")
        .args(["-q", "-f", s(&tar), "-o", s(&tzst)])
        .status()
        .expect("the zstd command (apt-get install zstd)");
    assert!(st.success());
    vec![tar, tgz, tzst]
}

#[test]
fn archives_wherever_a_data_dir_is_read() {
    let (t, d) = scratch();
    let archives = make_archives(&d, t.path());
    let plain = t.path().join("from-dir");
    let r = zkfilter(&["datadir", s(&d), "-o", s(&plain), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want = fs::read(plain.join("version-2/snapshot.48")).ok();
    let before = hashes(t.path());
    for (i, a) in archives.iter().enumerate() {
        let out = t.path().join(format!("from-archive-{i}"));
        let r = zkfilter(&["datadir", s(a), "-o", s(&out), "-q"]);
        assert_eq!(r.code, Some(0), "{a:?}: {}", r.stderr);
        let got = listing(&out.join("version-2"));
        assert_eq!(got, listing(&plain.join("version-2")), "{a:?}");
        if let Some(w) = &want {
            assert_eq!(&fs::read(out.join("version-2/snapshot.48")).unwrap(), w);
        }
        // The same through standard input.
        let out2 = t.path().join(format!("from-stdin-{i}"));
        let r = run_with("zkfilter", &["datadir", "-", "-o", s(&out2), "-q"], Some(a));
        assert_eq!(r.code, Some(0), "stdin {a:?}: {}", r.stderr);
        assert_eq!(listing(&out2.join("version-2")), got);
        // zkdump reads archives too.
        let r = zkdump(&["verify", s(a)]);
        assert_eq!(
            r.code,
            zkdump(&["verify", s(&d)]).code,
            "{a:?}: {}",
            r.stderr
        );
        let r = run_with("zkdump", &["verify", "-"], Some(a));
        assert!(
            matches!(r.code, Some(0 | 1)),
            "verify - {a:?}: {}",
            r.stderr
        );
        let r = zkdump(&["sessions", s(a)]);
        assert_eq!(r.code, Some(0), "sessions {a:?}: {}", r.stderr);
        let r = zkdump(&["diff", s(a), s(&d)]);
        assert_eq!(r.code, Some(0), "diff {a:?}: {}", r.stderr);
    }
    for (k, v) in &before {
        assert_eq!(hashes(k).get(k), Some(v), "input {k:?} unchanged");
    }
}

/// Inputs of every wrong kind, for every tool and mode.
#[test]
fn every_input_kind_is_named() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("empty");
    fs::write(&empty, b"").unwrap();
    let text = t.path().join("notes.txt");
    fs::write(&text, b"hello operator\nline two\n").unwrap();
    let random = t.path().join("random.bin");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 0x80)
        .collect();
    fs::write(&random, &bytes).unwrap();
    let empty_dir = t.path().join("emptydir");
    fs::create_dir(&empty_dir).unwrap();
    let other_dir = t.path().join("otherdir");
    fs::create_dir(&other_dir).unwrap();
    fs::write(other_dir.join("a.txt"), b"x").unwrap();
    let out = t.path().join("out");
    let before = hashes(t.path());
    let kinds: [(&Path, &str); 3] = [
        (&empty, "an empty file"),
        (&text, "a text file (first line: \"hello operator\")"),
        (&random, "unrecognised binary data"),
    ];
    for (input, found) in kinds {
        for args in [
            vec!["zkfilter", "log", s(input), "-o", s(&out)],
            vec!["zkfilter", "snapshot", s(input), "-o", s(&out)],
            vec!["zkfilter", "datadir", s(input), "-o", s(&out)],
            vec!["zkdump", s(input)],
            vec!["zkdump", "verify", s(input)],
            vec!["zkdump", "summary", s(input)],
            vec!["zkdump", "sessions", s(input)],
        ] {
            let r = run_with(args[0], &args[1..], None);
            assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(found) || r.stdout_text().contains(found),
                "{args:?} should say {found:?}: {}{}",
                r.stderr,
                r.stdout_text()
            );
            assert!(
                !r.stderr.contains("zkdump reads") || args[0] == "zkdump",
                "{args:?}: hint names the wrong tool: {}",
                r.stderr
            );
            assert!(!out.exists());
        }
        // Through standard input as well.
        for args in [
            vec!["zkfilter", "log", "-", "-o", s(&out)],
            vec!["zkdump", "-"],
        ] {
            let r = run_with(args[0], &args[1..], Some(input));
            assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(found),
                "{args:?} < {input:?}: {}",
                r.stderr
            );
        }
    }
    for (dir, found) in [
        (&empty_dir, "an empty folder"),
        (&other_dir, "none a ZooKeeper log or snapshot (a.txt)"),
    ] {
        let r = zkfilter(&["datadir", s(dir), "-o", s(&out)]);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains(found), "{}", r.stderr);
        let r = zkdump(&["verify", s(dir)]);
        assert_eq!(
            r.code,
            Some(2),
            "verify {dir:?}: {}{}",
            r.stderr,
            r.stdout_text()
        );
    }
    assert_eq!(hashes(t.path()), before);
}

impl Run {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

#[test]
fn impossible_versions_and_points_in_time_are_errors() {
    let (t, d) = scratch();
    let out = t.path().join("out");
    let before = hashes(t.path());
    for (args, needle) in [
        (
            vec!["--target-version", "3.4", "--compress", "snappy"],
            "cannot read compressed snapshots",
        ),
        (
            vec!["--target-version", "3.5", "--compress", "gz"],
            "cannot read compressed snapshots",
        ),
        (
            vec!["--target-version", "3.10"],
            "does not know the format of 3.10",
        ),
        (
            vec!["--target-version", "banana"],
            "is not a ZooKeeper version",
        ),
        (vec!["--to-zxid", "0x7fffffff"], "past the end of the data"),
        (vec!["--drop-prefix", "/zookeeper"], "ZooKeeper's own nodes"),
        (
            vec!["--drop-prefix", "app/locks"],
            "must be an absolute path",
        ),
    ] {
        let mut a = vec!["datadir", s(&d), "-o", s(&out)];
        a.extend(args.iter().copied());
        let r = zkfilter(&a);
        assert_refused(&r, needle, &before, t.path());
        assert!(!out.exists(), "{a:?}");
    }
    for (args, needle) in [
        (
            vec![
                "--admin-restore",
                "/tmp/zkfilter-contract-x.snap",
                "--target-version",
                "3.8",
            ],
            "cannot apply",
        ),
        (
            vec![
                "--admin-restore",
                "/tmp/zkfilter-contract-x.snap",
                "--compress",
                "gz",
            ],
            "cannot apply",
        ),
    ] {
        let mut a = vec!["datadir", s(&d)];
        a.extend(args.iter().copied());
        let r = zkfilter(&a);
        assert_refused(&r, needle, &before, t.path());
        assert!(!Path::new("/tmp/zkfilter-contract-x.snap").exists());
    }
    // A snapshot named for another compression than it is written with.
    let gz = testdata().join("zk-3.8/compressed-gz/version-2/snapshot.2a.gz");
    for (name, extra) in [
        ("s.snappy", None),
        ("snapshot.2a", None),
        ("snapshot.2a.gz", Some("none")),
    ] {
        let o = t.path().join(name);
        let mut a = vec!["snapshot", s(&gz), "-o", s(&o)];
        if let Some(c) = extra {
            a.extend(["--compress", c]);
        }
        let r = zkfilter(&a);
        assert_refused(
            &r,
            "ZooKeeper picks the decompressor by the name",
            &before,
            t.path(),
        );
        assert!(!o.exists());
    }
    // Before the oldest snapshot (snapshot.0 removed: the oldest is snapshot.1a).
    fs::remove_file(d.join("version-2/snapshot.0")).unwrap();
    let before = hashes(t.path());
    let r = zkfilter(&["datadir", s(&d), "-o", s(&out), "--to-zxid", "0x5"]);
    assert_refused(&r, "no snapshot at or before", &before, t.path());
    assert!(!out.exists());
    // A compressed input restored for 3.4 is written plain (3.4 reads no other).
    let gz = testdata().join("zk-3.8/compressed-gz");
    let r = zkfilter(&[
        "datadir",
        s(&gz),
        "-o",
        s(&out),
        "--target-version",
        "3.4",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(listing(&out.join("version-2"))
        .iter()
        .all(|n| !n.ends_with(".gz")));
}

#[test]
fn logs_without_a_snapshot_are_not_restorable() {
    let (t, d) = scratch();
    for n in listing(&d.join("version-2")) {
        if n.starts_with("snapshot.") {
            fs::remove_file(d.join("version-2").join(n)).unwrap();
        }
    }
    // Without log.1 the state before the first remaining log is unknown.
    fs::remove_file(d.join("version-2/log.1")).unwrap();
    let before = hashes(t.path());
    let out = t.path().join("out");
    let r = zkfilter(&["datadir", s(&d), "-o", s(&out)]);
    assert_refused(
        &r,
        "cannot be replayed from any snapshot",
        &before,
        t.path(),
    );
    assert!(!out.exists());
    let v = zkdump(&["verify", s(&d)]);
    assert_ne!(v.code, Some(0), "verify agrees that this is not restorable");
}

#[test]
fn outputs_have_the_umasks_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (t, d) = scratch();
    let zkf = env!("CARGO_BIN_EXE_zkfilter");
    let o = t.path();
    let cmd = format!(
        "umask 027 && {zkf} -q log {log} -o {o}/log && {zkf} -q snapshot {snap} -o {o}/snap --report {o}/r.json && {zkf} -q datadir {d} -o {o}/dd && {zkf} -q datadir {d} --admin-restore {o}/admin",
        log = s(&log_of(&d)),
        snap = s(&snap_of(&d)),
        o = o.display(),
        d = s(&d),
    );
    let st = Command::new("sh").args(["-c", &cmd]).status().unwrap();
    assert!(st.success());
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in ["log", "snap", "r.json", "admin"] {
        assert_eq!(mode(&o.join(f)), 0o640, "{f}");
    }
    assert_eq!(mode(&o.join("dd")), 0o750);
    assert_eq!(mode(&o.join("dd/version-2")), 0o750);
    for f in listing(&o.join("dd/version-2")) {
        assert_eq!(mode(&o.join("dd/version-2").join(&f)), 0o640, "{f}");
    }
}

#[test]
fn global_flags_before_or_after_the_mode_and_typos() {
    let (t, d) = scratch();
    let a = t.path().join("a");
    let r = zkfilter(&["-q", "--force", "datadir", s(&d), "-o", s(&a)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.is_empty(), "-q before the mode: {}", r.stderr);
    let r = zkfilter(&["datadir", s(&d), "-o", s(&a), "--force", "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = zkfilter(&["datadri", s(&d)]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("similar") && r.stderr.contains("datadir"),
        "{}",
        r.stderr
    );
    let r = zkfilter(&["datadir", s(&d), "--drop-prefx", "/a"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("--drop-prefix"), "{}", r.stderr);
    let r = zkdump(&["verfy", s(&d)]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("verify"), "{}", r.stderr);
    let r = zkdump(&["--jute-maxbuffer", "2000000", "verify", s(&d)]);
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
}

/// Every example in every `--help` runs as pasted (from the project's root).
#[test]
fn help_examples_run_as_pasted() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_zkfilter"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut examples = Vec::new();
    for (tool, subs) in [
        (
            "zkfilter",
            vec![vec![], vec!["log"], vec!["snapshot"], vec!["datadir"]],
        ),
        (
            "zkdump",
            vec![
                vec![],
                vec!["dump"],
                vec!["verify"],
                vec!["summary"],
                vec!["sessions"],
                vec!["diff"],
            ],
        ),
    ] {
        for sub in subs {
            let mut args: Vec<&str> = sub.clone();
            args.push("--help");
            let r = run_with(tool, &args, None);
            assert_eq!(r.code, Some(0), "{tool} {args:?}");
            let text = r.stdout_text();
            // The commands of the "Examples" block: its indented lines that are not comments.
            let found: Vec<String> = text
                .lines()
                .skip_while(|l| !l.starts_with("Examples"))
                .skip(1)
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .filter(|l| !l.starts_with('#') && !l.starts_with('('))
                .map(str::to_string)
                .collect();
            assert!(!found.is_empty(), "{tool} {sub:?} --help has examples");
            examples.extend(found);
        }
    }
    examples.sort();
    examples.dedup();
    // Outputs of the examples go to /tmp/zkfilter-example-*: start clean.
    for e in fs::read_dir("/tmp").unwrap() {
        let e = e.unwrap();
        if e.file_name()
            .to_string_lossy()
            .starts_with("zkfilter-example-")
        {
            let p = e.path();
            if p.is_dir() {
                fs::remove_dir_all(&p).unwrap();
            } else {
                fs::remove_file(&p).unwrap();
            }
        }
    }
    for ex in &examples {
        let o = Command::new("bash")
            .args(["-o", "pipefail", "-c", ex])
            .env("PATH", &path)
            .current_dir(root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let code = o.status.code();
        // verify and diff answer 1 for "found something": still a successful run.
        let ok = code == Some(0)
            || (code == Some(1) && (ex.contains(" verify ") || ex.contains(" diff ")));
        assert!(
            ok,
            "example failed ({code:?}): {ex}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Reports tell the truth: in every mode and on every real data dir, records in = records out +
/// dropped − rewritten, and for nodes and sessions bytes in = bytes out + dropped bytes.
#[test]
fn report_counts_add_up_in_every_mode() {
    let mut checked = 0;
    for version in ["zk-3.4", "zk-3.8", "zk-3.9"] {
        for e in fs::read_dir(testdata().join(version)).unwrap() {
            let dir = e.unwrap().path();
            let v2 = dir.join("version-2");
            if !v2.is_dir() {
                continue;
            }
            let mut runs: Vec<(String, Vec<String>)> =
                vec![("datadir".into(), vec!["datadir".into(), s(&dir).into()])];
            for f in listing(&v2) {
                let p = s(&v2.join(&f)).to_string();
                if f.starts_with("log.") {
                    runs.push(("log".into(), vec!["log".into(), p]));
                } else if f.starts_with("snapshot.") {
                    runs.push(("snapshot".into(), vec!["snapshot".into(), p]));
                }
            }
            for (mode, mut args) in runs {
                args.extend(
                    ["--dry-run", "--report", "-", "--drop-prefix", "/app"].map(String::from),
                );
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = zkfilter(&a);
                assert_eq!(r.code, Some(0), "{a:?}: {}", r.stderr);
                let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
                let num = |k: &str| j[k].as_u64().unwrap_or_else(|| panic!("{k} in {a:?}"));
                let dropped: u64 = ["session", "ephemeral", "prefix"]
                    .iter()
                    .map(|c| j["dropped"][c]["count"].as_u64().unwrap())
                    .sum();
                let dropped_bytes: u64 = ["session", "ephemeral", "prefix"]
                    .iter()
                    .map(|c| j["dropped"][c]["bytes"].as_u64().unwrap())
                    .sum();
                assert_eq!(
                    num("recordsIn"),
                    num("recordsOut") + dropped - num("multisRewritten"),
                    "{a:?}: {j}"
                );
                if mode != "log" {
                    assert_eq!(num("multisRewritten"), 0);
                    assert_eq!(
                        num("bytesIn"),
                        num("bytesOut") + dropped_bytes,
                        "{a:?}: {j}"
                    );
                    assert!(num("bytesIn") > 0, "{a:?}");
                }
                assert!(
                    r.stderr.contains(" in") && r.stderr.contains(" out"),
                    "{}",
                    r.stderr
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "{checked} runs");
}

/// `-` for every path argument that can be a stream gives what the file gives.
#[test]
fn dash_for_every_path_argument() {
    let (t, d) = scratch();
    let log = log_of(&d);
    let snap = snap_of(&d);
    let same = |a: Run, b: Run, what: &str| {
        assert_eq!(a.code, b.code, "{what}: {} / {}", a.stderr, b.stderr);
        // The file's name appears once (the first side, for diff), as "-" when read from stdin.
        let b_text = b
            .stdout_text()
            .replacen(s(&snap), "-", 1)
            .replacen(s(&log), "-", 1);
        assert_eq!(a.stdout_text(), b_text, "{what}");
    };
    // zkdump: dump, summary, sessions, verify, diff (one side).
    for (args_file, args_dash, input) in [
        (vec![s(&snap)], vec!["-"], &snap),
        (vec!["summary", s(&snap)], vec!["summary", "-"], &snap),
        (vec!["sessions", s(&log)], vec!["sessions", "-"], &log),
        (vec!["verify", s(&log)], vec!["verify", "-"], &log),
        (
            vec!["diff", s(&snap), s(&snap)],
            vec!["diff", "-", s(&snap)],
            &snap,
        ),
    ] {
        let a = run_with("zkdump", &args_dash, Some(input));
        let b = zkdump(&args_file);
        assert!(matches!(a.code, Some(0 | 1)), "{args_dash:?}: {}", a.stderr);
        same(a, b, &format!("{args_dash:?}"));
    }
    // zkfilter: log and snapshot in and out, --report -, --admin-restore -.
    let out = t.path().join("log.out");
    let r = zkfilter(&["log", s(&log), "-o", s(&out), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run_with("zkfilter", &["log", "-", "-q"], Some(&log));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        fs::read(&out).unwrap(),
        "log - to stdout = log to a file"
    );
    let out = t.path().join("snap.out");
    let r = zkfilter(&["snapshot", s(&snap), "-o", s(&out), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run_with("zkfilter", &["snapshot", "-", "-o", "-", "-q"], Some(&snap));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        fs::read(&out).unwrap(),
        "snapshot - to stdout = to a file"
    );
    let admin = t.path().join("admin.snap");
    let r = zkfilter(&["datadir", s(&d), "--admin-restore", s(&admin), "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = zkfilter(&["datadir", s(&d), "--admin-restore", "-", "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        fs::read(&admin).unwrap(),
        "--admin-restore - = to a file"
    );
    let r = zkfilter(&[
        "datadir",
        s(&d),
        "-o",
        s(&t.path().join("dd")),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(j["mode"], "datadir");
    assert!(j["details"]["snapshotUsed"]
        .as_str()
        .unwrap()
        .ends_with("snapshot.33"));
}

/// `-q` hides the summary, never a warning about lost data.
#[test]
fn quiet_never_hides_a_salvage() {
    let (t, d) = scratch();
    let log = log_of(&d);
    let mut bytes = fs::read(&log).unwrap();
    let entries: Vec<u64> = zkformat::txnlog::TxnLog::parse(&bytes, zkformat::Limits::default())
        .unwrap()
        .entries()
        .map(|e| e.unwrap().offset())
        .collect();
    let bad = entries[entries.len() / 2] as usize + 30;
    bytes[bad] ^= 0x55;
    let damaged = t.path().join("log.damaged");
    fs::write(&damaged, &bytes).unwrap();
    let out = t.path().join("out");
    let r = zkfilter(&["-q", "log", s(&damaged), "-o", s(&out), "--salvage"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("SALVAGE"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(" in, "),
        "-q hides the summary: {}",
        r.stderr
    );
    // A data dir whose last log is damaged, salvaged quietly: still said.
    fs::write(d.join("version-2/log.34"), {
        let mut b = fs::read(d.join("version-2/log.34")).unwrap();
        let first = zkformat::txnlog::TxnLog::parse(&b, zkformat::Limits::default())
            .unwrap()
            .entries()
            .next()
            .unwrap()
            .unwrap()
            .offset() as usize;
        b[first + 30] ^= 0x55;
        b
    })
    .unwrap();
    let r = zkfilter(&[
        "datadir",
        s(&d),
        "-o",
        s(&t.path().join("dd")),
        "--salvage",
        "-q",
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("SALVAGE"), "{}", r.stderr);
}

/// `--to-time` restores to the last txn stamped at or before the time; the fence moves the state
/// to a new epoch above every one the data shows, with the epoch files to match.
#[test]
fn point_in_time_by_time_and_the_zxid_fence() {
    let (t, d) = scratch();
    // Every txn of the logs, in order, with its time.
    let mut txns = Vec::new();
    for log in ["log.1", "log.1c", "log.34"] {
        let b = fs::read(d.join("version-2").join(log)).unwrap();
        for e in zkformat::txnlog::TxnLog::parse(&b, zkformat::Limits::default())
            .unwrap()
            .entries()
        {
            let e = e.unwrap();
            txns.push((e.zxid(), e.header().time));
        }
    }
    // Two txns after the newest usable snapshot (0x33) with different times.
    let i = txns
        .iter()
        .position(|(z, _)| z.0 > 0x33)
        .expect("txns after the snapshot");
    let (z1, t1) = txns[i];
    let (_, t2) = *txns[i..]
        .iter()
        .find(|(_, t)| *t > t1)
        .expect("a later time");
    let between = t1 + (t2 - t1) / 2;
    let out = t.path().join("pit");
    let r = zkfilter(&[
        "datadir",
        s(&d),
        "-o",
        s(&out),
        "--to-time",
        &between.to_string(),
        "--report",
        "-",
        "--no-fence",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let last_before = txns.iter().rfind(|(_, t)| *t <= between).unwrap().0;
    assert!(last_before >= z1);
    assert_eq!(j["details"]["toTime"]["zxid"], format!("{last_before}"));
    assert_eq!(j["details"]["lastZxid"], format!("{last_before}"));
    assert!(
        r.stderr.is_empty() || r.stderr.contains("--to-time"),
        "{}",
        r.stderr
    );
    // RFC 3339 gives the same.
    let iso = zkfilter::dump::format_time(between);
    let out2 = t.path().join("pit2");
    let r = zkfilter(&[
        "datadir",
        s(&d),
        "-o",
        s(&out2),
        "--to-time",
        &iso,
        "--no-fence",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        listing(&out.join("version-2")),
        listing(&out2.join("version-2"))
    );
    // Before every txn: an error, nothing written.
    let before = hashes(t.path());
    let out3 = t.path().join("pit3");
    let r = zkfilter(&["datadir", s(&d), "-o", s(&out3), "--to-time", "1000"]);
    assert_refused(&r, "every txn in the logs is later", &before, t.path());
    assert!(!out3.exists());
    // The fence: default epoch = highest known + 10; explicit ones must be above it.
    let fenced = t.path().join("fenced");
    let r = zkfilter(&["datadir", s(&d), "-o", s(&fenced), "--report", "-", "-q"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let epoch = j["details"]["fence"]["epoch"].as_u64().unwrap();
    assert_eq!(epoch, 10, "standalone data (epoch 0) + 10");
    assert_eq!(
        listing(&fenced.join("version-2")),
        vec!["acceptedEpoch", "currentEpoch", "snapshot.a00000000"]
    );
    assert_eq!(
        fs::read(fenced.join("version-2/currentEpoch")).unwrap(),
        b"10"
    );
    let v = zkdump(&["verify", s(&fenced)]);
    assert_eq!(v.code, Some(0), "{}", v.stdout_text());
    let reconfig = testdata().join("zk-3.8/reconfig");
    let r = zkfilter(&[
        "datadir",
        s(&reconfig),
        "-o",
        s(&t.path().join("rf")),
        "--fence-epoch",
        "1",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("is not above epoch 1"), "{}", r.stderr);
    assert!(!t.path().join("rf").exists());
    let r = zkfilter(&[
        "datadir",
        s(&reconfig),
        "-o",
        s(&t.path().join("rf")),
        "--fence-epoch",
        "5",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(t.path().join("rf/version-2/snapshot.500000000").exists());
    // --admin-restore is not fenced unless asked (a running server keeps its epoch).
    let admin = t.path().join("admin.snap");
    let r = zkfilter(&[
        "datadir",
        s(&reconfig),
        "--admin-restore",
        s(&admin),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(j["details"]["fence"].is_null());
}

/// Each log filtered on its own gives what `zkfilter datadir` gives when the earlier logs are
/// named with `--after`: an ephemeral created in one log and deleted in the next.
#[test]
fn logs_filtered_one_by_one_know_earlier_ephemerals() {
    use zkformat::data::{Acl, AclList};
    use zkformat::txn::{op, CreateTxn, Txn, TxnHeader, TxnRecord};
    use zkformat::txnlog::TxnLogWriter;
    use zkformat::Zxid;
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src/version-2");
    fs::create_dir_all(&src).unwrap();
    fs::copy(
        testdata().join("zk-3.8/basic/version-2/snapshot.0"),
        src.join("snapshot.0"),
    )
    .unwrap();
    let mut acl_bytes = Vec::new();
    AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut acl_bytes);
    let acl = AclList::decode(&mut zkformat::jute::Reader::new(
        &acl_bytes,
        0,
        zkformat::Limits::default(),
    ))
    .unwrap();
    let header = |zxid: i64, op| TxnHeader {
        session: 0x77,
        cxid: zxid as i32,
        zxid: Zxid(zxid),
        time: 1_700_000_000_000 + zxid,
        op,
    };
    let write = |name: &str, recs: Vec<TxnRecord<'_>>| {
        let f = fs::File::create(src.join(name)).unwrap();
        let mut w = TxnLogWriter::new(std::io::BufWriter::new(f)).unwrap();
        for r in &recs {
            w.append_record(r).unwrap();
        }
        w.finish().unwrap().flush().unwrap();
    };
    let create = |zxid, path: &'static [u8], eph: bool, pcv| TxnRecord {
        header: header(zxid, op::CREATE),
        body: Txn::Create(CreateTxn {
            path,
            data: Some(b"d"),
            acl,
            ephemeral: eph.into(),
            parent_cversion: Some(pcv),
        }),
        digest: None,
    };
    write(
        "log.1",
        vec![
            TxnRecord {
                header: header(1, op::CREATE_SESSION),
                body: Txn::CreateSession { timeout: 30_000 },
                digest: None,
            },
            create(2, b"/p", false, 1),
            create(3, b"/p/e", true, 1),
        ],
    );
    write(
        "log.4",
        vec![
            TxnRecord {
                header: header(4, op::DELETE),
                body: Txn::Delete { path: b"/p/e" },
                digest: None,
            },
            create(5, b"/p/f", false, 2),
        ],
    );
    let whole = t.path().join("whole");
    let r = zkfilter(&[
        "datadir",
        s(&t.path().join("src")),
        "-o",
        s(&whole),
        "--no-fence",
        "-q",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for (with_after, name) in [(true, "piecewise"), (false, "alone")] {
        let out = t.path().join(name).join("version-2");
        fs::create_dir_all(&out).unwrap();
        let snap = src.join("snapshot.0");
        fs::copy(&snap, out.join("snapshot.0")).unwrap();
        for (log, earlier) in [("log.1", vec![]), ("log.4", vec!["log.1"])] {
            let mut a = vec![
                "log".to_string(),
                s(&src.join(log)).to_string(),
                "-o".into(),
                s(&out.join(log)).to_string(),
                "--snapshot".into(),
                s(&snap).to_string(),
                "-q".into(),
            ];
            if with_after {
                for e in earlier {
                    a.extend(["--after".to_string(), s(&src.join(e)).to_string()]);
                }
            }
            let args: Vec<&str> = a.iter().map(String::as_str).collect();
            let r = zkfilter(&args);
            assert_eq!(r.code, Some(0), "{}", r.stderr);
        }
        let d = zkdump(&["diff", s(&whole), s(&t.path().join(name))]);
        let text = d.stdout_text();
        if with_after {
            assert_eq!(
                d.code,
                Some(0),
                "with --after the pieces equal the whole: {text}"
            );
        }
        let dump = zkdump(&[s(&out.join("log.4"))]).stdout_text();
        assert_eq!(
            dump.contains("multi 2 ops"),
            with_after,
            "the delete of the earlier log's ephemeral {} a stand-in: {dump}",
            if with_after { "becomes" } else { "is not" }
        );
    }
}
