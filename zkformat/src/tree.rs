//! An in-memory ZooKeeper data tree: load a snapshot, replay txns with ZooKeeper's rules, write
//! a snapshot back.
//!
//! Replay follows `DataTree.processTxn` and `FileTxnSnapLog.processTransaction` (3.5+ rules,
//! which the restore-facts say to use for 3.4 data too): a parent's cversion and pzxid only move
//! forward; a type-1 create that meets an existing node raises the parent's cversion; errors
//! (no node, node exists) are counted and ignored; a failed multi changes nothing; closeSession
//! deletes the session's ephemerals.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compression::Compression;
use crate::data::{Acl, AclList, NodeKind, Stat, CONTAINER_OWNER};
use crate::datadir::DataDir;
use crate::digest::{node_digest, TreeDigest};
use crate::error::{Error, ErrorKind, Result};
use crate::kind::FileHeader;
use crate::limits::Limits;
use crate::snapshot::{
    Node, Session, SnapshotItem, SnapshotReader, SnapshotSummary, SnapshotWriter, Tail,
};
use crate::source::FileBytes;
use crate::txn::{op, CreateTxn, Txn, TxnRecord};
use crate::txnlog::{LogEnd, LogReader, TxnEntry};
use crate::zxid::{Continuity, Step, Zxid, ZxidGap};

mod logs;

/// An ACL owned by the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnedAcl {
    /// Permission bits.
    pub perms: i32,
    /// Scheme.
    pub scheme: Vec<u8>,
    /// Id.
    pub id: Vec<u8>,
}

impl OwnedAcl {
    fn from_acl(a: &Acl<'_>) -> OwnedAcl {
        OwnedAcl {
            perms: a.perms,
            scheme: a.scheme.to_vec(),
            id: a.id.to_vec(),
        }
    }

    /// Borrowed view.
    pub fn as_acl(&self) -> Acl<'_> {
        Acl {
            perms: self.perms,
            scheme: &self.scheme,
            id: &self.id,
        }
    }
}

/// ZooKeeper's `ReferenceCountedACLCache`: ACL lists by key, keys by list.
#[derive(Debug, Clone, Default)]
pub struct AclCache {
    by_key: BTreeMap<i64, Vec<OwnedAcl>>,
    by_list: HashMap<Vec<OwnedAcl>, i64>,
    max_key: i64,
}

impl AclCache {
    /// Adds an entry read from a snapshot (its key is kept).
    pub fn insert(&mut self, key: i64, acls: Vec<OwnedAcl>) {
        self.max_key = self.max_key.max(key);
        self.by_list.entry(acls.clone()).or_insert(key);
        self.by_key.insert(key, acls);
    }

    /// The key for a list, allocating the next key for a new list (`convertAcls`); a null list
    /// is -1.
    pub fn key_for(&mut self, list: &AclList<'_>) -> i64 {
        if list.is_null() {
            return -1;
        }
        let acls: Vec<OwnedAcl> = list.iter().map(|a| OwnedAcl::from_acl(&a)).collect();
        if let Some(&k) = self.by_list.get(&acls) {
            return k;
        }
        self.max_key += 1;
        let k = self.max_key;
        self.by_list.insert(acls.clone(), k);
        self.by_key.insert(k, acls);
        k
    }

    /// The list for a key (`None` for -1, meaning world:anyone ALL, or an unknown key).
    pub fn get(&self, key: i64) -> Option<&[OwnedAcl]> {
        self.by_key.get(&key).map(Vec::as_slice)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &[OwnedAcl])> {
        self.by_key.iter().map(|(k, v)| (*k, v.as_slice()))
    }
}

/// A node owned by the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// Data (`None` = null).
    pub data: Option<Vec<u8>>,
    /// ACL cache key.
    pub acl_key: i64,
    /// Persisted stat.
    pub stat: Stat,
}

/// Counts of what happened during a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyStats {
    /// Txns applied (entries; a multi counts once).
    pub txns: u64,
    /// Ops that failed as ZooKeeper's would during restore (no node, node exists, …) and were
    /// ignored.
    pub ignored_errors: u64,
    /// TxnDigests compared with the tree.
    pub digests_checked: u64,
    /// TxnDigests that did not match.
    pub digest_mismatches: u64,
    /// First zxid whose TxnDigest did not match.
    pub first_digest_mismatch: Option<Zxid>,
}

/// ZooKeeper's data tree, in memory.
#[derive(Debug, Clone, Default)]
pub struct DataTree {
    // foldhash (seeded per process), not std's SipHash: hashing every path of a 1 M-node
    // snapshot with SipHash took 10% of `zkfilter datadir`'s time.
    nodes: foldhash::HashMap<Vec<u8>, TreeNode>,
    ephemerals: foldhash::HashMap<i64, BTreeMap<Vec<u8>, ()>>,
    /// The ACL cache.
    pub acls: AclCache,
    /// Open sessions and their timeouts.
    pub sessions: BTreeMap<i64, i32>,
    digest: TreeDigest,
    /// Last zxid applied (or the snapshot's name zxid).
    pub last_zxid: Zxid,
    /// What happened while applying txns.
    pub stats: ApplyStats,
    /// Compare TxnDigests with the tree after each txn (set once the tree is known to be exact).
    pub check_digests: bool,
}

fn parent_of(path: &[u8]) -> Option<&[u8]> {
    path.iter()
        .rposition(|&b| b == b'/')
        .map(|i| path.get(..i).unwrap_or(b""))
}

/// A snapshot loaded into a tree, with what the read learned about the file.
pub(crate) struct LoadedSnapshot {
    tree: DataTree,
    summary: SnapshotSummary,
    header: Option<FileHeader>,
    compression: Compression,
}

/// Node records handed from the snapshot parser to the inserting thread at a time.
const LOAD_BATCH: usize = 4096;

/// A node record parsed, copied and digested, ready to insert.
struct LoadedNode {
    path: Vec<u8>,
    node: TreeNode,
    digest: u64,
    offset: u64,
}

/// What the snapshot parser keeps itself while nodes go to the inserting thread.
#[derive(Default)]
struct SnapshotRead {
    header: Option<FileHeader>,
    sessions: BTreeMap<i64, i32>,
    acls: AclCache,
}

/// Reads a snapshot's items: the header, sessions and ACL entries into `read`, each node (copied
/// and digested) to `node`, which returns `false` to stop early. `file`, the mapped file the
/// reader reads uncompressed, is released behind the parser every [`RELEASE_STEP`] bytes.
fn parse_snapshot_items(
    reader: &mut SnapshotReader<'_>,
    read: &mut SnapshotRead,
    file: Option<&FileBytes>,
    mut node: impl FnMut(LoadedNode) -> bool,
) -> Result<()> {
    let mut next_release = RELEASE_STEP;
    loop {
        let (tree_node, path, offset) = {
            let Some(item) = reader.next_item()? else {
                return Ok(());
            };
            match item.value {
                SnapshotItem::Header(h) => {
                    read.header = Some(h);
                    continue;
                }
                SnapshotItem::Session(s) => {
                    read.sessions.insert(s.id, s.timeout);
                    continue;
                }
                SnapshotItem::AclEntry(e) => {
                    read.acls.insert(
                        e.key,
                        e.acls.iter().map(|a| OwnedAcl::from_acl(&a)).collect(),
                    );
                    continue;
                }
                SnapshotItem::Node(n) => {
                    let path = if n.path == b"/" {
                        Vec::new()
                    } else {
                        n.path.to_vec()
                    };
                    let tree_node = TreeNode {
                        data: n.data.map(<[u8]>::to_vec),
                        acl_key: n.acl_key,
                        stat: n.stat,
                    };
                    (tree_node, path, item.offset)
                }
                _ => continue,
            }
        };
        if let Some(f) = file.filter(|_| offset >= next_release) {
            f.release_before(usize::try_from(offset).unwrap_or(usize::MAX));
            next_release = offset.saturating_add(RELEASE_STEP);
        }
        // The parser digested the node while checking; the same CRC is not taken twice.
        let digest = reader
            .last_node_digest()
            .unwrap_or_else(|| node_digest(&path, tree_node.data.as_deref(), &tree_node.stat));
        if !node(LoadedNode {
            path,
            node: tree_node,
            digest,
            offset,
        }) {
            return Ok(());
        }
    }
}

/// Inserts loaded nodes into a tree, checking that each node's parent came first, and sizes
/// the node map from the share of the snapshot read so far.
struct NodeLoader {
    tree: DataTree,
    snapshot_len: Option<u64>,
    sized: bool,
}

impl NodeLoader {
    fn new(snapshot_len: Option<u64>) -> NodeLoader {
        NodeLoader {
            tree: DataTree::default(),
            snapshot_len,
            sized: false,
        }
    }

    fn insert(&mut self, n: LoadedNode) -> Result<()> {
        if !n.path.is_empty() {
            let parent = parent_of(&n.path).unwrap_or(b"");
            if !self.tree.nodes.contains_key(parent) {
                return Err(Error::new(ErrorKind::MissingParent, n.offset));
            }
        }
        let count = self.tree.nodes.len() as u64;
        if !self.sized && count >= SIZE_AFTER_NODES {
            self.sized = true;
            // Nodes so far over bytes so far, times the whole length; an overestimate
            // costs memory, an underestimate only the usual doubling from there.
            if let Some(len) = self.snapshot_len.filter(|_| n.offset > 0) {
                let estimate = count.saturating_mul(len) / n.offset;
                let more = estimate.saturating_sub(count).min(MAX_NODE_RESERVE);
                self.tree.nodes.reserve(usize::try_from(more).unwrap_or(0));
            }
        }
        self.tree.put_digested(n.path, n.node, n.digest);
        Ok(())
    }
}

/// How far the snapshot parser goes between two releases of the file behind it.
#[cfg(not(test))]
const RELEASE_STEP: u64 = 16 << 20;
/// Small in tests, so that test snapshots of a few MiB are released many times.
#[cfg(test)]
const RELEASE_STEP: u64 = 1 << 20;

/// Nodes read before the node map is sized from the snapshot's length.
const SIZE_AFTER_NODES: u64 = 65_536;
/// The most nodes the map is sized for ahead, whatever the start of the file suggests.
const MAX_NODE_RESERVE: u64 = 1 << 26;

impl DataTree {
    /// The tree ZooKeeper starts with: the root, `/zookeeper` and `/zookeeper/quota`.
    pub fn empty() -> DataTree {
        let mut t = DataTree::default();
        for p in [&b""[..], b"/zookeeper", b"/zookeeper/quota"] {
            t.put(
                p.to_vec(),
                TreeNode {
                    data: Some(Vec::new()),
                    acl_key: -1,
                    stat: Stat::default(),
                },
            );
        }
        t
    }

    fn put(&mut self, path: Vec<u8>, node: TreeNode) {
        let d = node_digest(&path, node.data.as_deref(), &node.stat);
        self.put_digested(path, node, d);
    }

    /// [`DataTree::put`] with the node's digest already computed (by the snapshot loader's
    /// parsing thread).
    fn put_digested(&mut self, path: Vec<u8>, node: TreeNode, digest: u64) {
        self.digest.0 = self.digest.0.wrapping_add(digest);
        let ephemeral = match node.stat.kind() {
            NodeKind::Ephemeral(owner) => Some((owner, path.clone())),
            _ => None,
        };
        match self.nodes.entry(path) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(node);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let old = o.insert(node);
                let path = o.key();
                self.digest.remove(path, old.data.as_deref(), &old.stat);
                if let NodeKind::Ephemeral(owner) = old.stat.kind() {
                    if let Some(set) = self.ephemerals.get_mut(&owner) {
                        set.remove(path);
                    }
                }
            }
        }
        // After the replaced node's entry is gone: the same path may be ephemeral again.
        if let Some((owner, path)) = ephemeral {
            self.ephemerals.entry(owner).or_default().insert(path, ());
        }
    }

    fn take(&mut self, path: &[u8]) -> Option<TreeNode> {
        let node = self.nodes.remove(path)?;
        self.digest.remove(path, node.data.as_deref(), &node.stat);
        if let NodeKind::Ephemeral(o) = node.stat.kind() {
            if let Some(set) = self.ephemerals.get_mut(&o) {
                set.remove(path);
                if set.is_empty() {
                    self.ephemerals.remove(&o);
                }
            }
        }
        Some(node)
    }

    /// Changes a node in place, keeping the digest up to date.
    fn modify(&mut self, path: &[u8], f: impl FnOnce(&mut TreeNode)) -> bool {
        let Some(node) = self.nodes.get_mut(path) else {
            return false;
        };
        self.digest.remove(path, node.data.as_deref(), &node.stat);
        f(node);
        self.digest.add(path, node.data.as_deref(), &node.stat);
        true
    }

    /// Loads a snapshot stream (any compression).
    ///
    /// On a machine with more than one core the node records are parsed, copied and digested on
    /// this thread while a second one inserts them into the tree: both halves cost about the
    /// same, and a 1 M-node snapshot loads in about half the time. The result and the first
    /// error (by offset) are the same either way.
    ///
    /// # Errors
    /// The first problem in the snapshot.
    pub fn from_snapshot(
        reader: SnapshotReader<'_>,
        name_zxid: Zxid,
    ) -> Result<(DataTree, SnapshotSummary)> {
        DataTree::load_snapshot(reader, name_zxid, None, None).map(|l| (l.tree, l.summary))
    }

    /// [`DataTree::from_snapshot`] knowing the length of the uncompressed snapshot, from which
    /// the number of nodes is estimated once a part is read, so the node map is sized once
    /// instead of doubling twenty times.
    /// `file`, when given, is the mapped file `reader` reads: its pages are released behind the
    /// parser when the snapshot is not compressed.
    pub(crate) fn load_snapshot(
        reader: SnapshotReader<'_>,
        name_zxid: Zxid,
        snapshot_len: Option<u64>,
        file: Option<&FileBytes>,
    ) -> Result<LoadedSnapshot> {
        let parallel = std::thread::available_parallelism().map_or(1, usize::from) > 1;
        DataTree::load_snapshot_on(reader, name_zxid, snapshot_len, file, parallel)
    }

    /// [`DataTree::load_snapshot`] on one thread or two.
    fn load_snapshot_on(
        mut reader: SnapshotReader<'_>,
        name_zxid: Zxid,
        snapshot_len: Option<u64>,
        file: Option<&FileBytes>,
        parallel: bool,
    ) -> Result<LoadedSnapshot> {
        let uncompressed = reader.compression() == Compression::None;
        let snapshot_len = snapshot_len.filter(|_| uncompressed);
        let file = file.filter(|_| uncompressed);
        let mut read = SnapshotRead::default();
        let mut tree = if parallel {
            std::thread::scope(|s| -> Result<DataTree> {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<LoadedNode>>(8);
                // Emptied batches go back to the parser: allocating a fresh one each time costs
                // page faults (and, with an allocator that returns them at once, system calls).
                let (give_back, taken_back) = std::sync::mpsc::sync_channel::<Vec<LoadedNode>>(8);
                let inserter = s.spawn(move || -> Result<DataTree> {
                    let mut loader = NodeLoader::new(snapshot_len);
                    for mut batch in rx {
                        for n in batch.drain(..) {
                            loader.insert(n)?;
                        }
                        // A full return queue, or a parser that is done: the batch is freed.
                        let _ = give_back.try_send(batch);
                    }
                    Ok(loader.tree)
                });
                let mut batch = Vec::with_capacity(LOAD_BATCH);
                let parsed = parse_snapshot_items(&mut reader, &mut read, file, |n| {
                    batch.push(n);
                    if batch.len() == LOAD_BATCH {
                        let empty = taken_back
                            .try_recv()
                            .unwrap_or_else(|_| Vec::with_capacity(LOAD_BATCH));
                        let full = std::mem::replace(&mut batch, empty);
                        // A closed channel means the inserter stopped at an error, which comes
                        // before anything parsed since: stop reading.
                        return tx.send(full).is_ok();
                    }
                    true
                });
                if !batch.is_empty() {
                    // Ignored like above: the inserter's error is the one to report.
                    let _ = tx.send(batch);
                }
                drop(tx);
                let inserted = inserter
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                // The inserter's error is at an earlier offset than any error the parser met.
                let tree = inserted?;
                parsed?;
                Ok(tree)
            })?
        } else {
            let mut loader = NodeLoader::new(snapshot_len);
            let mut failed = None;
            parse_snapshot_items(&mut reader, &mut read, file, |n| match loader.insert(n) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            loader.tree
        };
        tree.sessions = read.sessions;
        tree.acls = read.acls;
        tree.last_zxid = name_zxid;
        Ok(LoadedSnapshot {
            tree,
            summary: reader.summary(),
            header: read.header,
            compression: reader.compression(),
        })
    }

    /// Frees the tree on a helper thread and returns at once: freeing a million nodes takes a
    /// good part of a second, which a command that exits next need not wait for (a process
    /// that exits does not wait for the thread). Freed here if no thread can be started.
    pub fn free_in_background(self) {
        let _ = std::thread::Builder::new()
            .name("free-tree".into())
            .spawn(move || drop(self));
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the tree has no node at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node by path (`""` or `"/"` for the root).
    pub fn get(&self, path: &[u8]) -> Option<&TreeNode> {
        let path = if path == b"/" { &b""[..] } else { path };
        self.nodes.get(path)
    }

    /// The tree digest (kept up to date on every change).
    pub fn digest(&self) -> TreeDigest {
        self.digest
    }

    /// Paths in sorted order (every parent before its children).
    pub fn sorted_paths(&self) -> Vec<&[u8]> {
        use rayon::slice::ParallelSliceMut;
        let mut v: Vec<&[u8]> = self.nodes.keys().map(Vec::as_slice).collect();
        v.par_sort_unstable();
        v
    }

    /// Every node with its path, in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = (&[u8], &TreeNode)> {
        self.nodes.iter().map(|(p, n)| (p.as_slice(), n))
    }

    /// Every node with its path, in path order (every parent before its children): one sort,
    /// and no lookup of each path afterwards (on a 1 M-node tree, a lookup is a cache miss or
    /// two).
    pub fn sorted_nodes(&self) -> Vec<(&[u8], &TreeNode)> {
        use rayon::slice::ParallelSliceMut;
        let mut v: Vec<(&[u8], &TreeNode)> = self.nodes().collect();
        v.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Number of children of each node that has any.
    pub fn child_counts(&self) -> HashMap<&[u8], u32> {
        let mut m: HashMap<&[u8], u32> = HashMap::new();
        for p in self.nodes.keys() {
            if let Some(parent) = parent_of(p) {
                *m.entry(parent).or_default() += 1;
            }
        }
        m
    }

    /// Ephemeral paths owned by `session`.
    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &[u8]> {
        self.ephemerals
            .get(&session)
            .into_iter()
            .flat_map(|m| m.keys().map(Vec::as_slice))
    }

    /// Removes a node and returns it (no parent stat changes: used by filters, which must keep
    /// parents' cversion and pzxid).
    pub fn remove_node(&mut self, path: &[u8]) -> Option<TreeNode> {
        self.take(path)
    }

    /// Applies one txn record as ZooKeeper does during restore.
    pub fn apply(&mut self, rec: &TxnRecord<'_>) {
        let h = rec.header;
        self.stats.txns += 1;
        match &rec.body {
            Txn::CreateSession { timeout } => {
                self.sessions.insert(h.session, *timeout);
            }
            Txn::CloseSession(paths) => {
                self.sessions.remove(&h.session);
                let mut doomed: Vec<Vec<u8>> =
                    self.ephemerals_of(h.session).map(<[u8]>::to_vec).collect();
                if let Some(p) = paths {
                    for path in p.iter() {
                        if !doomed.iter().any(|d| d == path) {
                            doomed.push(path.to_vec());
                        }
                    }
                }
                for p in doomed {
                    if !self.delete(&p, h.zxid) {
                        self.stats.ignored_errors += 1;
                    }
                }
            }
            Txn::Multi(m) => {
                if !m.failed() {
                    for sub in m.ops() {
                        if let Ok(t) = sub.txn() {
                            self.apply_op(h.session, h.zxid, h.time, &t);
                        }
                    }
                }
            }
            other => self.apply_op(h.session, h.zxid, h.time, other),
        }
        if h.zxid > self.last_zxid {
            self.last_zxid = h.zxid;
        }
        if let (true, Some(d)) = (self.check_digests, rec.digest) {
            self.stats.digests_checked += 1;
            if d.tree_digest != self.digest.value() {
                self.stats.digest_mismatches += 1;
                self.stats.first_digest_mismatch.get_or_insert(h.zxid);
            }
        }
    }

    fn apply_op(&mut self, session: i64, zxid: Zxid, time: i64, t: &Txn<'_>) {
        let ok = match t {
            Txn::Create(c) | Txn::Create2(c) => {
                let owner = if c.ephemeral.get() { session } else { 0 };
                let ok = self.create(
                    c.path,
                    c.data,
                    &c.acl,
                    owner,
                    c.parent_cversion.unwrap_or(-1),
                    zxid,
                    time,
                );
                if !ok && t.op() == op::CREATE {
                    self.raise_parent_cversion(c, zxid);
                }
                ok
            }
            Txn::CreateContainer(c) => self.create(
                c.path,
                c.data,
                &c.acl,
                CONTAINER_OWNER,
                c.parent_cversion,
                zxid,
                time,
            ),
            Txn::CreateTtl(c) => self.create(
                c.path,
                c.data,
                &c.acl,
                NodeKind::ttl_owner(c.ttl.unwrap_or(0)),
                c.parent_cversion,
                zxid,
                time,
            ),
            Txn::Delete { path } | Txn::DeleteContainer { path } => self.delete(path, zxid),
            Txn::SetData(s) | Txn::Reconfig(s) => self.modify(s.path, |n| {
                n.data = s.data.map(<[u8]>::to_vec);
                n.stat.mtime = time;
                n.stat.mzxid = zxid.0;
                n.stat.version = s.version;
            }),
            Txn::SetAcl(s) => {
                let key = self.acls.key_for(&s.acl);
                self.modify(s.path, |n| {
                    n.stat.aversion = s.version;
                    n.acl_key = key;
                })
            }
            Txn::Check { .. }
            | Txn::Error { .. }
            | Txn::CreateSession { .. }
            | Txn::CloseSession(_)
            | Txn::Multi(_) => true,
        };
        if !ok {
            self.stats.ignored_errors += 1;
        }
    }

    /// `DataTree.setCversionPzxid` for a type-1 create that met an existing node.
    fn raise_parent_cversion(&mut self, c: &CreateTxn<'_>, zxid: Zxid) {
        let Some(parent) = parent_of(c.path) else {
            return;
        };
        let parent = parent.to_vec();
        self.modify(&parent, |p| {
            let new = match c.parent_cversion {
                None | Some(-1) => p.stat.cversion.wrapping_add(1),
                Some(v) => v,
            };
            if new > p.stat.cversion {
                p.stat.cversion = new;
                p.stat.pzxid = zxid.0;
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &[u8],
        data: Option<&[u8]>,
        acl: &AclList<'_>,
        owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
    ) -> bool {
        let Some(parent) = parent_of(path) else {
            return false;
        };
        if !self.nodes.contains_key(parent) {
            return false;
        }
        let key = self.acls.key_for(acl);
        if let Some(existing) = self.nodes.get(path) {
            // ZooKeeper sets the ACL of the existing node before reporting NODEEXISTS.
            if existing.acl_key != key {
                self.modify(path, |n| n.acl_key = key);
            }
            return false;
        }
        let parent = parent.to_vec();
        self.modify(&parent, |p| {
            let v = if parent_cversion == -1 {
                p.stat.cversion.wrapping_add(1)
            } else {
                parent_cversion
            };
            if v > p.stat.cversion {
                p.stat.cversion = v;
                p.stat.pzxid = zxid.0;
            }
        });
        self.put(
            path.to_vec(),
            TreeNode {
                data: data.map(<[u8]>::to_vec),
                acl_key: key,
                stat: Stat {
                    czxid: zxid.0,
                    mzxid: zxid.0,
                    ctime: time,
                    mtime: time,
                    version: 0,
                    cversion: 0,
                    aversion: 0,
                    ephemeral_owner: owner,
                    pzxid: zxid.0,
                },
            },
        );
        true
    }

    fn delete(&mut self, path: &[u8], zxid: Zxid) -> bool {
        let Some(parent) = parent_of(path) else {
            return false;
        };
        let parent = parent.to_vec();
        if !self.modify(&parent, |p| {
            if zxid.0 > p.stat.pzxid {
                p.stat.pzxid = zxid.0;
            }
        }) {
            return false;
        }
        self.take(path).is_some()
    }

    /// Writes the tree as a snapshot: sessions, the ACL entries nodes use, nodes in path order,
    /// then the requested tail at `self.last_zxid`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_snapshot<W: Write>(&self, out: W, tail: Tail) -> std::io::Result<W> {
        let mut w = SnapshotWriter::new(out)?;
        let sessions: Vec<Session> = self
            .sessions
            .iter()
            .map(|(&id, &timeout)| Session { id, timeout })
            .collect();
        w.write_sessions(&sessions)?;
        let mut used: Vec<i64> = self
            .nodes
            .values()
            .map(|n| n.acl_key)
            .filter(|&k| k != -1)
            .collect();
        used.sort_unstable();
        used.dedup();
        let lists: Vec<(i64, Vec<Acl<'_>>)> = used
            .iter()
            .filter_map(|k| {
                self.acls
                    .get(*k)
                    .map(|l| (*k, l.iter().map(OwnedAcl::as_acl).collect()))
            })
            .collect();
        let refs: Vec<(i64, &[Acl<'_>])> = lists.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        w.write_acl_cache(&refs)?;
        for (path, n) in self.sorted_nodes() {
            w.write_node(&Node {
                path,
                data: n.data.as_deref(),
                acl_key: n.acl_key,
                stat: n.stat,
            })?;
        }
        w.finish(tail, self.last_zxid)
    }

    /// Recomputes the digest from scratch (for tests of the incremental digest).
    pub fn recompute_digest(&self) -> TreeDigest {
        let mut d = TreeDigest::default();
        for (p, n) in &self.nodes {
            d.0 = d.0.wrapping_add(node_digest(p, n.data.as_deref(), &n.stat));
        }
        d
    }
}

/// An error tied to a file.
#[derive(Debug, Clone)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The error.
    pub error: Error,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for FileError {}

/// The outcome of replaying a data dir.
#[derive(Debug)]
pub struct Replay {
    /// The tree after the last applied txn.
    pub tree: DataTree,
    /// The snapshot the replay started from (`None`: the empty tree, when there was none).
    pub snapshot: Option<PathBuf>,
    /// The zxid in that snapshot's name.
    pub snapshot_zxid: Zxid,
    /// Its summary.
    pub snapshot_summary: Option<SnapshotSummary>,
    /// Its file header and compression: with the summary, all that a check of that file alone
    /// reports, so a caller checking every file of the data dir need not read it a second time.
    pub snapshot_file: Option<(Option<FileHeader>, Compression)>,
    /// Newer snapshots that were skipped, and why (ZooKeeper skips them too).
    pub rejected_snapshots: Vec<FileError>,
    /// Logs read, with how each ended.
    pub logs: Vec<(PathBuf, Option<LogEnd>)>,
    /// Whether the watcher of [`replay_datadir_watching`] was shown the entries of these logs:
    /// not when the newest snapshot failed to load (the logs after the older one were read
    /// again without it).
    pub watched: bool,
    /// With `salvage`: the log error that stopped the replay early.
    pub stopped_by: Option<FileError>,
    /// A fuzzy snapshot's digest (taken at a zxid after its name's) against the replayed tree's
    /// digest when the replay passed that zxid: `(zxid, stored, computed)`. `None` when the
    /// snapshot is not fuzzy or the replay did not reach that zxid.
    pub fuzzy_digest: Option<(Zxid, i64, i64)>,
    /// The first txns missing from the replay (within an epoch: a new epoch may start at any
    /// counter), with the log holding the txn after them.
    pub first_gap: Option<(ZxidGap, PathBuf)>,
}

/// The last txn of a point in time: in the data dir's logs, read in order, the txn before the
/// first one stamped after `time_ms` (header time, ms since the epoch). `None` when the first
/// txn is already later. Restoring to its zxid restores the state at `time_ms`.
///
/// # Errors
/// A log that cannot be read to its end, named.
pub fn zxid_at_time(
    dir: &DataDir,
    time_ms: i64,
    limits: Limits,
) -> std::result::Result<Option<(Zxid, i64)>, FileError> {
    let mut last = None;
    for log in &dir.logs {
        let fe = |error| FileError {
            path: log.path.clone(),
            error,
        };
        let file = std::fs::File::open(&log.path).map_err(|e| fe(Error::io(&e, 0)))?;
        let mut entries =
            LogReader::new(std::io::BufReader::with_capacity(1 << 20, file), limits).map_err(fe)?;
        while let Some(entry) = entries.next_entry().map_err(fe)? {
            let t = entry.header().time;
            if t > time_ms {
                return Ok(last);
            }
            last = Some((entry.zxid(), t));
        }
    }
    Ok(last)
}

/// Loads the snapshot ZooKeeper would pick (or, with `to_zxid`, the newest one at or before it)
/// and replays the logs after it, up to `to_zxid` if given.
///
/// # Errors
/// A data dir with no usable snapshot while logs exist, a log entry with a bad checksum, or an
/// undecodable txn; each names its file.
pub fn replay_datadir(
    dir: &DataDir,
    to_zxid: Option<Zxid>,
    limits: Limits,
) -> std::result::Result<Replay, FileError> {
    replay_datadir_with(dir, to_zxid, limits, false)
}

/// Like [`replay_datadir`]; with `salvage`, a damaged log entry ends the replay (recorded in
/// [`Replay::stopped_by`]) instead of failing it.
///
/// # Errors
/// See [`replay_datadir`].
pub fn replay_datadir_with(
    dir: &DataDir,
    to_zxid: Option<Zxid>,
    limits: Limits,
    salvage: bool,
) -> std::result::Result<Replay, FileError> {
    replay_datadir_watching(dir, to_zxid, limits, salvage, &mut |_, _| {})
}

/// Like [`replay_datadir_with`]; `watch` is shown every entry of every log the replay reads, in
/// file order: those at or before the snapshot's zxid too, and one past `to_zxid`. A caller
/// checking each file of the data dir learns from it what a separate read of those logs would
/// (when [`Replay::watched`] is set, a log that [`Replay::logs`] gives an end for was shown
/// whole). It runs on the thread that reads and checksums the logs, which starts with the
/// snapshot's load, so its work does not lengthen the replay on two cores.
///
/// # Errors
/// See [`replay_datadir`].
pub fn replay_datadir_watching(
    dir: &DataDir,
    to_zxid: Option<Zxid>,
    limits: Limits,
    salvage: bool,
    watch: &mut (dyn FnMut(&Path, &TxnEntry<'_>) + Send),
) -> std::result::Result<Replay, FileError> {
    // The logs after the snapshot ZooKeeper would pick are read while it loads. Logs are
    // streamed, not mapped: each byte is read once, and memory stays that of the tree whatever
    // the size of the logs (same parser, same errors and offsets).
    let (expected, expected_logs) = dir.replay_files(to_zxid);
    let expected = expected.map_or(Zxid(0), |s| s.zxid());
    let expected_logs: Vec<PathBuf> = expected_logs.into_iter().map(|l| l.path.clone()).collect();
    let mut unwatched = |_: &Path, _: &TxnEntry<'_>| {};
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(logs::DEPTH);
        let expected_logs = &expected_logs;
        s.spawn(move || logs::read_logs(expected_logs, expected, to_zxid, limits, watch, &tx));
        let (snapshot, rejected, mut tree) = load_newest_usable(dir, to_zxid, limits)?;
        let snapshot_zxid = snapshot.as_ref().map_or(Zxid(0), |l| l.zxid);
        // A newer snapshot that failed to load: the logs after the older one are read now.
        let watched = snapshot_zxid == expected;
        let (rx, logs_read) = if watched {
            (rx, expected_logs.clone())
        } else {
            drop(rx);
            let (tx, rx) = std::sync::mpsc::sync_channel(logs::DEPTH);
            let logs_read: Vec<PathBuf> = dir
                .logs_after(snapshot_zxid)
                .into_iter()
                .map(|l| l.path.clone())
                .collect();
            let again = logs_read.clone();
            let unwatched = &mut unwatched;
            s.spawn(move || {
                logs::read_logs(&again, snapshot_zxid, to_zxid, limits, unwatched, &tx);
            });
            (rx, logs_read)
        };
        let summary = snapshot.as_ref().map(|l| l.summary);
        // TxnDigests can be checked once the tree is exactly the tree at some zxid: when the
        // snapshot's own digest matched (a non-fuzzy snapshot).
        tree.check_digests = summary.is_some_and(|s| {
            s.digest_check(Some(snapshot_zxid)) == crate::snapshot::DigestCheck::Match
        });
        // A fuzzy snapshot's digest is checked on the way, when the tree reaches its zxid.
        let fuzzy_at = summary
            .and_then(|s| s.digest)
            .filter(|d| d.zxid > snapshot_zxid);
        let mut fuzzy_digest = None;
        let mut logs = Vec::new();
        let mut stopped_by = None;
        let mut continuity = Continuity::after(snapshot_zxid);
        let mut first_gap = None;
        for path in logs_read {
            let fe = |error| FileError {
                path: path.clone(),
                error,
            };
            // The reader's batches for this log, then how it ended.
            let outcome = loop {
                let Ok(read) = rx.recv() else {
                    // The reader sends an end for every log it starts; it cannot be gone.
                    break Ok(None);
                };
                let (bytes, frames) = match read {
                    logs::LogRead::Entries(bytes, frames) => (bytes, frames),
                    logs::LogRead::End(end) => break Ok(Some(end)),
                    logs::LogRead::Reached => break Ok(None),
                    logs::LogRead::Failed(e) => break Err(e),
                    logs::LogRead::OpenFailed(e) => return Err(fe(e)),
                };
                let applied = (|| -> Result<()> {
                    for entry in logs::LogRead::entries(&bytes, &frames, limits) {
                        let entry = entry?;
                        if let Step::Gap(g) = continuity.next(entry.zxid()) {
                            first_gap.get_or_insert_with(|| (g, path.clone()));
                        }
                        tree.apply(&entry.record()?);
                        if let Some(d) = fuzzy_at.filter(|d| d.zxid == entry.zxid()) {
                            fuzzy_digest = Some((d.zxid, d.digest, tree.digest().value()));
                        }
                    }
                    Ok(())
                })();
                if let Err(e) = applied {
                    break Err(e);
                }
            };
            match outcome {
                Ok(Some(end)) => logs.push((path.clone(), Some(end))),
                Ok(None) => {
                    logs.push((path.clone(), None));
                    break;
                }
                Err(e) if salvage => {
                    logs.push((path.clone(), None));
                    stopped_by = Some(fe(e));
                    break;
                }
                Err(e) => return Err(fe(e)),
            }
        }
        Ok(Replay {
            tree,
            snapshot: snapshot.as_ref().map(|l| l.path.clone()),
            snapshot_zxid,
            snapshot_summary: summary,
            snapshot_file: snapshot.as_ref().map(|l| (l.header, l.compression)),
            rejected_snapshots: rejected,
            logs,
            watched,
            stopped_by,
            fuzzy_digest,
            first_gap,
        })
    })
}

/// What a replay learned from the snapshot it loaded.
struct LoadedFile {
    path: PathBuf,
    zxid: Zxid,
    summary: SnapshotSummary,
    header: Option<FileHeader>,
    compression: Compression,
}

/// Loads the snapshot ZooKeeper would pick (the newest valid one, not after `to_zxid`): the
/// snapshot (`None`: the empty tree), the newer ones that failed to load, and the tree.
///
/// # Errors
/// A snapshot that cannot be opened; no usable snapshot while logs exist (or with `to_zxid`).
fn load_newest_usable(
    dir: &DataDir,
    to_zxid: Option<Zxid>,
    limits: Limits,
) -> std::result::Result<(Option<LoadedFile>, Vec<FileError>, DataTree), FileError> {
    let mut rejected = Vec::new();
    for cand in dir.snapshot_candidates() {
        if to_zxid.is_some_and(|z| cand.zxid() > z) {
            continue;
        }
        let bytes = FileBytes::open(&cand.path).map_err(|e| FileError {
            path: cand.path.clone(),
            error: Error::io(&e, 0),
        })?;
        // A compressed snapshot is decompressed on a helper thread, ahead of the parser.
        let result = std::thread::scope(|s| {
            SnapshotReader::open_ahead(s, &bytes[..], limits).and_then(|r| {
                DataTree::load_snapshot(r, cand.zxid(), Some(bytes.len() as u64), Some(&bytes))
            })
        });
        match result {
            Ok(l) => {
                let file = LoadedFile {
                    path: cand.path.clone(),
                    zxid: cand.name.zxid,
                    summary: l.summary,
                    header: l.header,
                    compression: l.compression,
                };
                return Ok((Some(file), rejected, l.tree));
            }
            Err(error) => rejected.push(FileError {
                path: cand.path.clone(),
                error,
            }),
        }
    }
    if let Some(e) = rejected.first() {
        if !dir.logs.is_empty() || to_zxid.is_some() {
            return Err(e.clone());
        }
    }
    Ok((None, rejected, DataTree::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Acl;
    use crate::jute;
    use crate::txn::{MultiTxn, TxnHeader};

    fn rec(op_code: i32, zxid: i64, body: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        TxnHeader {
            session: 9,
            cxid: 1,
            zxid: Zxid(zxid),
            time: 100 + zxid,
            op: op_code,
        }
        .encode(&mut p);
        p.extend_from_slice(body);
        p
    }

    fn create_body(path: &[u8], eph: bool, pcv: i32) -> Vec<u8> {
        let mut b = Vec::new();
        jute::put_string(&mut b, path);
        jute::put_buffer(&mut b, Some(b"d"));
        AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut b);
        b.push(u8::from(eph));
        jute::put_i32(&mut b, pcv);
        b
    }

    fn apply(t: &mut DataTree, payload: &[u8]) {
        let r = TxnRecord::decode(payload, 0, Limits::default()).unwrap();
        t.apply(&r);
    }

    /// Everything a tree holds, in a comparable form.
    fn tree_facts(t: &DataTree) -> String {
        let mut out = format!(
            "{} nodes, digest {}, last {}, sessions {:?}\n",
            t.len(),
            t.digest().0,
            t.last_zxid,
            t.sessions
        );
        for (k, v) in t.acls.iter() {
            out.push_str(&format!("acl {k} {v:?}\n"));
        }
        for p in t.sorted_paths() {
            let n = t.get(p).unwrap();
            out.push_str(&format!("{p:?} {n:?}\n"));
        }
        let mut owners: Vec<_> = t.ephemerals.keys().copied().collect();
        owners.sort_unstable();
        for o in owners {
            out.push_str(&format!(
                "eph {o} {:?}\n",
                t.ephemerals_of(o).collect::<Vec<_>>()
            ));
        }
        out
    }

    /// The load on one thread and on two: the same tree, or the same first error.
    fn load_both(bytes: &[u8]) -> (Result<String>, Result<String>) {
        let load = |parallel| {
            let r = SnapshotReader::open(bytes, Limits::default())?;
            DataTree::load_snapshot_on(r, Zxid(1), Some(bytes.len() as u64), None, parallel)
                .map(|l| format!("{}{:?}", tree_facts(&l.tree), l.summary))
        };
        (load(false), load(true))
    }

    /// A snapshot of `n` nodes (some ephemeral, some with data) spread over 100 parents.
    fn big_snapshot(n: usize) -> Vec<u8> {
        let mut t = DataTree::empty();
        let stat = |i: usize, owner: i64| Stat {
            czxid: i as i64,
            mzxid: i as i64,
            ephemeral_owner: owner,
            ..Stat::default()
        };
        for p in 0..100 {
            t.put(
                format!("/p{p:03}").into_bytes(),
                TreeNode {
                    data: None,
                    acl_key: -1,
                    stat: stat(p, 0),
                },
            );
        }
        for i in 0..n {
            t.put(
                format!("/p{:03}/n{i:07}", i % 100).into_bytes(),
                TreeNode {
                    data: (i % 3 != 0).then(|| vec![b'x'; i % 200]),
                    acl_key: -1,
                    stat: stat(i, if i % 7 == 0 { 1 + (i % 5) as i64 } else { 0 }),
                },
            );
        }
        for s in 1..=5 {
            t.sessions.insert(s, 30_000);
        }
        t.write_snapshot(Vec::new(), Tail::DIGEST).unwrap()
    }

    #[test]
    fn a_load_that_releases_the_mapped_file_behind_it_builds_the_same_tree() {
        let bytes = big_snapshot(70_000); // about 11 MiB: released every MiB
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.1");
        std::fs::write(&path, &bytes).unwrap();
        let (one, two) = load_both(&bytes);
        for parallel in [false, true] {
            let file = FileBytes::open(&path).unwrap();
            assert!(matches!(file, FileBytes::Mapped(_)));
            let r = SnapshotReader::open(&file[..], Limits::default()).unwrap();
            let l = DataTree::load_snapshot_on(
                r,
                Zxid(1),
                Some(bytes.len() as u64),
                Some(&file),
                parallel,
            )
            .unwrap();
            let facts = format!("{}{:?}", tree_facts(&l.tree), l.summary);
            assert_eq!(&facts, one.as_ref().unwrap());
            assert_eq!(&facts, two.as_ref().unwrap());
            // The released pages read back as they were.
            assert!(file[..] == bytes[..], "parallel {parallel}");
        }
    }

    #[test]
    fn two_thread_load_is_the_one_thread_load() {
        // Many batches, and past the point where the node map is sized.
        let bytes = big_snapshot(70_000);
        let (one, two) = load_both(&bytes);
        let one = one.unwrap();
        assert!(one.starts_with("70103 nodes"), "{}", &one[..60]);
        assert_eq!(one, two.unwrap());
        // Real snapshots, compressed ones included.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let mut seen = 0;
        for v in ["zk-3.4", "zk-3.8", "zk-3.9"] {
            for case in std::fs::read_dir(dir.join(v)).unwrap().flatten() {
                let Ok(files) = std::fs::read_dir(case.path().join("version-2")) else {
                    continue;
                };
                for f in files.flatten() {
                    if !f.file_name().to_string_lossy().starts_with("snapshot.") {
                        continue;
                    }
                    let bytes = std::fs::read(f.path()).unwrap();
                    let (one, two) = load_both(&bytes);
                    assert_eq!(one, two, "{}", f.path().display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 20, "{seen} real snapshots");
    }

    /// The watcher of a replay sees every entry of every log the replay reads, in file order,
    /// those at or before the snapshot's zxid too, and the replay's result is the same.
    #[test]
    fn a_replay_shows_every_entry_of_the_logs_it_reads() {
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        for case in ["zk-3.9/basic", "zk-3.8/fuzzy", "zk-3.4/multi"] {
            let dd = DataDir::scan(&testdata.join(case)).unwrap();
            let mut seen: Vec<(PathBuf, Zxid)> = Vec::new();
            let watched =
                replay_datadir_watching(&dd, None, Limits::default(), false, &mut |p, e| {
                    seen.push((p.to_path_buf(), e.zxid()));
                })
                .unwrap();
            let plain = replay_datadir(&dd, None, Limits::default()).unwrap();
            assert_eq!(tree_facts(&watched.tree), tree_facts(&plain.tree), "{case}");
            let mut expected = Vec::new();
            for (log, end) in &plain.logs {
                assert!(end.is_some(), "{case}: {} read whole", log.display());
                let bytes = std::fs::read(log).unwrap();
                let parsed = crate::txnlog::TxnLog::parse(&bytes, Limits::default()).unwrap();
                for e in parsed.entries() {
                    expected.push((log.clone(), e.unwrap().zxid()));
                }
            }
            assert!(
                expected
                    .first()
                    .is_some_and(|(_, z)| *z <= plain.snapshot_zxid),
                "{case}: the first log read starts at or before the snapshot"
            );
            assert_eq!(seen, expected, "{case}");
        }
    }

    /// When the newest snapshot fails to load, the replay starts from the older one and reads
    /// the logs after it again, without the watcher (it says so), and gets the tree a data dir
    /// without the damaged snapshot gives.
    #[test]
    fn a_replay_from_an_older_snapshot_reads_its_logs_unwatched() {
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let tmp = tempfile::tempdir().unwrap();
        let (damaged, without) = (tmp.path().join("damaged"), tmp.path().join("without"));
        for d in [&damaged, &without] {
            std::fs::create_dir_all(d.join("version-2")).unwrap();
        }
        for f in std::fs::read_dir(testdata.join("zk-3.9/basic/version-2")).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_owned();
            std::fs::copy(&f, damaged.join("version-2").join(&name)).unwrap();
            if name != "snapshot.3b" {
                std::fs::copy(&f, without.join("version-2").join(&name)).unwrap();
            }
        }
        let newest = damaged.join("version-2/snapshot.3b");
        let mut bytes = std::fs::read(&newest).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&newest, bytes).unwrap();
        let mut shown = 0;
        let dd = DataDir::scan(&damaged).unwrap();
        let r = replay_datadir_watching(&dd, None, Limits::default(), false, &mut |_, _| {
            shown += 1;
        })
        .unwrap();
        assert!(!r.watched);
        assert_eq!(r.rejected_snapshots.len(), 1);
        assert_eq!(r.snapshot_zxid, Zxid(0x38));
        let plain = replay_datadir(&DataDir::scan(&without).unwrap(), None, Limits::default());
        let plain = plain.unwrap();
        assert!(plain.watched);
        assert_eq!(tree_facts(&r.tree), tree_facts(&plain.tree));
        assert_eq!(r.logs.len(), plain.logs.len());
        // The reader started on the logs after snapshot.3b may have shown some before it stopped.
        assert!(shown <= 0x3c, "{shown}");
    }

    #[test]
    fn two_thread_load_reports_the_first_error_like_one_thread() {
        let good = big_snapshot(20_000);
        // A node whose parent is missing, deep in the node records (a later batch), and a seal
        // that then fails (the renamed path changes the checksum): the missing parent comes
        // first in the file, so it is the error either way.
        let at = good
            .windows(14)
            .position(|w| w == b"/p042/n0012342")
            .expect("node path in the snapshot");
        let mut orphan = good.clone();
        orphan[at + 1] = b'q';
        let (one, two) = load_both(&orphan);
        let (one, two) = (one.unwrap_err(), two.unwrap_err());
        assert_eq!(one, two);
        assert!(matches!(one.kind(), ErrorKind::MissingParent), "{one:?}");
        assert_eq!(one.offset(), at as u64 - 4);
        // Truncated mid-node: the same parse error and offset.
        for cut in [good.len() / 3, good.len() - 40, 100] {
            let (one, two) = load_both(&good[..cut]);
            let (one, two) = (one.unwrap_err(), two.unwrap_err());
            assert_eq!(one, two, "cut at {cut}");
            assert_eq!(one.offset(), two.offset());
        }
    }

    #[test]
    fn replacing_an_ephemeral_keeps_it_in_its_sessions_list() {
        let mut t = DataTree::empty();
        let eph = TreeNode {
            data: None,
            acl_key: -1,
            stat: Stat {
                ephemeral_owner: 7,
                ..Stat::default()
            },
        };
        t.put(b"/e".to_vec(), eph.clone());
        t.put(b"/e".to_vec(), eph.clone());
        assert_eq!(t.ephemerals_of(7).collect::<Vec<_>>(), vec![&b"/e"[..]]);
        assert_eq!(t.digest(), t.recompute_digest());
        // Replaced by a persistent node: no longer the session's.
        t.put(
            b"/e".to_vec(),
            TreeNode {
                stat: Stat::default(),
                ..eph
            },
        );
        assert_eq!(t.ephemerals_of(7).count(), 0);
        assert_eq!(t.digest(), t.recompute_digest());
    }

    #[test]
    fn replay_rules() {
        let mut t = DataTree::empty();
        let mut s = Vec::new();
        jute::put_i32(&mut s, 30000);
        apply(&mut t, &rec(op::CREATE_SESSION, 1, &s));
        apply(&mut t, &rec(op::CREATE, 2, &create_body(b"/a", false, 1)));
        apply(&mut t, &rec(op::CREATE2, 3, &create_body(b"/a/e", true, 1)));
        assert_eq!(t.get(b"/a/e").unwrap().stat.ephemeral_owner, 9);
        assert_eq!(t.get(b"/a").unwrap().stat.cversion, 1);
        assert_eq!(t.get(b"/a").unwrap().stat.pzxid, 3);
        // A create that meets an existing node is ignored but counted.
        apply(
            &mut t,
            &rec(op::CREATE2, 4, &create_body(b"/a/e", false, 2)),
        );
        assert_eq!(t.stats.ignored_errors, 1);
        // A failed multi changes nothing.
        let mut err = Vec::new();
        jute::put_i32(&mut err, -101);
        let cb = create_body(b"/b", false, 2);
        let mut m = Vec::new();
        MultiTxn::encode_ops(
            [(op::CREATE, &cb[..]), (op::ERROR, &err[..])].into_iter(),
            &mut m,
        );
        apply(&mut t, &rec(op::MULTI, 5, &m));
        assert!(t.get(b"/b").is_none());
        // closeSession removes the session's ephemerals and moves the parent's pzxid only.
        apply(&mut t, &rec(op::CLOSE_SESSION, 6, &[]));
        assert!(t.get(b"/a/e").is_none());
        assert!(t.sessions.is_empty());
        let a = t.get(b"/a").unwrap();
        assert_eq!((a.stat.cversion, a.stat.pzxid), (1, 6));
        assert_eq!(t.digest(), t.recompute_digest());
        assert_eq!(t.last_zxid, Zxid(6));
        // Round trip through a snapshot.
        let bytes = t.write_snapshot(Vec::new(), Tail::DIGEST).unwrap();
        let r = SnapshotReader::open(&bytes[..], Limits::default()).unwrap();
        let (back, summary) = DataTree::from_snapshot(r, Zxid(6)).unwrap();
        assert_eq!(back.len(), t.len());
        assert_eq!(
            summary.digest_check(Some(Zxid(6))),
            crate::snapshot::DigestCheck::Match
        );
        assert_eq!(back.get(b"/a"), t.get(b"/a"));
    }
}
