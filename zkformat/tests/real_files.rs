//! Golden tests over real files written by real ZooKeeper servers (testdata/zk-3.4, zk-3.8,
//! zk-3.9) and ZooKeeper's own fixtures (testdata/upstream).
//!
//! * every file parses completely, and decode → encode gives the file's bytes back;
//! * ZooKeeper's fixture expectations (counts, the corrupt snapshot.83f, log.42's bad checksum,
//!   the buffersize limits);
//! * replaying each generated data dir gives exactly the tree the server served through kazoo
//!   just before it stopped (`expected-tree.json`), stats included.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use zkformat::data::NodeKind;
use zkformat::datadir::DataDir;
use zkformat::kind::FileKind;
use zkformat::snapshot::{DigestCheck, SnapshotItem, SnapshotReader};
use zkformat::tree::{replay_datadir, DataTree};
use zkformat::txnlog::{EndReason, TxnLog};
use zkformat::{ErrorKind, Limits, Zxid};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every log and snapshot in the real-data folders (not the malformed corpus, not the pre-3.0
/// "version 1" fixtures, not golden outputs).
fn real_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in ["zk-3.4", "zk-3.8", "zk-3.9", "upstream"] {
        walk(&testdata().join(sub), &mut v);
    }
    v.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        (name.starts_with("log.") || name.starts_with("snapshot."))
            && !p.to_string_lossy().contains("/upgrade/")
    });
    v.sort();
    assert!(
        v.len() > 50,
        "expected the real test data under testdata/, found {}",
        v.len()
    );
    v
}

fn decompressed(bytes: &[u8]) -> Vec<u8> {
    let (_, mut r) = zkformat::compression::open(bytes, Limits::default()).unwrap();
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut v).unwrap();
    v
}

#[test]
fn every_real_file_parses_and_round_trips() {
    let (mut logs, mut snaps) = (0, 0);
    for path in real_files() {
        let bytes = fs::read(&path).unwrap();
        let name = path.display().to_string();
        match FileKind::detect(&bytes) {
            FileKind::TxnLog => {
                logs += 1;
                let log = TxnLog::parse(&bytes, Limits::default()).unwrap();
                let mut rebuilt = bytes[..16].to_vec();
                let mut it = log.entries();
                let mut last = None;
                for e in it.by_ref() {
                    let e = match e {
                        Ok(e) => e,
                        // log.42 is ZooKeeper's own bad-checksum fixture.
                        Err(err) if name.ends_with("invalidsnap/version-2/log.42") => {
                            assert!(matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }));
                            break;
                        }
                        Err(err) => panic!("{name}: {err}"),
                    };
                    let rec = e.record().unwrap_or_else(|err| panic!("{name}: {err}"));
                    let mut payload = Vec::new();
                    rec.encode(&mut payload);
                    assert_eq!(
                        payload,
                        e.payload(),
                        "{name}: zxid {} re-encodes differently",
                        e.zxid()
                    );
                    rebuilt.extend_from_slice(e.raw());
                    if let Some(prev) = last {
                        assert!(
                            e.zxid() > prev,
                            "{name}: zxids go backwards at {}",
                            e.zxid()
                        );
                    }
                    last = Some(e.zxid());
                }
                if let Some(end) = it.end() {
                    assert_eq!(end.offset as usize, rebuilt.len(), "{name}");
                    assert_eq!(&bytes[..rebuilt.len()], &rebuilt[..], "{name}");
                    assert_eq!(end.trailing_nonzero, 0, "{name}: {}", end.describe());
                    assert!(
                        matches!(end.reason, EndReason::Eof | EndReason::ZeroPadding),
                        "{name}: {}",
                        end.describe()
                    );
                }
            }
            FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy => {
                snaps += 1;
                let plain = decompressed(&bytes);
                let snap = zkformat::snapshot::Snapshot::new(&plain, Limits::default());
                let mut rebuilt = Vec::new();
                let mut items = snap.items();
                let mut failed = None;
                for item in items.by_ref() {
                    match item {
                        Ok(item) => {
                            if let SnapshotItem::Node(n) = item.value {
                                let mut enc = Vec::new();
                                n.encode(&mut enc);
                                assert_eq!(enc, item.raw, "{name}: node at {}", item.offset);
                            }
                            rebuilt.extend_from_slice(item.raw);
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                if name.ends_with("snapshot.83f") {
                    let e = failed.expect("snapshot.83f must fail");
                    assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::LengthOutOfRange {
                                len: 977_468_229,
                                ..
                            }
                        ),
                        "{e}"
                    );
                    continue;
                }
                if let Some(e) = failed {
                    panic!("{name}: {e}");
                }
                assert_eq!(rebuilt, plain, "{name}: items do not cover the stream");
                // Where the digest was taken at the name's zxid, it must match the tree.
                let zxid =
                    zkformat::zxid::parse_file_name(path.file_name().unwrap().to_str().unwrap())
                        .unwrap()
                        .zxid;
                let check = items.summary().digest_check(Some(zxid));
                assert!(
                    !matches!(check, DigestCheck::Mismatch { .. }),
                    "{name}: {check:?}"
                );
            }
            other => panic!("{name}: unexpected kind {other:?}"),
        }
    }
    assert!(logs > 20 && snaps > 20, "{logs} logs, {snaps} snapshots");
}

fn count_entries(path: &str) -> usize {
    let bytes = fs::read(testdata().join(path)).unwrap();
    let log = TxnLog::parse(&bytes, Limits::default()).unwrap();
    let entries: Vec<_> = log.entries().collect::<Result<_, _>>().unwrap();
    entries.len()
}

fn snapshot_summary(
    path: &str,
    limits: Limits,
) -> zkformat::Result<zkformat::snapshot::SnapshotSummary> {
    let bytes = fs::read(testdata().join(path)).unwrap();
    let summary = SnapshotReader::open(&bytes[..], limits)?.check();
    summary
}

#[test]
fn upstream_fixture_expectations() {
    assert_eq!(count_entries("upstream/invalidsnap/version-2/log.1"), 627);
    assert_eq!(count_entries("upstream/invalidsnap/version-2/log.274"), 967);
    assert_eq!(count_entries("upstream/invalidsnap/version-2/log.63b"), 517);
    let d = Limits::default();
    assert_eq!(
        snapshot_summary("upstream/invalidsnap/version-2/snapshot.272", d)
            .unwrap()
            .nodes,
        628
    );
    assert_eq!(
        snapshot_summary("upstream/invalidsnap/version-2/snapshot.273", d)
            .unwrap()
            .nodes,
        629
    );
    assert_eq!(
        snapshot_summary("upstream/invalidsnap/version-2/snapshot.639", d)
            .unwrap()
            .nodes,
        1595
    );
    let e = snapshot_summary("upstream/invalidsnap/version-2/snapshot.83f", d).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::LengthOutOfRange {
                len: 977_468_229,
                ..
            }
        ),
        "{e}"
    );

    // log.42: the second entry's stored checksum has one flipped bit.
    let bytes = fs::read(testdata().join("upstream/invalidsnap/version-2/log.42")).unwrap();
    let log = TxnLog::parse(&bytes, d).unwrap();
    let mut it = log.entries();
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.zxid(), Some(Zxid(0x88_0000_0002)));
    assert_eq!(e.offset(), 61);
    assert_eq!(
        *e.kind(),
        ErrorKind::ChecksumMismatch {
            stored: 0xef6a0d2d,
            computed: 0xdf6a0d2d
        }
    );
    assert!(it.next().is_none(), "fused after the error");

    // buffersize: with jute.maxbuffer=100 every folder fails to load (BufferSizeTest); with the
    // defaults they read cleanly.
    let small = Limits::with_maxbuffer(100);
    for dir in ["create", "set", "snapshot"] {
        let bytes = fs::read(testdata().join(format!("upstream/buffersize/{dir}/version-2/log.1")))
            .unwrap();
        let r: Result<Vec<_>, _> = TxnLog::parse(&bytes, small).unwrap().entries().collect();
        let e = r.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LengthOutOfRange { limit: 1124, .. }),
            "{dir}: {e}"
        );
        assert!(TxnLog::parse(&bytes, d)
            .unwrap()
            .entries()
            .all(|e| e.is_ok()));
    }
    let e =
        snapshot_summary("upstream/buffersize/snapshot/version-2/snapshot.2", small).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::LengthOutOfRange { len: 5000, .. }),
        "{e}"
    );
}

#[test]
fn upstream_invalidsnap_restores_like_zookeeper() {
    // InvalidSnapshotTest: snapshot.83f is skipped, snapshot.639 + log.274 + log.63b are replayed.
    let dir = DataDir::scan(&testdata().join("upstream/invalidsnap")).unwrap();
    let r = replay_datadir(&dir, None, Limits::default()).unwrap();
    assert!(r.snapshot.as_ref().unwrap().ends_with("snapshot.639"));
    assert_eq!(r.rejected_snapshots.len(), 1);
    assert!(r.rejected_snapshots[0].path.ends_with("snapshot.83f"));
    let used: Vec<_> = r
        .logs
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(used, vec!["log.274", "log.63b"]);
    assert_eq!(r.tree.len(), 2113);
    assert_eq!(r.tree.last_zxid, Zxid(0x83f));
    assert_eq!(r.tree.sessions.len(), 1);
    assert!(r.tree.get(b"/9/9/8").is_some());
    assert_eq!(r.tree.digest(), r.tree.recompute_digest());
}

#[derive(Debug, PartialEq, Eq)]
struct Served {
    data: Option<Vec<u8>>,
    acl: Vec<(i64, String, String)>,
    stat: BTreeMap<String, i64>,
}

fn served_from_json(node: &serde_json::Value) -> (String, Served) {
    let path = node["path"].as_str().unwrap().to_string();
    let data = node["data_b64"]
        .as_str()
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap());
    let acl = node["acl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["perms"].as_i64().unwrap(),
                a["scheme"].as_str().unwrap().to_string(),
                a["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let stat = node["stat"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .collect();
    (path, Served { data, acl, stat })
}

/// The tree as a server would serve it (kazoo's view): served cversion, derived counts.
fn served_from_tree(tree: &DataTree) -> BTreeMap<String, Served> {
    let counts = tree.child_counts();
    let mut m = BTreeMap::new();
    for path in tree.sorted_paths() {
        let n = tree.get(path).unwrap();
        let children = i64::from(counts.get(path).copied().unwrap_or(0));
        let acl = match tree.acls.get(n.acl_key) {
            Some(l) => l
                .iter()
                .map(|a| {
                    (
                        i64::from(a.perms),
                        String::from_utf8_lossy(&a.scheme).into_owned(),
                        String::from_utf8_lossy(&a.id).into_owned(),
                    )
                })
                .collect(),
            None => vec![(31, "world".to_string(), "anyone".to_string())],
        };
        let s = n.stat;
        let stat = [
            ("czxid", s.czxid),
            ("mzxid", s.mzxid),
            ("ctime", s.ctime),
            ("mtime", s.mtime),
            ("version", i64::from(s.version)),
            ("cversion", 2 * i64::from(s.cversion) - children),
            ("aversion", i64::from(s.aversion)),
            // Servers show containers and TTL nodes with owner 0 (`DataNode.copyStat`).
            (
                "ephemeralOwner",
                if matches!(s.kind(), NodeKind::Container | NodeKind::Ttl(_)) {
                    0
                } else {
                    s.ephemeral_owner
                },
            ),
            ("pzxid", s.pzxid),
            ("dataLength", n.data.as_ref().map_or(0, |d| d.len() as i64)),
            ("numChildren", children),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let shown = if path.is_empty() {
            "/".to_string()
        } else {
            String::from_utf8(path.to_vec()).unwrap()
        };
        m.insert(
            shown,
            Served {
                data: n.data.clone(),
                acl,
                stat,
            },
        );
    }
    m
}

#[test]
fn replayed_data_dirs_equal_what_zookeeper_served() {
    let mut checked = 0;
    for version in ["zk-3.4", "zk-3.8", "zk-3.9"] {
        let Ok(rd) = fs::read_dir(testdata().join(version)) else {
            continue;
        };
        let mut dirs: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let expected_file = dir.join("expected-tree.json");
            let Ok(text) = fs::read_to_string(&expected_file) else {
                continue;
            };
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let capture_zxid = json["zxid_at_capture"]
                .as_str()
                .and_then(|s| i64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
            let expected: BTreeMap<String, Served> = json["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(served_from_json)
                .collect();
            let dd = DataDir::scan(&dir).unwrap();
            let r = replay_datadir(&dd, capture_zxid.map(Zxid), Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let got = served_from_tree(&r.tree);
            let name = dir.display();
            // The 3.5+ /zookeeper/config node is maintained by the server itself, not by txns
            // (a standalone server re-creates it at start-up).
            let skip = |p: &str| p == "/zookeeper/config";
            let exp_paths: Vec<_> = expected.keys().filter(|p| !skip(p)).collect();
            let got_paths: Vec<_> = got.keys().filter(|p| !skip(p)).collect();
            assert_eq!(got_paths, exp_paths, "{name}: paths differ");
            for (p, e) in &expected {
                if skip(p) {
                    continue;
                }
                assert_eq!(&got[p], e, "{name}: node {p} differs");
            }
            assert_eq!(r.tree.digest(), r.tree.recompute_digest(), "{name}");
            assert_eq!(
                r.tree.stats.digest_mismatches, 0,
                "{name}: first mismatch at {:?}",
                r.tree.stats.first_digest_mismatch
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} data dirs with expected trees"
    );
}

/// Every item of a snapshot stream as text, and the error that stopped it (if any).
fn stream_items(mut r: SnapshotReader<'_>) -> (Vec<String>, Option<String>) {
    let mut items = Vec::new();
    loop {
        match r.next_item() {
            Ok(Some(item)) => items.push(format!("{} {:?}", item.offset, item.value)),
            Ok(None) => return (items, None),
            Err(e) => return (items, Some(e.to_string())),
        }
    }
}

#[test]
fn decompressing_ahead_reads_every_real_snapshot_the_same() {
    let snapshots: Vec<PathBuf> = real_files()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snapshot.")
        })
        .collect();
    let compressed = snapshots
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gz" || e == "snappy"))
        .count();
    assert!(compressed >= 6, "{compressed} compressed snapshots");
    for p in &snapshots {
        let bytes = fs::read(p).unwrap();
        // Whole, and cut short (a truncated stream must fail at the same place either way).
        for len in [bytes.len(), bytes.len() * 3 / 4] {
            let data = &bytes[..len];
            let want = stream_items(SnapshotReader::open(data, Limits::default()).unwrap());
            let got = std::thread::scope(|s| {
                stream_items(SnapshotReader::open_ahead(s, data, Limits::default()).unwrap())
            });
            // (upstream's snapshot.83f is corrupt on purpose)
            if len == bytes.len() && !p.ends_with("snapshot.83f") {
                assert!(want.1.is_none() && !want.0.is_empty(), "{}", p.display());
            }
            assert_eq!(got, want, "{} cut to {len}", p.display());
        }
    }
}

/// `Snapshot::node_paths` (lengths and paths only) frames exactly the nodes the full parser
/// reads: the same paths on every real snapshot, and never more than the parser read before the
/// first error on every malformed one.
#[test]
fn node_paths_frame_the_nodes_the_parser_reads() {
    use zkformat::snapshot::Snapshot;
    let node_paths_of_items = |bytes: &[u8]| -> (Vec<Vec<u8>>, bool) {
        let mut paths = Vec::new();
        for item in Snapshot::new(bytes, Limits::default()).items() {
            match item {
                Ok(i) => {
                    if let SnapshotItem::Node(n) = i.value {
                        paths.push(n.path.to_vec());
                    }
                }
                Err(_) => return (paths, false),
            }
        }
        (paths, true)
    };
    let mut checked = 0;
    for f in real_files() {
        if !f
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("snapshot.")
        {
            continue;
        }
        let bytes = decompressed(&fs::read(&f).unwrap());
        let (expected, complete) = node_paths_of_items(&bytes);
        let fast: Vec<Vec<u8>> = Snapshot::new(&bytes, Limits::default())
            .node_paths()
            .map(<[u8]>::to_vec)
            .collect();
        if complete {
            assert_eq!(fast, expected, "{}", f.display());
            checked += 1;
        } else {
            // The upstream corrupt fixtures: a prefix of what the parser read.
            assert!(expected.starts_with(&fast), "{}", f.display());
        }
    }
    assert!(checked > 20, "{checked}");
    let mut malformed = 0;
    for e in fs::read_dir(testdata().join("malformed"))
        .unwrap()
        .flatten()
    {
        let bytes = fs::read(e.path()).unwrap();
        if FileKind::detect(&bytes) != FileKind::Snapshot {
            continue;
        }
        let (expected, _) = node_paths_of_items(&bytes);
        let fast: Vec<Vec<u8>> = Snapshot::new(&bytes, Limits::default())
            .node_paths()
            .map(<[u8]>::to_vec)
            .collect();
        assert!(
            expected.starts_with(&fast),
            "{}: {} fast, {} parsed",
            e.path().display(),
            fast.len(),
            expected.len()
        );
        malformed += 1;
    }
    assert!(malformed >= 8, "{malformed}");
}
