//! Scans files given on the command line and prints what they contain (development aid).
use zkformat::{kind::FileKind, snapshot::SnapshotReader, txnlog::TxnLog, Limits};

fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).unwrap_or_default();
        match FileKind::detect(&data) {
            FileKind::TxnLog => {
                let log = TxnLog::parse(&data, Limits::default()).map_err(|e| e.to_string());
                let Ok(log) = log else {
                    println!("{path}: {log:?}");
                    continue;
                };
                let mut it = log.entries();
                let (mut n, mut bad) = (0, None);
                for e in it.by_ref() {
                    match e.and_then(|e| e.record().map(|_| ())) {
                        Ok(()) => n += 1,
                        Err(e) => {
                            bad = Some(e.to_string());
                            break;
                        }
                    }
                }
                println!("{path}: log entries={n} end={:?} err={bad:?}", it.end());
            }
            _ => {
                let r = SnapshotReader::open(&data[..], Limits::default()).and_then(|r| r.check());
                println!("{path}: snapshot {r:?}");
            }
        }
    }
}
