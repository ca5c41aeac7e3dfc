//! `zkformat::version` on the real data dirs: every 3.4 data dir shows no mark of 3.5+, every
//! 3.8 one is placed at 3.5+ or later and every 3.9 one at 3.9+ (last-zxid sections); the logs
//! alone tell 3.4 from 3.6+ (TxnDigests, or closeSession bodies where digests are off).

use std::path::{Path, PathBuf};

use zkformat::datadir::DataDir;
use zkformat::version::{Marks, Writer};
use zkformat::Limits;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn scenarios(version: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata().join(format!("zk-{version}")))
        .expect("testdata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("version-2").is_dir())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no scenarios for {version}");
    v
}

fn marks(dir: &Path) -> (Marks, Marks) {
    let dd = DataDir::scan(dir).expect("scan");
    let mut logs = Marks::default();
    for l in &dd.logs {
        logs.merge(Marks::of_file(&l.path, Limits::default()));
    }
    (Marks::of_datadir(&dd, Limits::default()), logs)
}

#[test]
fn zookeeper_34_leaves_no_mark() {
    for d in scenarios("3.4") {
        let (all, logs) = marks(&d);
        assert_eq!(all.writer(), Writer::NoMarkOf35, "{}: {all:?}", d.display());
        assert_eq!(logs, Marks::default(), "{}", d.display());
    }
    // ZooKeeper's own fixtures (3.0–3.4 era layouts, V0 creates) too.
    let (all, _) = marks(&testdata().join("upstream/invalidsnap"));
    assert_eq!(all.writer(), Writer::NoMarkOf35, "{all:?}");
}

#[test]
fn zookeeper_38_and_39_are_recognised() {
    for d in scenarios("3.8") {
        let (all, logs) = marks(&d);
        assert!(
            all.writer() >= Writer::AtLeast35,
            "{}: {all:?}",
            d.display()
        );
        assert!(
            all.config_node,
            "{}: every 3.5+ tree has /zookeeper/config",
            d.display()
        );
        assert!(all.writer() < Writer::AtLeast39, "{}: {all:?}", d.display());
        // Logs alone: 3.6+ by their digests or (digest-off) closeSession bodies.
        assert_eq!(
            logs.writer(),
            Writer::AtLeast36,
            "{}: {logs:?}",
            d.display()
        );
    }
    for d in scenarios("3.9") {
        let (all, _) = marks(&d);
        assert_eq!(all.writer(), Writer::AtLeast39, "{}: {all:?}", d.display());
    }
}
