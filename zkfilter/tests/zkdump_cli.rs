//! CLI conventions of `zkdump`: clap definition, exit codes, stdin, broken pipes, filters, and the
//! upstream fixtures' expectations (ZooKeeper's own tests: InvalidSnapshotTest, TxnLogToolkitTest).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;
use zkfilter::dump::args::Cli;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

fn zkdump(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkdump"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run zkdump");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INVALIDSNAP: &str = "testdata/upstream/invalidsnap/version-2";

fn have_upstream() -> bool {
    root().join(INVALIDSNAP).is_dir()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn end_line(s: &str) -> serde_json::Value {
    json_lines(s).into_iter().last().expect("an end line")
}

#[test]
fn verify_cli() {
    Cli::command().debug_assert();
}

#[test]
fn upstream_counts() {
    if !have_upstream() {
        panic!("testdata/upstream is missing");
    }
    for (file, key, n) in [
        ("log.1", "txns", 627),
        ("log.274", "txns", 967),
        ("log.63b", "txns", 517),
        ("snapshot.272", "nodes", 628),
        ("snapshot.273", "nodes", 629),
        ("snapshot.639", "nodes", 1595),
    ] {
        let path = format!("{INVALIDSNAP}/{file}");
        let (code, out, err) = zkdump(&["--json", &path]);
        assert_eq!(code, 0, "{file}: {err}");
        let end = end_line(&out);
        assert_eq!(end["kind"], "end");
        assert_eq!(end[key], n, "{file}");
        let kind = if key == "txns" { "txn" } else { "node" };
        assert_eq!(
            json_lines(&out)
                .iter()
                .filter(|v| v["kind"] == kind)
                .count(),
            n as usize,
            "{file}"
        );
    }
}

#[test]
fn upstream_log42_checksum_error() {
    let path = format!("{INVALIDSNAP}/log.42");
    let (code, out, _) = zkdump(&["verify", &path]);
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("checksum error"))
        .expect("a checksum error line");
    assert!(line.contains("offset 61"), "{line}");
    assert!(line.contains("zxid 0x8800000002"), "{line}");
    // The dump shows it as TxnLogToolkit does, and goes on.
    let (code, out, _) = zkdump(&[&path]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("CRC ERROR - ") && l.contains("zxid 0x8800000002")),
        "{out}"
    );
    let (_, out, _) = zkdump(&["--json", &path]);
    let bad: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["checksumOk"] == false)
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["zxid"], "0x8800000002");
    assert_eq!(bad[0]["offset"], 61);
}

#[test]
fn upstream_snapshot_83f_unreasonable_length() {
    let path = format!("{INVALIDSNAP}/snapshot.83f");
    let (code, _, err) = zkdump(&[&path]);
    assert_eq!(code, 2);
    assert!(err.contains("unreasonable length 977468229"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("snapshot.83f"), "{err}");
    let (code, out, _) = zkdump(&["verify", &path]);
    assert_eq!(code, 1);
    assert!(out.contains("unreasonable length 977468229"), "{out}");
    // The data dir is still restorable: ZooKeeper skips 83f and uses 639 (InvalidSnapshotTest).
    let (code, out, _) = zkdump(&["verify", "testdata/upstream/invalidsnap"]);
    assert_eq!(code, 1, "log.42 and snapshot.83f are problems: {out}");
    assert!(out.contains("restorable from snapshot.639"), "{out}");
}

#[test]
fn exit_codes_and_errors() {
    let (code, _, err) = zkdump(&["no/such/file"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: no/such/file: "), "{err}");
    let (code, _, _) = zkdump(&["--op", "nope", &format!("{INVALIDSNAP}/log.1")]);
    assert_eq!(code, 2);
    let (code, _, _) = zkdump(&["verify"]);
    assert_eq!(code, 2, "usage error");
    let (code, _, err) = zkdump(&["Cargo.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("this is a text file (first line: \"[workspace]\")")
            && err.contains("zkdump expects a ZooKeeper txn log or snapshot"),
        "{err}"
    );
}

#[test]
fn stdin_matches_file() {
    for file in ["log.274", "snapshot.639"] {
        let path = root().join(INVALIDSNAP).join(file);
        let (_, from_file, _) = zkdump(&[path.to_str().expect("path")]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkdump"))
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let bytes = std::fs::read(&path).expect("read");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("wait");
        writer.join().expect("writer");
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), from_file, "{file}");
    }
}

#[test]
fn broken_pipe_is_quiet() {
    let path = root().join(INVALIDSNAP).join("snapshot.639");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkdump"))
        .args(["--json", path.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut buf = [0u8; 100];
    stdout.read_exact(&mut buf).expect("first bytes");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn filters() {
    let log = format!("{INVALIDSNAP}/log.63b");
    let (_, out, _) = zkdump(&["--json", "--from-zxid", "0x834", "--to-zxid", "0x835", &log]);
    let txns: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["kind"] == "txn")
        .collect();
    assert_eq!(txns.len(), 2);
    assert_eq!(txns[0]["path"], "/9/9/8");
    let (_, out, _) = zkdump(&["--json", "--path-prefix", "/9/9/", &log]);
    for v in json_lines(&out).into_iter().filter(|v| v["kind"] == "txn") {
        assert!(
            v["path"].as_str().expect("path").starts_with("/9/9/"),
            "{v}"
        );
    }
    let (_, out, _) = zkdump(&[
        "--json",
        "--op",
        "createSession",
        &format!("{INVALIDSNAP}/log.1"),
    ]);
    assert_eq!(
        json_lines(&out)
            .into_iter()
            .filter(|v| v["kind"] == "txn")
            .count(),
        1
    );
    let snap = format!("{INVALIDSNAP}/snapshot.639");
    let (_, out, _) = zkdump(&["--json", "--data", "--path-prefix", "/zookeeper", &snap]);
    let nodes: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["kind"] == "node")
        .collect();
    assert!(nodes
        .iter()
        .all(|v| v["path"].as_str().expect("path").starts_with("/zookeeper")));
    assert!(nodes.iter().all(|v| v.get("data").is_some()));
}

#[test]
fn num_children_counts() {
    let (_, out, _) = zkdump(&[
        "--json",
        "testdata/upstream/buffersize/snapshot/version-2/snapshot.2",
    ]);
    let root_node = json_lines(&out)
        .into_iter()
        .find(|v| v["kind"] == "node" && v["path"] == "/")
        .expect("root");
    assert_eq!(root_node["numChildren"], 2);
}

/// `verify DATADIR` reads the snapshot its replay loads once: the report on that file comes from
/// the replay's read and must be the report `verify FILE` gives, for an intact snapshot and for a
/// damaged one that the replay skips (then the file is checked on its own).
#[test]
fn verify_datadir_reports_the_loaded_snapshot_as_verify_file_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = |case: &str| {
        let dst = tmp.path().join(case.replace('/', "-"));
        let v2 = dst.join("version-2");
        std::fs::create_dir_all(&v2).expect("mkdir");
        for f in std::fs::read_dir(root().join(case).join("version-2")).expect("read_dir") {
            let f = f.expect("entry").path();
            std::fs::copy(&f, v2.join(f.file_name().expect("name"))).expect("copy");
        }
        dst
    };
    let newest = |dir: &Path| {
        let dd = zkformat::datadir::DataDir::scan(dir).expect("scan");
        dd.snapshot_candidates()[0].path.clone()
    };
    // The file's JSON lines: its findings, then its "verified" line.
    let report_on = |args: &[&str], file: &Path| -> Vec<serde_json::Value> {
        let (_, out, err) = zkdump(args);
        let file = file.display().to_string();
        let lines: Vec<_> = json_lines(&out)
            .into_iter()
            .filter(|v| v["file"] == file.as_str())
            .collect();
        assert!(
            lines.last().is_some_and(|v| v["kind"] == "verified"),
            "no report on {file} in {out}{err}"
        );
        lines
    };
    for case in [
        "testdata/zk-3.9/fuzzy",
        "testdata/zk-3.8/basic",
        "testdata/zk-3.9/compressed-gz",
    ] {
        let dir = copy(case);
        let snap = newest(&dir);
        let d = dir.display().to_string();
        let s = snap.display().to_string();
        let alone = report_on(&["verify", "--json", &s], &snap);
        assert_eq!(report_on(&["verify", "--json", &d], &snap), alone, "{case}");
        // Damaged: the replay skips it and it is checked on its own, with the same report.
        let mut bytes = std::fs::read(&snap).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&snap, bytes).expect("write");
        let alone = report_on(&["verify", "--json", &s], &snap);
        assert_eq!(
            alone.last().expect("verified")["status"],
            "problems",
            "{alone:?}"
        );
        assert_eq!(report_on(&["verify", "--json", &d], &snap), alone, "{case}");
    }
}

/// A snapshot of `n` nodes under 50 parents, two ACL lists, written by zkformat's writer.
fn big_snapshot(n: usize) -> Vec<u8> {
    use zkformat::data::Acl;
    use zkformat::snapshot::{Session, SnapshotWriter, Tail};
    let mut w = SnapshotWriter::new(Vec::new()).expect("writer");
    w.write_sessions(&[Session {
        id: 5,
        timeout: 4000,
    }])
    .expect("sessions");
    let digest = Acl {
        perms: 31,
        scheme: b"digest",
        id: b"u:hash",
    };
    w.write_acl_cache(&[(1, &[Acl::OPEN_UNSAFE][..]), (2, &[digest][..])])
        .expect("acls");
    fn node(path: &[u8], i: usize) -> zkformat::snapshot::Node<'_> {
        zkformat::snapshot::Node {
            path,
            data: (i % 4 != 0).then_some(&b"some data"[..(i % 9)]),
            acl_key: (i % 3) as i64 - 1,
            stat: zkformat::data::Stat {
                czxid: i as i64,
                mzxid: i as i64 + 1,
                ctime: 1_700_000_000_000 + i as i64,
                mtime: 1_700_000_000_000 + i as i64,
                ephemeral_owner: if i % 10 == 0 { 5 } else { 0 },
                pzxid: i as i64,
                ..zkformat::data::Stat::default()
            },
        }
    }
    w.write_node(&node(b"", 0)).expect("root");
    for p in 0..50 {
        w.write_node(&node(format!("/p{p}").as_bytes(), p))
            .expect("parent");
        for i in (p..n).step_by(50) {
            w.write_node(&node(format!("/p{p}/n{i}").as_bytes(), i))
                .expect("node");
        }
    }
    w.finish(Tail::DIGEST, zkformat::Zxid(n as i64))
        .expect("finish")
}

/// Snapshot dumps on two cores render nodes on a helper thread (`dump::pipeline`): the output,
/// the error and the exit status must be those of one core, for a snapshot of many batches and
/// for one cut in the middle of its nodes.
#[test]
fn snapshot_dump_on_two_cores_is_the_one_core_dump() {
    if Command::new("taskset").arg("--version").output().is_err() {
        panic!("taskset (util-linux) is needed to run zkdump on one core");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let whole = big_snapshot(30_000);
    let cut = &whole[..whole.len() * 2 / 3];
    for (name, bytes) in [("snapshot.7530", &whole[..]), ("snapshot.1", cut)] {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let p = path.display().to_string();
        for args in [
            vec![],
            vec!["--json"],
            vec!["--data"],
            vec!["--path-prefix", "/p7"],
        ] {
            let mut two = vec![env!("CARGO_BIN_EXE_zkdump")];
            two.extend(&args);
            two.push(&p);
            let run = |cmd: &[&str]| {
                let o = Command::new(cmd[0]).args(&cmd[1..]).output().expect("run");
                (o.status.code(), o.stdout, o.stderr)
            };
            let mut one = vec!["taskset", "-c", "0"];
            one.extend(&two);
            let (a, b) = (run(&two), run(&one));
            assert!(a.1.len() > 30_000, "{name} {args:?}: {} bytes", a.1.len());
            assert_eq!(a.0, b.0, "{name} {args:?}");
            assert!(a.1 == b.1, "{name} {args:?}: outputs differ");
            assert_eq!(a.2, b.2, "{name} {args:?}");
        }
    }
}

/// A txn missing from the middle of the logs a restore replays is a `problem` of the data dir,
/// named with the zxids around it.
#[test]
fn verify_datadir_reports_a_replay_gap() {
    use zkformat::txnlog::{TxnLog, TxnLogWriter};
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = root().join("testdata/zk-3.8/basic/version-2");
    let v2 = tmp.path().join("version-2");
    std::fs::create_dir_all(&v2).expect("mkdir");
    for f in std::fs::read_dir(&src).expect("read_dir") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, v2.join(f.file_name().expect("name"))).expect("copy");
    }
    let d = tmp.path().display().to_string();
    let (status, out, _) = zkdump(&["verify", &d]);
    assert_eq!(status, 0, "{out}");
    assert!(!out.contains("replay gap"), "{out}");
    // The newest snapshot is snapshot.3b; log.3c holds 0x3c..0x4f: drop 0x40.
    let log = v2.join("log.3c");
    let bytes = std::fs::read(&log).expect("read");
    let parsed = TxnLog::parse(&bytes, zkformat::Limits::default()).expect("log");
    let mut w = TxnLogWriter::with_header(Vec::new(), parsed.header()).expect("writer");
    let mut entries = parsed.entries();
    while let Some(e) = entries.next_entry().expect("entry") {
        if e.zxid().0 != 0x40 {
            w.append_entry(&e).expect("append");
        }
    }
    std::fs::write(&log, w.finish().expect("finish")).expect("write");
    let (status, out, _) = zkdump(&["verify", &d]);
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("replay gap: after 0x3f the next txn is 0x41 in ")
            && out.contains("log.3c: 1 txn is missing"),
        "{out}"
    );
}
