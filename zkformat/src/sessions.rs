//! What a restore would bring back from the dead, tracked cheaply while a snapshot and its logs
//! are read in order: the session table and every ephemeral node with its owner, without
//! building the tree. Parents of ephemerals are grouped with their recipe guess
//! ([`crate::recipe`]), as `zkdump sessions` and `zkfilter`'s report show them.

use std::collections::BTreeMap;

use crate::data::{parent_display, NodeKind};
use crate::recipe;
use crate::snapshot::SnapshotItem;
use crate::tree::DataTree;
use crate::txn::{Txn, TxnRecord};

/// Sessions and ephemerals after the items and txns seen so far.
#[derive(Debug, Clone, Default)]
pub struct SessionTracker {
    /// Session id → timeout (`None`: the session was not created in what was seen).
    pub sessions: BTreeMap<i64, Option<i32>>,
    /// Ephemeral path → owner session.
    pub ephemerals: BTreeMap<Vec<u8>, i64>,
}

/// Ephemerals under one parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralGroup {
    /// The parent path.
    pub parent: Vec<u8>,
    /// The recipe guess (`lock`, `election`, …).
    pub recipe: &'static str,
    /// How many ephemerals it holds.
    pub count: u64,
}

impl SessionTracker {
    /// The sessions and ephemeral nodes of a tree, e.g. a data dir replayed with
    /// [`crate::tree::replay_datadir`]: what restoring it would bring back. Same as tracking the
    /// snapshot and logs the tree was built from.
    pub fn from_tree(tree: &DataTree) -> SessionTracker {
        SessionTracker {
            sessions: tree
                .sessions
                .iter()
                .map(|(&id, &ms)| (id, Some(ms)))
                .collect(),
            ephemerals: tree
                .nodes()
                .filter_map(|(path, n)| match n.stat.kind() {
                    NodeKind::Ephemeral(owner) => Some((path.to_vec(), owner)),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Takes in a snapshot item (sessions and ephemeral nodes).
    pub fn see_item(&mut self, item: &SnapshotItem<'_>) {
        match item {
            SnapshotItem::Session(s) => {
                self.sessions.insert(s.id, Some(s.timeout));
            }
            SnapshotItem::Node(n) => {
                if let NodeKind::Ephemeral(owner) = n.stat.kind() {
                    self.ephemerals.insert(n.path.to_vec(), owner);
                }
            }
            _ => {}
        }
    }

    /// Applies a txn (multi sub-ops included; a failed multi changes nothing).
    pub fn see_txn(&mut self, rec: &TxnRecord<'_>) {
        let session = rec.header.session;
        self.apply(session, &rec.body);
    }

    fn apply(&mut self, session: i64, body: &Txn<'_>) {
        match body {
            Txn::CreateSession { timeout } => {
                self.sessions.insert(session, Some(*timeout));
            }
            Txn::CloseSession(_) => {
                self.sessions.remove(&session);
                self.ephemerals.retain(|_, owner| *owner != session);
            }
            Txn::Create(c) | Txn::Create2(c) if c.ephemeral.get() => {
                self.ephemerals.insert(c.path.to_vec(), session);
            }
            Txn::Delete { path } | Txn::DeleteContainer { path } => {
                self.ephemerals.remove(*path);
            }
            Txn::Multi(m) if !m.failed() => {
                for op in m.ops() {
                    if let Ok(t) = op.txn() {
                        self.apply(session, &t);
                    }
                }
            }
            _ => {}
        }
    }

    /// Ephemerals grouped by parent, most first, with the recipe guess.
    pub fn groups(&self) -> Vec<EphemeralGroup> {
        let mut by_parent: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
        for path in self.ephemerals.keys() {
            let parent = parent_display(path);
            let child = path.get(parent.len()..).unwrap_or(&[]);
            let child = child.strip_prefix(b"/").unwrap_or(child);
            by_parent.entry(parent).or_default().push(child);
        }
        let mut v: Vec<EphemeralGroup> = by_parent
            .into_iter()
            .map(|(parent, children)| EphemeralGroup {
                parent: parent.to_vec(),
                recipe: recipe::classify(parent, children.iter().copied()).name(),
                count: children.len() as u64,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.parent.cmp(&b.parent)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::snapshot::SnapshotReader;
    use crate::source::FileBytes;
    use crate::txnlog::TxnLog;
    use crate::Limits;

    /// On a real data dir, tracking the snapshot and logs gives the sessions and ephemerals of
    /// the full replay.
    #[test]
    fn agrees_with_the_replayed_tree() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/zk-3.8/recipes");
        let dd = DataDir::scan(&dir).unwrap();
        let replay = crate::tree::replay_datadir(&dd, None, Limits::default()).unwrap();
        let snap = replay.snapshot.clone().unwrap();
        let mut t = SessionTracker::default();
        let bytes = FileBytes::open(&snap).unwrap();
        let mut r = SnapshotReader::open(&bytes[..], Limits::default()).unwrap();
        while let Some(item) = r.next_item().unwrap() {
            t.see_item(&item.value);
        }
        for log in dd.logs_after(replay.snapshot_zxid) {
            let b = FileBytes::open(&log.path).unwrap();
            for e in TxnLog::parse(&b, Limits::default()).unwrap().entries() {
                let e = e.unwrap();
                if e.zxid() > replay.snapshot_zxid {
                    t.see_txn(&e.record().unwrap());
                }
            }
        }
        let want: BTreeMap<i64, Option<i32>> = replay
            .tree
            .sessions
            .iter()
            .map(|(k, v)| (*k, Some(*v)))
            .collect();
        assert_eq!(t.sessions, want);
        let mut eph = 0;
        for (id, _) in replay.tree.sessions.iter() {
            for p in replay.tree.ephemerals_of(*id) {
                assert_eq!(t.ephemerals.get(p), Some(id));
                eph += 1;
            }
        }
        assert_eq!(t.ephemerals.len(), eph);
        let groups = t.groups();
        assert!(groups.iter().any(|g| g.recipe == "lock"), "{groups:?}");
        assert_eq!(groups.iter().map(|g| g.count).sum::<u64>(), eph as u64);
        let of_tree = SessionTracker::from_tree(&replay.tree);
        assert_eq!(of_tree.sessions, t.sessions);
        assert_eq!(of_tree.ephemerals, t.ephemerals);
        assert_eq!(of_tree.groups(), groups);
    }
}
