//! The command-line contract of `zkdump`: what it refuses, how it judges what it cannot see, and
//! what its text and JSON promise (headers that say what they count, plurals, integers in JSON,
//! the same recipe names as `zkfilter`).

#![allow(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(root())
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn zkdump(args: &[&str]) -> (i32, String, String) {
    run(env!("CARGO_BIN_EXE_zkdump"), args)
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Copies the named files of `from` (a version-2 folder) into `to` (created).
fn copy_files(from: &str, names: &[&str], to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for n in names {
        fs::copy(root().join(from).join(n), to.join(n)).expect("copy");
    }
}

// 1. A folder that holds no ZooKeeper file is unreadable, not OK.

#[test]
fn verify_refuses_an_empty_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, _) = zkdump(&["verify", p(dir.path())]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("[UNREADABLE]"), "{out}");
    assert!(out.contains("an empty folder"), "{out}");
    assert!(
        out.contains("a data dir holding version-2/ with log.* and snapshot.* files"),
        "{out}"
    );
    let (code, out, _) = zkdump(&["verify", "--json", p(dir.path())]);
    assert_eq!(code, 2);
    let lines = json_lines(&out);
    assert!(lines
        .iter()
        .any(|v| v["kind"] == "finding" && v["severity"] == "unreadable"));
    assert!(lines
        .iter()
        .any(|v| v["kind"] == "verified" && v["status"] == "unreadable"));
}

#[test]
fn verify_refuses_a_folder_without_zookeeper_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in ["a.txt", "b", "c"] {
        fs::write(dir.path().join(n), b"hello").expect("write");
    }
    let (code, out, _) = zkdump(&["verify", p(dir.path())]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("a folder with 3 files, none a ZooKeeper log or snapshot (a.txt, b, c)"),
        "{out}"
    );
    assert!(
        out.contains("expected a data dir holding version-2/"),
        "{out}"
    );
    // Sub-folders only (the upstream fixtures' buffersize/ holds three data dirs).
    let (code, out, _) = zkdump(&["verify", "testdata/upstream/buffersize"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("a folder with 3 sub-folders (create, set, snapshot)"),
        "{out}"
    );
}

#[test]
fn verify_accepts_a_fresh_data_dir() {
    // An empty version-2/ is what a server that never ran leaves: nothing to restore, but a
    // ZooKeeper data dir (a server starts an empty tree on it).
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("version-2")).expect("mkdir");
    let (code, out, _) = zkdump(&["verify", p(dir.path())]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no snapshot and no log"), "{out}");
}

// 2. A data dir is judged by the version that wrote it.

#[test]
fn verify_judges_34_logs_without_snapshot_by_34_rules() {
    // zk-3.4/basic before its first snapshot: 3.4 writes no snapshot at start-up, so a 3.4
    // server that stopped before snapCount txns leaves logs only, and 3.4 restarts on them.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_files(
        "testdata/zk-3.4/basic/version-2",
        &["log.1"],
        &dir.path().join("version-2"),
    );
    let (code, out, _) = zkdump(&["verify", p(dir.path())]);
    assert_eq!(
        code, 0,
        "a 3.4 layout that 3.4 restores is not a problem: {out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("No snapshot found"))
        .expect("a finding about the missing snapshot");
    assert!(line.trim_start().starts_with("warning"), "{line}");
    assert!(line.contains("3.5.3+"), "{line}");
    assert!(
        line.contains("zookeeper.snapshot.trust.empty=true"),
        "{line}"
    );
    assert!(line.contains("no mark of ZooKeeper 3.5 or later"), "{line}");
    assert!(
        out.contains("restorable from the empty tree + log.1"),
        "{out}"
    );
}

#[test]
fn verify_keeps_36_logs_without_snapshot_a_problem() {
    // The same state from a 3.8 server cannot happen (3.5.3+ writes snapshot.0 first): the
    // snapshots were lost, and the server refuses to start.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_files(
        "testdata/zk-3.8/basic/version-2",
        &["log.1", "log.26", "log.3c"],
        &dir.path().join("version-2"),
    );
    let (code, out, _) = zkdump(&["verify", p(dir.path())]);
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("No snapshot found"))
        .expect("a finding about the missing snapshot");
    assert!(line.trim_start().starts_with("problem"), "{line}");
    assert!(line.contains("TxnDigests (3.6+)"), "{line}");
}

// 3. --log-dir: the logs of a server with a separate dataLogDir.

fn split_datadir(version: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let src = format!("testdata/zk-{version}/basic/version-2");
    let mut snaps = Vec::new();
    let mut logs = Vec::new();
    for e in fs::read_dir(root().join(&src)).expect("read_dir").flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("snapshot.") {
            snaps.push(n);
        } else if n.starts_with("log.") {
            logs.push(n);
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let logdir = tmp.path().join("txnlog");
    let snaps: Vec<&str> = snaps.iter().map(String::as_str).collect();
    let logs: Vec<&str> = logs.iter().map(String::as_str).collect();
    copy_files(&src, &snaps, &data.join("version-2"));
    copy_files(&src, &logs, &logdir.join("version-2"));
    (tmp, data, logdir)
}

fn summary_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains(": data dir ["))
        .expect("a data dir line")
        .split_once("] ")
        .expect("status")
        .1
        .to_string()
}

#[test]
fn verify_reads_logs_from_log_dir() {
    let (_tmp, data, logdir) = split_datadir("3.8");
    let (code, whole, _) = zkdump(&["verify", "testdata/zk-3.8/basic"]);
    assert_eq!(code, 0, "{whole}");
    let (code, out, err) = zkdump(&["verify", p(&data), "--log-dir", p(&logdir)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(summary_line(&out), summary_line(&whole));
    // The logs were verified one by one too.
    assert!(
        out.contains("txnlog/version-2/log.3c: txn log [OK]"),
        "{out}"
    );
    // The version-2 folder itself works as well.
    let (code, out2, _) = zkdump(&[
        "verify",
        p(&data),
        "--log-dir",
        p(&logdir.join("version-2")),
    ]);
    assert_eq!(code, 0);
    assert_eq!(summary_line(&out2), summary_line(&whole));
}

#[test]
fn verify_log_dir_needs_a_single_data_dir() {
    let (_tmp, data, logdir) = split_datadir("3.8");
    let (code, _, err) = zkdump(&[
        "verify",
        p(&data),
        "testdata/zk-3.8/basic",
        "--log-dir",
        p(&logdir),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--log-dir"), "{err}");
    assert!(err.contains("one data dir"), "{err}");
    let (code, _, err) = zkdump(&[
        "verify",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
        "--log-dir",
        p(&logdir),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not a data dir"), "{err}");
}

#[test]
fn verify_log_dir_refuses_logs_in_both_places() {
    let (_tmp, data, logdir) = split_datadir("3.8");
    fs::copy(
        root().join("testdata/zk-3.8/basic/version-2/log.1"),
        data.join("version-2/log.1"),
    )
    .expect("copy");
    let (code, out, _) = zkdump(&["verify", p(&data), "--log-dir", p(&logdir)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Snapshot directory has log files"), "{out}");
}

// 4. Options that cannot apply are refused, not ignored.

#[test]
fn op_on_a_snapshot_is_refused() {
    let snap = "testdata/zk-3.8/basic/version-2/snapshot.3b";
    for args in [
        vec!["--op", "create", snap],
        vec!["dump", "--op", "create", snap],
        vec!["dump", "--json", "--op", "create", snap],
    ] {
        let (code, out, err) = zkdump(&args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.is_empty(), "{args:?}: nothing is dumped: {out}");
        assert!(err.contains("--op"), "{err}");
        assert!(err.contains("snapshot"), "{err}");
    }
    // Still fine on a log.
    let (code, _, _) = zkdump(&["--op", "create", "testdata/zk-3.8/basic/version-2/log.1"]);
    assert_eq!(code, 0);
}

#[test]
fn from_zxid_above_to_zxid_is_refused() {
    for file in ["log.1", "snapshot.3b"] {
        let path = format!("testdata/zk-3.8/basic/version-2/{file}");
        let (code, out, err) = zkdump(&["--from-zxid", "0x20", "--to-zxid", "0x10", &path]);
        assert_eq!(code, 2, "{file}: {out}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("--from-zxid 0x20"), "{err}");
        assert!(err.contains("--to-zxid 0x10"), "{err}");
    }
    let (code, _, _) = zkdump(&[
        "--from-zxid",
        "0x10",
        "--to-zxid",
        "0x10",
        "testdata/zk-3.8/basic/version-2/log.1",
    ]);
    assert_eq!(code, 0, "an equal pair selects one zxid");
}

#[test]
fn data_format_without_data_is_refused() {
    let (code, _, err) = zkdump(&[
        "--data-format",
        "base64",
        "testdata/zk-3.8/basic/version-2/log.1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--data"), "{err}");
    let (code, _, _) = zkdump(&[
        "diff",
        "--data-format",
        "base64",
        "testdata/zk-3.8/basic/version-2/snapshot.24",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn summary_snapshot_options_on_a_log_are_refused() {
    let log = "testdata/zk-3.8/basic/version-2/log.1";
    for opt in ["--depth", "--top"] {
        let (code, out, err) = zkdump(&["summary", opt, "3", log]);
        assert_eq!(code, 2, "{opt}: {out}");
        assert!(err.contains(opt), "{err}");
        assert!(err.contains("txn log"), "{err}");
    }
    let (code, _, _) = zkdump(&["summary", log]);
    assert_eq!(code, 0);
    // Several logs and nothing else: refused too, naming them.
    let log2 = "testdata/zk-3.8/basic/version-2/log.26";
    let (code, out, err) = zkdump(&["summary", "--depth", "3", log, log2]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("--depth") && err.contains("are txn logs"),
        "{err}"
    );
    // With a snapshot or a data dir among them the option applies (to those).
    for tree in [
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
        "testdata/zk-3.8/basic",
    ] {
        let (code, out, err) = zkdump(&["summary", "--depth", "1", "--top", "2", log, tree]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("subtrees (depth 1)"), "{out}");
        assert!(!out.contains("----/"), "{out}");
    }
}

#[test]
fn summary_reads_stdin_once() {
    let snap = "testdata/zk-3.8/basic/version-2/snapshot.3b";
    let (code, out, err) = zkdump(&["summary", "-", snap, "-"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("named twice"), "{err}");
}

#[test]
fn diff_zxid_between_two_snapshots_is_refused() {
    let (code, out, err) = zkdump(&[
        "diff",
        "--zxid",
        "0x30",
        "testdata/zk-3.8/basic/version-2/snapshot.24",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("--zxid"), "{err}");
    // With a data dir on one side it applies.
    let (code, _, err) = zkdump(&[
        "diff",
        "--zxid",
        "0x3b",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
        "testdata/zk-3.8/basic",
    ]);
    assert!(code == 0 || code == 1, "{err}");
}

// 5. Table headers say what they count; counts agree with their nouns.

#[test]
fn summary_subtree_header_names_descendants() {
    let (code, out, _) = zkdump(&["summary", "testdata/zk-3.8/recipes/version-2/snapshot.33"]);
    assert_eq!(code, 0);
    let header = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("subtrees"))
        .nth(1)
        .expect("a subtree table header");
    assert!(header.contains("descendants"), "{header}");
    assert!(header.contains("subtree bytes"), "{header}");
    assert!(!header.contains("children"), "{header}");
    let (_, out, _) = zkdump(&["summary", "testdata/zk-3.8/basic/version-2/log.1"]);
    let header = out
        .lines()
        .skip_while(|l| !l.contains("by op"))
        .nth(1)
        .expect("an op table header");
    assert!(header.contains("txns"), "{header}");
    assert!(header.contains("entry bytes"), "{header}");
}

/// `1 nodes`, `1 sessions`, … anywhere in a text.
fn bad_plurals(text: &str) -> Vec<String> {
    let nouns = [
        "nodes",
        "txns",
        "sessions",
        "ACL entries",
        "seals",
        "ephemerals",
        "ephemeral nodes",
        "live sessions",
        "bytes",
        "problems",
        "inputs",
        "ops",
        "entries",
        "TxnDigests",
        "files",
        "txns replayed",
    ];
    let mut bad = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let w = w.trim_start_matches(['(', '[']);
            if w != "1" {
                continue;
            }
            let rest = words.get(i + 1..).unwrap_or(&[]).join(" ");
            if nouns.iter().any(|n| {
                rest.starts_with(n)
                    && rest[n.len()..]
                        .chars()
                        .next()
                        .map_or(true, |c| !c.is_alphanumeric())
            }) {
                bad.push(line.to_string());
            }
        }
    }
    bad
}

#[test]
fn counts_of_one_are_singular() {
    // zk-3.4/multi/snapshot.d has 1 session, 1 ACL entry and 1 seal; log.f has 2 txns.
    let dir = "testdata/zk-3.4/multi";
    let mut all = String::new();
    for args in [
        vec!["verify", dir],
        vec!["sessions", dir],
        vec!["summary", "testdata/zk-3.4/multi/version-2/snapshot.d"],
        vec!["summary", "testdata/zk-3.4/multi/version-2/log.f"],
        vec!["summary", dir],
        vec!["testdata/zk-3.4/multi/version-2/snapshot.d"],
        vec![
            "--from-zxid",
            "0x10",
            "testdata/zk-3.4/multi/version-2/log.f",
        ],
        vec![
            "diff",
            "testdata/zk-3.4/multi/version-2/snapshot.d",
            "testdata/zk-3.4/multi",
        ],
        vec!["sessions", "testdata/zk-3.8/recipes"],
        vec!["verify", "testdata/zk-3.9/recipes"],
    ] {
        let (_, out, _) = zkdump(&args);
        all.push_str(&out);
    }
    let bad = bad_plurals(&all);
    assert!(bad.is_empty(), "plural nouns after 1:\n{}", bad.join("\n"));
    assert!(all.contains("1 session"), "{all}");
}

// 6. Versions and counts are JSON integers.

#[test]
fn diff_json_versions_are_integers() {
    let (code, out, _) = zkdump(&[
        "diff",
        "--json",
        "testdata/zk-3.8/basic/version-2/snapshot.24",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
    ]);
    assert_eq!(code, 1);
    let mut seen = std::collections::BTreeSet::new();
    for v in json_lines(&out).iter().filter(|v| v["kind"] == "changed") {
        for c in v["changes"].as_array().expect("changes") {
            let field = c["field"].as_str().expect("field");
            seen.insert(field.to_string());
            for side in ["left", "right"] {
                let x = &c[side];
                match field {
                    "version" | "cversion" | "aversion" | "ctime" | "mtime" => {
                        assert!(x.is_i64(), "{field} {side}: {x}");
                    }
                    "czxid" | "mzxid" | "pzxid" | "ephemeralOwner" => {
                        assert!(
                            x.as_str().is_some_and(|s| s.starts_with("0x")),
                            "{field} {side}: {x}"
                        );
                    }
                    "data" => assert!(x.is_i64() || x.is_null(), "{field} {side}: {x}"),
                    "acl" => assert!(x.is_array(), "{field} {side}: {x}"),
                    other => panic!("unexpected field {other}"),
                }
            }
        }
    }
    assert!(seen.contains("cversion"), "{seen:?}");
    // With --data the data sides are data objects.
    let (_, out, _) = zkdump(&[
        "diff",
        "--json",
        "--data",
        "testdata/zk-3.8/basic/version-2/snapshot.24",
        "testdata/zk-3.8/basic/version-2/snapshot.3b",
    ]);
    for v in json_lines(&out).iter().filter(|v| v["kind"] == "changed") {
        for c in v["changes"].as_array().expect("changes") {
            if c["field"] == "data" {
                assert!(c["left"].is_object() || c["left"].is_null(), "{c}");
            }
        }
    }
}

/// Every string value in `v` that is a decimal number (counts printed as strings).
fn numeric_strings(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                out.push(format!("{at} = {s:?}"));
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numeric_strings(x, &format!("{at}[{i}]"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                numeric_strings(x, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn json_outputs_print_numbers_as_numbers() {
    let mut found = Vec::new();
    for args in [
        vec![
            "diff",
            "--json",
            "testdata/zk-3.8/basic/version-2/snapshot.24",
            "testdata/zk-3.8/basic",
        ],
        vec!["verify", "--json", "testdata/zk-3.8/basic"],
        vec!["sessions", "--json", "testdata/zk-3.8/recipes"],
        vec![
            "summary",
            "--json",
            "testdata/zk-3.8/recipes/version-2/snapshot.33",
        ],
        vec!["summary", "--json", "testdata/zk-3.8/basic/version-2/log.1"],
        vec![
            "summary",
            "--json",
            "testdata/zk-3.8/basic",
            "testdata/zk-3.8/recipes/version-2/snapshot.33",
            "no/such/file",
        ],
        vec!["--json", "testdata/zk-3.8/basic/version-2/snapshot.3b"],
        vec!["--json", "testdata/zk-3.8/basic/version-2/log.1"],
    ] {
        let (_, out, _) = zkdump(&args);
        for v in json_lines(&out) {
            numeric_strings(&v, &format!("{args:?} {}", v["kind"]), &mut found);
        }
    }
    assert!(
        found.is_empty(),
        "numbers as strings:\n{}",
        found.join("\n")
    );
}

// 7. One recipe name per parent in zkfilter's report and zkdump sessions.

#[test]
fn recipe_names_agree_with_zkfilter() {
    for dir in ["testdata/zk-3.8/recipes", "testdata/zk-3.4/recipes"] {
        let (code, report, err) = run(
            env!("CARGO_BIN_EXE_zkfilter"),
            &["datadir", dir, "--dry-run", "--report", "-", "-q"],
        );
        assert_eq!(code, 0, "{err}");
        let report: serde_json::Value = serde_json::from_str(&report).expect("report JSON");
        let (code, out, _) = zkdump(&["sessions", "--json", dir]);
        assert_eq!(code, 0);
        let mut from_sessions = std::collections::BTreeMap::new();
        for v in json_lines(&out)
            .into_iter()
            .filter(|v| v["kind"] == "session")
        {
            for g in v["groups"].as_array().expect("groups") {
                from_sessions.insert(
                    g["parent"].as_str().expect("parent").to_string(),
                    g["recipe"].as_str().expect("a recipe field").to_string(),
                );
            }
        }
        let groups = report["ephemeralGroups"].as_array().expect("groups");
        assert!(!groups.is_empty());
        for g in groups {
            let parent = g["parent"].as_str().expect("parent");
            assert_eq!(
                from_sessions.get(parent).map(String::as_str),
                g["recipe"].as_str(),
                "{dir}: {parent}"
            );
        }
    }
}
