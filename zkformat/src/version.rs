//! Which ZooKeeper version wrote a data dir, judged from its files.
//!
//! ZooKeeper records no version in its files, but each release line leaves marks that older
//! releases cannot write:
//!
//! | mark | first written by |
//! |---|---|
//! | a snapshot's last-processed-zxid section | 3.9 (`serializeLastProcessedZxid.enabled`, default on) |
//! | a snapshot's digest section | 3.6 (`zookeeper.digest.enabled`, default on) |
//! | a log entry's `TxnDigest` | 3.6 (same flag) |
//! | a `closeSession` entry with a body (its `paths2Delete`) | 3.6 (`closeSessionTxn.enabled`, default on) |
//! | a `create2`, `createContainer`, `deleteContainer`, `createTTL` or `reconfig` txn (also in a `multi`) | 3.5 |
//! | a snapshot tree holding `/zookeeper/config` | 3.5 (every 3.5+ tree has it) |
//!
//! Files with none of these marks have the layout ZooKeeper 3.4 writes. The rule is
//! conservative in what it claims: 3.5 writes the same records when no 3.5 feature was used,
//! and 3.6+ does too with digests and closeSession bodies turned off, so such files are
//! [`Writer::NoMarkOf35`] — "3.4, or a later version that left no mark" — never "3.4" for sure.
//! A single mark is enough to place the writer at 3.5+, 3.6+ or 3.9+.
//!
//! What a tool can do with it: judge a data dir by the version that wrote it. A rule that
//! ZooKeeper added later (3.5.3+ refuses to start on logs without a snapshot, which is the
//! normal state of a 3.4 data dir before its first snapshot) is then a warning about what a
//! newer server would do for [`Writer::NoMarkOf35`] files, and a defect for files a 3.5+ server
//! wrote (a 3.5.3+ server writes `snapshot.0` before its first log).
//!
//! ```
//! use zkformat::version::{Marks, Writer};
//!
//! let mut m = Marks::default();
//! assert_eq!(m.writer(), Writer::NoMarkOf35);
//! m.see_node_path(b"/zookeeper/config");
//! assert_eq!(m.writer(), Writer::AtLeast35);
//! assert_eq!(m.describe(), "a /zookeeper/config node (3.5+)");
//! ```

use std::path::Path;

use crate::datadir::DataDir;
use crate::snapshot::{SnapshotItem, SnapshotReader, Tail};
use crate::source::FileBytes;
use crate::txn::{op, Txn};
use crate::txnlog::{TxnEntry, TxnLog};
use crate::Limits;

/// The oldest ZooKeeper release line that could have written some files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Writer {
    /// No mark of 3.5 or later: the layout ZooKeeper 3.4 writes (3.5+ writes it too when none
    /// of its features was used and, for 3.6+, digests and closeSession bodies were off).
    NoMarkOf35,
    /// ZooKeeper 3.5 or later.
    AtLeast35,
    /// ZooKeeper 3.6 or later.
    AtLeast36,
    /// ZooKeeper 3.9 or later.
    AtLeast39,
}

impl Writer {
    /// `"3.4 (or a later version that left no mark)"`, `"3.5+"`, `"3.6+"`, `"3.9+"`.
    pub fn describe(self) -> &'static str {
        match self {
            Writer::NoMarkOf35 => "3.4 (or a later version that left no mark)",
            Writer::AtLeast35 => "3.5+",
            Writer::AtLeast36 => "3.6+",
            Writer::AtLeast39 => "3.9+",
        }
    }
}

/// The version marks seen in some files (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Marks {
    /// A snapshot with a last-processed-zxid section (3.9+).
    pub last_zxid_section: bool,
    /// A snapshot with a digest section (3.6+).
    pub digest_section: bool,
    /// A log entry carrying a `TxnDigest` (3.6+).
    pub txn_digests: bool,
    /// A `closeSession` entry with a body (3.6+).
    pub close_session_bodies: bool,
    /// The first op seen that only 3.5+ writes (`create2`, `createContainer`, `deleteContainer`,
    /// `createTTL`, `reconfig`), at the top level or in a `multi`.
    pub op_of_35: Option<i32>,
    /// A snapshot tree holding `/zookeeper/config` (3.5+).
    pub config_node: bool,
}

/// Is `code` an op that only ZooKeeper 3.5+ logs?
pub fn is_op_of_35(code: i32) -> bool {
    matches!(
        code,
        op::CREATE2 | op::CREATE_CONTAINER | op::DELETE_CONTAINER | op::CREATE_TTL | op::RECONFIG
    )
}

impl Marks {
    /// Notes what one log entry shows. An entry whose payload does not decode adds nothing.
    pub fn see_entry(&mut self, e: &TxnEntry<'_>) {
        let code = e.header().op;
        if is_op_of_35(code) {
            self.op_of_35.get_or_insert(code);
        }
        match code {
            op::CLOSE_SESSION | op::MULTI => {
                let Ok(rec) = e.record() else { return };
                self.txn_digests |= rec.digest.is_some();
                match rec.body {
                    Txn::CloseSession(body) => self.close_session_bodies |= body.is_some(),
                    Txn::Multi(m) => {
                        if let Some(sub) = m.ops().map(|o| o.op).find(|&c| is_op_of_35(c)) {
                            self.op_of_35.get_or_insert(sub);
                        }
                    }
                    _ => {}
                }
            }
            _ if !self.txn_digests => self.txn_digests = e.check_record().unwrap_or(false),
            _ => {}
        }
    }

    /// Notes a snapshot's tail sections.
    pub fn see_snapshot_tail(&mut self, tail: Tail) {
        self.digest_section |= tail.digest;
        self.last_zxid_section |= tail.last_zxid;
    }

    /// Notes a snapshot node's path (`/zookeeper/config` is a 3.5+ mark).
    pub fn see_node_path(&mut self, path: &[u8]) {
        self.config_node |= path == b"/zookeeper/config";
    }

    /// Adds the marks of `other`.
    pub fn merge(&mut self, other: Marks) {
        self.last_zxid_section |= other.last_zxid_section;
        self.digest_section |= other.digest_section;
        self.txn_digests |= other.txn_digests;
        self.close_session_bodies |= other.close_session_bodies;
        if self.op_of_35.is_none() {
            self.op_of_35 = other.op_of_35;
        }
        self.config_node |= other.config_node;
    }

    /// The oldest release line that writes every mark seen.
    pub fn writer(&self) -> Writer {
        if self.last_zxid_section {
            Writer::AtLeast39
        } else if self.digest_section || self.txn_digests || self.close_session_bodies {
            Writer::AtLeast36
        } else if self.op_of_35.is_some() || self.config_node {
            Writer::AtLeast35
        } else {
            Writer::NoMarkOf35
        }
    }

    /// The marks seen, for people: `"TxnDigests (3.6+), a create2 txn (3.5+)"`, or `"no mark of
    /// ZooKeeper 3.5 or later"`.
    pub fn describe(&self) -> String {
        let mut v: Vec<String> = Vec::new();
        if self.last_zxid_section {
            v.push("a snapshot last-zxid section (3.9+)".into());
        }
        if self.digest_section {
            v.push("a snapshot digest section (3.6+)".into());
        }
        if self.txn_digests {
            v.push("TxnDigests (3.6+)".into());
        }
        if self.close_session_bodies {
            v.push("closeSession path lists (3.6+)".into());
        }
        if let Some(c) = self.op_of_35 {
            v.push(format!("a {} txn (3.5+)", crate::txn::op_name(c)));
        }
        if self.config_node {
            v.push("a /zookeeper/config node (3.5+)".into());
        }
        if v.is_empty() {
            "no mark of ZooKeeper 3.5 or later".into()
        } else {
            v.join(", ")
        }
    }

    /// The marks of one txn log held in memory. Reading stops quietly at damage (checksum
    /// errors are read through): what was seen before it counts.
    pub fn of_log(bytes: &[u8], limits: Limits) -> Marks {
        let mut m = Marks::default();
        let Ok(log) = TxnLog::parse(bytes, limits) else {
            return m;
        };
        let mut entries = log.entries_lenient();
        while let Ok(Some(e)) = entries.next_entry() {
            m.see_entry(&e);
            if m.txn_digests && m.close_session_bodies && m.op_of_35.is_some() {
                break;
            }
        }
        m
    }

    /// The marks of one snapshot held in memory (plain, gzip or snappy): its tail sections and
    /// `/zookeeper/config`. A snapshot that cannot be read to its end gives its tree's marks only.
    pub fn of_snapshot(bytes: &[u8], limits: Limits) -> Marks {
        let mut m = Marks::default();
        let Ok(mut r) = SnapshotReader::open(bytes, limits) else {
            return m;
        };
        r.skip_checks();
        loop {
            match r.next_item() {
                Ok(Some(item)) => {
                    if let SnapshotItem::Node(n) = item.value {
                        m.see_node_path(n.path);
                    }
                }
                Ok(None) => {
                    m.see_snapshot_tail(r.summary().tail);
                    break;
                }
                Err(_) => break,
            }
        }
        m
    }

    /// The marks of a file on disk, log or snapshot (by its content). Unreadable files give none.
    pub fn of_file(path: &Path, limits: Limits) -> Marks {
        let Ok(bytes) = FileBytes::open(path) else {
            return Marks::default();
        };
        match crate::kind::FileKind::detect(&bytes) {
            crate::kind::FileKind::TxnLog => Marks::of_log(&bytes, limits),
            crate::kind::FileKind::Unknown => Marks::default(),
            _ => Marks::of_snapshot(&bytes, limits),
        }
    }

    /// The marks of a data dir's logs and of the snapshot ZooKeeper would try first (the newest
    /// that passes the cheap validity check).
    pub fn of_datadir(dir: &DataDir, limits: Limits) -> Marks {
        let mut m = Marks::default();
        if let Some(s) = dir.snapshot_candidates().first() {
            m.merge(Marks::of_file(&s.path, limits));
        }
        for l in &dir.logs {
            m.merge(Marks::of_file(&l.path, limits));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute;
    use crate::txn::{TxnHeader, TxnRecord};
    use crate::txnlog::TxnLogWriter;
    use crate::Zxid;

    fn log_of(records: &[(i32, Vec<u8>, bool)]) -> Vec<u8> {
        let mut w = TxnLogWriter::new(Vec::new()).unwrap();
        for (i, (code, body, digest)) in records.iter().enumerate() {
            let mut p = Vec::new();
            TxnHeader {
                session: 1,
                cxid: 0,
                zxid: Zxid(i as i64 + 1),
                time: 0,
                op: *code,
            }
            .encode(&mut p);
            p.extend_from_slice(body);
            if *digest {
                jute::put_i32(&mut p, 2);
                jute::put_i64(&mut p, 7);
            }
            // Round trip through the decoder so the payload is known to be well formed.
            let rec = TxnRecord::decode(&p, 0, Limits::default()).unwrap();
            w.append_record(&rec).unwrap();
        }
        w.finish().unwrap()
    }

    fn session_body() -> Vec<u8> {
        let mut b = Vec::new();
        jute::put_i32(&mut b, 30_000);
        b
    }

    #[test]
    fn a_34_layout_has_no_mark() {
        let log = log_of(&[
            (op::CREATE_SESSION, session_body(), false),
            (op::CLOSE_SESSION, Vec::new(), false),
        ]);
        let m = Marks::of_log(&log, Limits::default());
        assert_eq!(m, Marks::default());
        assert_eq!(m.writer(), Writer::NoMarkOf35);
        assert_eq!(m.describe(), "no mark of ZooKeeper 3.5 or later");
    }

    #[test]
    fn digests_and_close_bodies_mean_36() {
        let log = log_of(&[(op::CREATE_SESSION, session_body(), true)]);
        let m = Marks::of_log(&log, Limits::default());
        assert!(m.txn_digests);
        assert_eq!(m.writer(), Writer::AtLeast36);
        let mut body = Vec::new();
        jute::put_i32(&mut body, 0); // an empty paths2Delete
        let log = log_of(&[(op::CLOSE_SESSION, body, false)]);
        let m = Marks::of_log(&log, Limits::default());
        assert!(m.close_session_bodies && !m.txn_digests);
        assert_eq!(m.writer(), Writer::AtLeast36);
        assert_eq!(m.describe(), "closeSession path lists (3.6+)");
    }

    #[test]
    fn snapshot_tails_and_ops() {
        let mut m = Marks {
            op_of_35: Some(op::CREATE2),
            ..Marks::default()
        };
        assert_eq!(m.writer(), Writer::AtLeast35);
        assert_eq!(m.describe(), "a create2 txn (3.5+)");
        m.see_snapshot_tail(Tail::DIGEST);
        assert_eq!(m.writer(), Writer::AtLeast36);
        let mut n = Marks::default();
        n.see_snapshot_tail(Tail::DIGEST_AND_LAST_ZXID);
        m.merge(n);
        assert_eq!(m.writer(), Writer::AtLeast39);
        assert!(Writer::NoMarkOf35 < Writer::AtLeast35);
    }
}
