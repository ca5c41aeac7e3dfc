//! Archives of a split data dir, as DC/OS's `dcos-zk backup` writes them: a tar.gz of
//! `./zookeeper` holding `snapshot/version-2/` (the dataDir: snapshots and epoch files) and
//! `transactions/version-2/` (the dataLogDir: txn logs), without `myid`. Every tool that reads a
//! data dir archive reads it as the unsplit data dir; other spreads stay refused; a plain folder
//! in that layout is refused with the `--log-dir` form to paste.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn zkfilter(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_zkfilter"), args)
}

fn zkdump(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_zkdump"), args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

const NOTE: &str = "archive holds a split data dir: snapshots in ./zookeeper/snapshot/version-2, logs in ./zookeeper/transactions/version-2";

/// A real data dir (3.8, locks and elections) with the epoch files a quorum member keeps, as one
/// folder (`plain`) and as a DC/OS master lays it out (`exhibitor/zookeeper/{snapshot,transactions}`,
/// with `myid`), side by side in `base`.
fn layouts(base: &Path) -> (PathBuf, PathBuf) {
    let src = testdata().join("zk-3.8/recipes/version-2");
    let plain = base.join("plain");
    let zk = base.join("exhibitor/zookeeper");
    let (snaps, logs) = (
        zk.join("snapshot/version-2"),
        zk.join("transactions/version-2"),
    );
    for d in [&plain.join("version-2"), &snaps, &logs] {
        fs::create_dir_all(d).unwrap();
    }
    let mut n_logs = 0;
    for e in fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        fs::copy(e.path(), plain.join("version-2").join(&name)).unwrap();
        let to = if name.starts_with("log.") {
            n_logs += 1;
            &logs
        } else {
            &snaps
        };
        fs::copy(e.path(), to.join(&name)).unwrap();
    }
    assert!(n_logs > 1);
    for f in ["acceptedEpoch", "currentEpoch"] {
        fs::write(plain.join("version-2").join(f), "1").unwrap();
        fs::write(snaps.join(f), "1").unwrap();
    }
    fs::write(zk.join("snapshot/myid"), "1\n").unwrap();
    (plain, zk)
}

/// `dcos-zk backup`: a tar.gz of the zookeeper folder as `./zookeeper`, without `myid`.
fn dcos_zk_backup(zk: &Path, archive: &Path) {
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = zk.join(&rel);
        let mut entries: Vec<_> = fs::read_dir(&here).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel = rel.join(e.file_name());
            if e.file_name() == "myid" {
                continue;
            }
            // Names written raw: the tar crate would drop the leading "./" Python's tarfile keeps.
            let name = format!("./zookeeper/{}", rel.display());
            let mut h = tar::Header::new_ustar();
            let meta = e.metadata().unwrap();
            h.set_mode(0o755);
            h.set_mtime(0);
            if meta.is_dir() {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.as_old_mut().name[..name.len() + 1]
                    .copy_from_slice(format!("{name}/").as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
                stack.push(rel);
            } else {
                h.set_size(meta.len());
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, fs::File::open(e.path()).unwrap()).unwrap();
            }
        }
    }
    b.into_inner().unwrap().finish().unwrap();
}

/// The files of an output data dir's version-2, with their bytes.
fn output_files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(out.join("version-2"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_dcos_zk_backup_reads_as_its_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, zk) = layouts(tmp.path());
    let archive = tmp.path().join("zk-backup.tar.gz");
    dcos_zk_backup(&zk, &archive);
    let (archive_s, plain_s) = (archive.to_str().unwrap(), plain.to_str().unwrap());

    // zkfilter datadir: the same output, byte for byte, as the unsplit data dir.
    let (from_tar, from_dir) = (tmp.path().join("from-tar"), tmp.path().join("from-dir"));
    let (rep_tar, rep_dir) = (tmp.path().join("tar.json"), tmp.path().join("dir.json"));
    let o = ok(
        zkfilter(&[
            "datadir",
            archive_s,
            "-o",
            from_tar.to_str().unwrap(),
            "--report",
            rep_tar.to_str().unwrap(),
        ]),
        "zkfilter datadir ARCHIVE",
    );
    assert!(
        text(&o.stderr).contains(&format!("zkfilter: {NOTE}")),
        "{}",
        text(&o.stderr)
    );
    ok(
        zkfilter(&[
            "datadir",
            plain_s,
            "-o",
            from_dir.to_str().unwrap(),
            "--report",
            rep_dir.to_str().unwrap(),
        ]),
        "zkfilter datadir DIR",
    );
    let (a, b) = (output_files(&from_tar), output_files(&from_dir));
    assert_eq!(a.len(), 3, "a snapshot and the epoch files");
    assert_eq!(a, b, "the archive's output differs from the folder's");
    let rep = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
    };
    let (rt, rd) = (rep(&rep_tar), rep(&rep_dir));
    assert_eq!(
        rt["details"]["splitDataDir"],
        serde_json::json!({"snapshots": "./zookeeper/snapshot/version-2", "logs": "./zookeeper/transactions/version-2"})
    );
    assert!(rd["details"]["splitDataDir"].is_null());
    assert_eq!(rt["details"]["lastZxid"], rd["details"]["lastZxid"]);
    assert_eq!(rt["details"]["fence"], rd["details"]["fence"]);
    assert_eq!(rt["sessions"], rd["sessions"]);
    assert_eq!(
        rt["details"]["logsUsed"].as_array().unwrap().len(),
        rd["details"]["logsUsed"].as_array().unwrap().len()
    );

    // Its logs are in it: --log-dir is refused, naming the archive (not a temporary folder).
    let o = zkfilter(&[
        "datadir",
        archive_s,
        "--log-dir",
        plain_s,
        "-o",
        tmp.path().join("refused").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{archive_s} holds txn logs too")),
        "{err}"
    );

    // The same archive on standard input.
    let from_stdin = tmp.path().join("from-stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkfilter"))
        .args(["datadir", "-", "-o", from_stdin.to_str().unwrap(), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(&archive).unwrap())
        .unwrap();
    ok(child.wait_with_output().unwrap(), "zkfilter datadir -");
    assert_eq!(output_files(&from_stdin), b);

    // zkdump verify: accepted, with the note (text and JSON).
    let o = ok(zkdump(&["verify", archive_s]), "zkdump verify ARCHIVE");
    let out = text(&o.stdout);
    assert!(out.contains(&format!("  note: {NOTE}")), "{out}");
    assert!(out.contains("0 problems"), "{out}");
    let o = ok(
        zkdump(&["verify", "--json", archive_s]),
        "zkdump verify --json",
    );
    let notes: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["severity"] == "note")
        .collect();
    assert!(
        notes
            .iter()
            .any(|v| v["file"] == archive_s && v["message"].as_str().unwrap().starts_with(NOTE)),
        "{notes:?}"
    );

    // zkdump summary: the same tree as the folder's.
    let o = ok(zkdump(&["summary", archive_s]), "zkdump summary ARCHIVE");
    assert!(text(&o.stdout).contains(&format!("  note: {NOTE}")));
    let summary = |p: &str| -> serde_json::Value {
        let o = ok(zkdump(&["summary", "--json", p]), "zkdump summary --json");
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (st, sd) = (summary(archive_s), summary(plain_s));
    for k in [
        "zxid",
        "txnsReplayed",
        "nodes",
        "dataBytes",
        "sessions",
        "sessionTable",
    ] {
        assert_eq!(st[k], sd[k], "{k}");
    }
    assert_eq!(st["archive"], "tar.gz");

    // zkdump sessions and diff.
    let o = ok(zkdump(&["sessions", archive_s]), "zkdump sessions ARCHIVE");
    assert!(text(&o.stdout).contains(NOTE), "{}", text(&o.stdout));
    let o = ok(
        zkdump(&["diff", archive_s, plain_s]),
        "zkdump diff ARCHIVE DIR",
    );
    assert!(
        text(&o.stdout).contains("0 nodes differ."),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn logs_in_two_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = testdata().join("zk-3.8/basic/version-2");
    let archive = tmp.path().join("two-log-folders.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for e in fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // Snapshots and the first logs in one folder, the last log in another.
        let folder = if name == "log.3c" {
            "b/version-2"
        } else {
            "a/version-2"
        };
        b.append_path_with_name(e.path(), format!("{folder}/{name}"))
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
    let out = tmp.path().join("out");
    let o = zkfilter(&[
        "datadir",
        archive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("data files in several folders (a/version-2, b/version-2)"),
        "{err}"
    );
    assert!(!out.exists());
    let o = zkdump(&["verify", archive.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("several folders (a/version-2, b/version-2)"));
}

#[test]
fn a_split_folder_is_refused_with_the_log_dir_form() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, zk) = layouts(tmp.path());
    let zk_s = zk.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = zkfilter(&["datadir", zk_s, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    let form = format!("zkfilter datadir {zk_s}/snapshot --log-dir {zk_s}/transactions");
    assert!(err.contains(&format!("`{form}`")), "{err}");
    // The hint's command, as pasted, works.
    ok(
        zkfilter(&[
            "datadir",
            &format!("{zk_s}/snapshot"),
            "--log-dir",
            &format!("{zk_s}/transactions"),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ]),
        "the hint's command",
    );
    let from_dir = tmp.path().join("from-dir");
    ok(
        zkfilter(&[
            "datadir",
            plain.to_str().unwrap(),
            "-o",
            from_dir.to_str().unwrap(),
            "-q",
        ]),
        "zkfilter datadir DIR",
    );
    assert_eq!(output_files(&out), output_files(&from_dir));
    // zkdump verify names its own --log-dir form; summary the archive on standard input.
    let o = zkdump(&["verify", zk_s]);
    let form = format!("zkdump verify {zk_s}/snapshot --log-dir {zk_s}/transactions");
    assert!(
        text(&o.stdout).contains(&format!("`{form}`")),
        "{}",
        text(&o.stdout)
    );
    let o = zkdump(&["summary", zk_s]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("tar -C {zk_s} -c . | zkdump summary -")),
        "{err}"
    );
    assert!(!err.contains("zkdump verify"), "{err}");
}
