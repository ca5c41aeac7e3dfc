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
    zkdump_in(&root(), args, None)
}

/// Runs zkdump in `dir`, with `stdin` (bytes) as standard input when given.
fn zkdump_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkdump"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkdump");
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            // zkdump may stop reading early (an error): a closed pipe is not the test's concern.
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = child.wait_with_output().expect("run zkdump");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
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
        let s = zkdump(&["summary", arg]);
        g.check(d, "summary.txt", &format!("{}{}", s.stdout, s.status));
        let j = zkdump(&["summary", "--json", arg]);
        assert_eq!(j.status, s.status, "{arg}: the same outcome in JSON");
        g.check(d, "summary.jsonl", &j.stdout);
        let objects = json_objects(&j.stdout, arg);
        assert_eq!(objects.len(), 1, "{arg}: one object per input");
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

/// The JSON objects of a `--json` output, one per line, each with a `kind`.
fn json_objects(stdout: &str, what: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{what}: bad JSON line {line}: {e}"));
            assert!(
                v.get("kind").and_then(|k| k.as_str()).is_some(),
                "{what}: line without kind: {line}"
            );
            v
        })
        .collect()
}

/// A tar archive of `dir`'s `version-2` folder (as `tar -C dir -c version-2` makes it).
fn tar_of(dir: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all("version-2", root().join(dir).join("version-2"))
        .expect("tar");
    b.into_inner().expect("tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// Compresses with the `zstd` command (installed by scripts/install-deps.sh).
fn zstd(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new("zstd")
        .args(["-q", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the zstd command (apt-get install zstd)");
    let mut pipe = child.stdin.take().expect("stdin");
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&bytes).expect("zstd input"));
    let out = child.wait_with_output().expect("zstd");
    writer.join().expect("zstd writer");
    assert!(out.status.success());
    out.stdout
}

/// `summary A B C` is the sections of `summary A`, `summary B`, `summary C` in order (text: one
/// blank line between them; JSON: one object each), on a txn log, a gzip snapshot and a data
/// dir; with a missing path among them, the others are still summarised and the exit code is 2.
#[test]
fn summary_of_several_inputs() {
    let log = "testdata/zk-3.9/recipes/version-2/log.1";
    let snap = "testdata/zk-3.8/compressed-gz/version-2/snapshot.2a.gz";
    let dir = "testdata/zk-3.9/java-client";
    let mut g = Golden::new();
    let singles: Vec<Run> = [log, snap, dir]
        .iter()
        .map(|a| zkdump(&["summary", a]))
        .collect();
    let singles_json: Vec<Run> = [log, snap, dir]
        .iter()
        .map(|a| zkdump(&["summary", "--json", a]))
        .collect();
    for r in singles.iter().chain(&singles_json) {
        assert_eq!(r.status, "exit: 0\n");
    }
    let joined: Vec<&str> = singles.iter().map(|r| r.stdout.as_str()).collect();

    let all = zkdump(&["summary", log, snap, dir]);
    assert_eq!(all.status, "exit: 0\n");
    assert_eq!(all.stdout, joined.join("\n"));
    let rel = Path::new("summary/log-snapshot-datadir");
    g.check(rel, "txt", &format!("{}{}", all.stdout, all.status));

    let all = zkdump(&["summary", "--json", log, snap, dir]);
    assert_eq!(all.status, "exit: 0\n");
    let joined_json: String = singles_json.iter().map(|r| r.stdout.as_str()).collect();
    assert_eq!(all.stdout, joined_json);
    let kinds: Vec<String> = json_objects(&all.stdout, "mixed")
        .iter()
        .map(|v| v["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        kinds,
        ["logSummary", "snapshotSummary", "dataDirSummary"],
        "one object per input, in order"
    );
    g.check(rel, "jsonl", &all.stdout);

    // A missing path among them: reported in its place and on stderr; the others as alone.
    let missing = "testdata/zk-3.9/no-such-dir";
    let r = zkdump(&["summary", log, missing, dir]);
    assert!(r
        .status
        .starts_with("exit: 2\nerror: testdata/zk-3.9/no-such-dir: "));
    let expected = format!(
        "{}\n{missing}: unreadable: No such file or directory (os error 2)\n\n{}",
        joined[0], joined[2]
    );
    assert_eq!(r.stdout, expected);
    let rel = Path::new("summary/missing-among-several");
    g.check(rel, "txt", &format!("{}{}", r.stdout, r.status));
    let r = zkdump(&["summary", "--json", log, missing, dir]);
    assert!(r.status.starts_with("exit: 2\n"));
    let objects = json_objects(&r.stdout, "missing");
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[1]["kind"], "summaryError");
    assert_eq!(objects[1]["file"], missing);
    assert_eq!(
        r.stdout.lines().next(),
        singles_json[0].stdout.lines().next()
    );
    assert_eq!(
        r.stdout.lines().nth(2),
        singles_json[2].stdout.lines().next()
    );
    g.check(rel, "jsonl", &r.stdout);

    // A file zkdump cannot read at all (pre-3.0 format) and a damaged snapshot (read up to the
    // damage): exit 2, the others summarised.
    let damaged = "testdata/upstream/invalidsnap/version-2/snapshot.83f";
    let old = "testdata/upstream/upgrade/snapshot.100000000";
    let r = zkdump(&["summary", damaged, old, log]);
    assert!(r.status.starts_with("exit: 2\n"), "{}", r.status);
    assert_eq!(r.status.matches("error: ").count(), 2, "{}", r.status);
    assert!(r.stdout.ends_with(joined[0]), "{}", r.stdout);
    g.check(
        Path::new("summary/damaged-among-several"),
        "txt",
        &format!("{}{}", r.stdout, r.status),
    );
    let r = zkdump(&["summary", "--json", damaged, old, log]);
    let objects = json_objects(&r.stdout, "damaged");
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["kind"], "snapshotSummary");
    assert!(objects[0]["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("unreasonable length")));
    assert_eq!(objects[1]["kind"], "summaryError");
    assert!(objects[2]["error"].is_null());
    assert!(r.status.starts_with("exit: 2\n"), "{}", r.status);
    g.check(
        Path::new("summary/damaged-among-several"),
        "jsonl",
        &r.stdout,
    );
    g.finish();
}

/// An archive of a data dir (tar, tar.gz on standard input, tar.zst) summarises as the folder
/// does; only the names differ.
#[test]
fn summary_of_an_archived_data_dir() {
    let dir = Path::new("testdata/zk-3.8/recipes");
    let folder = zkdump(&["summary", "testdata/zk-3.8/recipes"]);
    let folder_json = zkdump(&["summary", "--json", "testdata/zk-3.8/recipes"]);
    assert_eq!(folder.status, "exit: 0\n");
    let tar = tar_of(dir);
    let mut g = Golden::new();

    let r = zkdump_in(&root(), &["summary", "-"], Some(&gzip(&tar)));
    assert_eq!(r.status, "exit: 0\n");
    let as_folder = r
        .stdout
        .replace(
            "-: data dir (tar.gz archive), replayed",
            "testdata/zk-3.8/recipes: data dir, replayed",
        )
        .replace(" -/", " testdata/zk-3.8/recipes/version-2/");
    assert_eq!(as_folder, folder.stdout);
    let rel = Path::new("summary/recipes-tar-gz-stdin");
    g.check(rel, "txt", &format!("{}{}", r.stdout, r.status));
    let r = zkdump_in(&root(), &["summary", "--json", "-"], Some(&gzip(&tar)));
    let objects = json_objects(&r.stdout, "tar.gz");
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["archive"], "tar.gz");
    assert_eq!(objects[0]["file"], "-");
    assert_eq!(objects[0]["snapshot"]["file"], "-/snapshot.33");
    let as_folder = r
        .stdout
        .replace(
            r#""file":"-","archive":"tar.gz""#,
            r#""file":"testdata/zk-3.8/recipes","archive":null"#,
        )
        .replace(r#""-/"#, r#""testdata/zk-3.8/recipes/version-2/"#);
    assert_eq!(as_folder, folder_json.stdout);
    g.check(rel, "jsonl", &r.stdout);
    g.finish();

    // Archive files: plain tar and tar.zst, named as given.
    let t = tempfile::tempdir().expect("tempdir");
    fs::write(t.path().join("recipes.tar"), &tar).expect("write");
    fs::write(t.path().join("recipes.tar.zst"), zstd(&tar)).expect("write");
    for (name, what) in [("recipes.tar", "tar"), ("recipes.tar.zst", "tar.zst")] {
        let r = zkdump_in(t.path(), &["summary", name], None);
        assert_eq!(r.status, "exit: 0\n", "{name}");
        let as_folder = r
            .stdout
            .replace(
                &format!("{name}: data dir ({what} archive), replayed"),
                "testdata/zk-3.8/recipes: data dir, replayed",
            )
            .replace(&format!(" {name}/"), " testdata/zk-3.8/recipes/version-2/");
        assert_eq!(as_folder, folder.stdout, "{name}");
    }
    // An archive among other inputs.
    let log = root().join("testdata/zk-3.8/recipes/version-2/log.34");
    let log = log.to_str().expect("utf-8");
    let r = zkdump_in(
        t.path(),
        &["summary", "--json", log, "recipes.tar.zst"],
        None,
    );
    assert_eq!(r.status, "exit: 0\n");
    let objects = json_objects(&r.stdout, "archive among others");
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1]["archive"], "tar.zst");
    assert_eq!(objects[1]["zxid"], "0x38");
}

/// The summary of every real data dir agrees with the tree the server served just before it
/// stopped (`expected-tree.json`, read through kazoo): node count, data bytes, ephemerals per
/// owner, ACL lists, the subtree table (depth 2) and the largest nodes, the zxid reached; its
/// live sessions are the ones `scenario.json` says were open at the final shutdown.
/// (Containers and TTL nodes are served with ephemeralOwner 0, so the served tree counts them
/// with the persistent nodes.)
#[test]
fn summary_of_each_data_dir_is_the_served_tree() {
    use base64::Engine as _;
    use std::collections::{BTreeMap, BTreeSet};
    let mut checked = 0;
    for version in ["zk-3.4", "zk-3.8", "zk-3.9"] {
        let base = root().join("testdata").join(version);
        let mut scenarios: Vec<PathBuf> = fs::read_dir(&base)
            .expect("testdata")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("expected-tree.json").exists())
            .collect();
        scenarios.sort();
        for d in scenarios {
            let rel = d.strip_prefix(root()).expect("relative").to_path_buf();
            let arg = rel.to_str().expect("utf-8");
            let read = |name: &str| -> serde_json::Value {
                serde_json::from_str(&fs::read_to_string(d.join(name)).expect("read"))
                    .expect("json")
            };
            let served = read("expected-tree.json");
            let scenario = read("scenario.json");
            let r = zkdump(&["summary", "--json", arg]);
            assert_eq!(r.status, "exit: 0\n", "{arg}");
            let got = json_objects(&r.stdout, arg).remove(0);

            let nodes = served["nodes"].as_array().expect("nodes");
            let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
            let mut owners: BTreeMap<String, u64> = BTreeMap::new();
            let mut acls = BTreeSet::new();
            for n in nodes {
                let path = n["path"].as_str().expect("path").to_string();
                let len = n["data_b64"].as_str().map_or(0, |b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .expect("base64")
                        .len() as u64
                });
                sizes.insert(path, len);
                let owner = n["stat"]["ephemeralOwner"].as_i64().expect("owner");
                if owner != 0 {
                    *owners.entry(format!("0x{:x}", owner as u64)).or_default() += 1;
                }
                acls.insert(n["acl"].to_string());
            }
            let int = |k: &str| got[k].as_u64().unwrap_or_else(|| panic!("{arg}: {k}"));
            assert_eq!(int("nodes"), nodes.len() as u64, "{arg}: nodes");
            assert_eq!(int("dataBytes"), sizes.values().sum::<u64>(), "{arg}");
            assert_eq!(int("ephemeral"), owners.values().sum::<u64>(), "{arg}");
            assert_eq!(
                int("persistent") + int("container") + int("ttl"),
                nodes.len() as u64 - owners.values().sum::<u64>(),
                "{arg}"
            );
            assert_eq!(int("aclEntries"), acls.len() as u64, "{arg}: ACL lists");
            assert_eq!(got["zxid"], served["zxid_at_capture"], "{arg}");
            let got_owners: BTreeMap<String, u64> = got["sessionTable"]
                .as_array()
                .expect("sessionTable")
                .iter()
                .chain(got["orphanOwners"].as_array().expect("orphanOwners"))
                .filter(|s| s["ephemerals"].as_u64() != Some(0))
                .map(|s| {
                    (
                        s["session"].as_str().expect("id").to_string(),
                        s["ephemerals"].as_u64().expect("count"),
                    )
                })
                .collect();
            assert_eq!(got_owners, owners, "{arg}: ephemerals per owner");
            // Subtrees to depth 2: descendants and bytes of every non-leaf path.
            let mut subtrees: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for (path, len) in &sizes {
                let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
                for i in 0..=parts.len().min(2) {
                    let prefix = format!("/{}", parts[..i].join("/"));
                    let e = subtrees.entry(prefix).or_default();
                    e.1 += len;
                    if i < parts.len() {
                        e.0 += 1;
                    }
                }
            }
            subtrees.retain(|_, v| v.0 > 0);
            let got_subtrees: BTreeMap<String, (u64, u64)> = got["subtrees"]
                .as_array()
                .expect("subtrees")
                .iter()
                .map(|s| {
                    (
                        s["path"].as_str().expect("path").to_string(),
                        (
                            s["descendants"].as_u64().expect("descendants"),
                            s["dataBytes"].as_u64().expect("bytes"),
                        ),
                    )
                })
                .collect();
            assert_eq!(got_subtrees, subtrees, "{arg}: subtrees");
            let mut largest: Vec<(u64, &String)> = sizes.iter().map(|(p, l)| (*l, p)).collect();
            largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            largest.truncate(10);
            let got_largest: Vec<(u64, String)> = got["largestNodes"]
                .as_array()
                .expect("largestNodes")
                .iter()
                .map(|n| {
                    (
                        n["dataLength"].as_u64().expect("length"),
                        n["path"].as_str().expect("path").to_string(),
                    )
                })
                .collect();
            let largest: Vec<(u64, String)> =
                largest.into_iter().map(|(l, p)| (l, p.clone())).collect();
            assert_eq!(got_largest, largest, "{arg}: largest nodes");
            // Live sessions: those open at the final shutdown.
            let open: BTreeSet<String> = scenario["sessions"]
                .as_object()
                .expect("sessions")
                .iter()
                .filter(|(_, what)| {
                    let w = what.as_str().unwrap_or("");
                    w.contains("open at") && !w.contains("first shutdown")
                })
                .map(|(id, _)| id.clone())
                .collect();
            let live: BTreeSet<String> = got["sessionTable"]
                .as_array()
                .expect("sessionTable")
                .iter()
                .map(|s| s["session"].as_str().expect("id").to_string())
                .collect();
            assert_eq!(live, open, "{arg}: live sessions");
            assert_eq!(int("sessions"), open.len() as u64, "{arg}");
            checked += 1;
        }
    }
    assert!(checked >= 24, "only {checked} data dirs checked");
}

/// Data dirs that cannot be summarised among other inputs: one whose log is damaged (the replay
/// stops, as ZooKeeper's restore would) and an empty folder. Each is reported with the file the
/// error is about; the other input is summarised; exit 2.
#[test]
fn summary_of_unreadable_data_dirs_among_others() {
    let t = tempfile::tempdir().expect("tempdir");
    let damaged = t.path().join("damaged");
    fs::create_dir_all(damaged.join("version-2")).expect("mkdir");
    let src = root().join("testdata/zk-3.9/basic/version-2");
    for e in fs::read_dir(&src).expect("read").flatten() {
        fs::copy(e.path(), damaged.join("version-2").join(e.file_name())).expect("copy");
    }
    let log = damaged.join("version-2/log.3c");
    let mut bytes = fs::read(&log).expect("read");
    bytes[300] ^= 0xff;
    fs::write(&log, bytes).expect("write");
    fs::create_dir(t.path().join("empty")).expect("mkdir");
    let snap = root().join("testdata/zk-3.9/basic/version-2/snapshot.3b");
    let snap = snap.to_str().expect("utf-8");
    let alone = zkdump_in(t.path(), &["summary", snap], None);

    let r = zkdump_in(t.path(), &["summary", "damaged", snap, "empty"], None);
    assert!(r.status.starts_with("exit: 2\n"), "{}", r.status);
    assert!(r
        .status
        .contains("error: damaged/version-2/log.3c: Adler32 mismatch"));
    assert!(r.status.contains("error: empty: this is an empty folder"));
    assert_eq!(
        r.stdout,
        format!(
            "{}\n\n{}\n{}\n",
            r.stdout.lines().next().unwrap_or(""),
            alone.stdout,
            r.stdout.lines().last().unwrap_or("")
        )
    );
    assert!(r
        .stdout
        .starts_with("damaged: unreadable: damaged/version-2/log.3c: Adler32 mismatch"));
    assert!(r
        .stdout
        .contains("\nempty: unreadable: this is an empty folder"));

    let r = zkdump_in(
        t.path(),
        &["summary", "--json", "damaged", snap, "empty"],
        None,
    );
    assert!(r.status.starts_with("exit: 2\n"), "{}", r.status);
    let objects = json_objects(&r.stdout, "unreadable data dirs");
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["kind"], "summaryError");
    assert_eq!(objects[0]["file"], "damaged");
    assert_eq!(objects[0]["errorFile"], "damaged/version-2/log.3c");
    assert_eq!(objects[0]["error"]["zxid"], "0x3e");
    assert_eq!(objects[1]["kind"], "snapshotSummary");
    assert_eq!(objects[2]["kind"], "summaryError");
    assert_eq!(objects[2]["errorFile"], "empty");
}
