//! The restore filter: drop sessions, ephemeral nodes and transient path prefixes from logs,
//! snapshots and replayed trees, keeping everything else exactly.
//!
//! What is dropped, and why it is safe:
//! * **sessions**: `createSession`/`closeSession` txns and the snapshot's session table. A server
//!   restored without them has no session to bring back from the dead.
//! * **ephemeral nodes**: nodes whose `ephemeralOwner` is a session (creates with the ephemeral
//!   flag, and every later delete/setData/setACL/check of such a path). Container and TTL nodes
//!   are persistent and kept, owner encoding intact.
//! * **prefixes**: every node strictly below a given path (the path itself stays).
//!
//! Parents keep their stored `cversion` and `pzxid`, so sequential names never repeat. Kept log
//! entries are copied byte for byte; a multi that loses some ops is re-encoded with the rest; a
//! failed multi is kept as it is (it changes nothing). Once anything was dropped, later entries'
//! TxnDigests no longer describe the tree and are stripped (ZooKeeper skips the check when a
//! digest is absent).

use std::collections::BTreeMap;
use std::sync::Arc;

use foldhash::{HashMap, HashSet};
use std::io::{self, Read, Write};

use crate::data::{parent_display as parent_of, AclList, NodeKind};
use crate::digest::DIGEST_VERSION;
use crate::error::{Error, ErrorKind, Result};
use crate::kind::FileHeader;
use crate::limits::Limits;
use crate::snapshot::{
    DigestCheck, Session, SnapshotItem, SnapshotReader, SnapshotSummary, SnapshotWriter, ZxidDigest,
};
use crate::tree::DataTree;
use crate::txn::{op, MultiTxn, Txn, TxnHeader, TxnRecord, TXN_DIGEST_SIZE, TXN_HEADER_SIZE};
use crate::txnlog::{LogEnd, LogReader, ReadAhead, TxnEntry, TxnLog, TxnLogWriter};
use crate::zxid::Zxid;

mod peek;
use peek::Peeked;
pub use peek::{peek, peek_decoded, EntryPeek};

/// What to drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Drop sessions (txns and the snapshot's session table).
    pub drop_sessions: bool,
    /// Drop ephemeral nodes and every txn on them.
    pub drop_ephemerals: bool,
    prefixes: Vec<Vec<u8>>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            drop_sessions: true,
            drop_ephemerals: true,
            prefixes: Vec::new(),
        }
    }
}

impl Policy {
    /// Keeps everything (filtering then reproduces the input).
    pub fn keep_all() -> Policy {
        Policy {
            drop_sessions: false,
            drop_ephemerals: false,
            prefixes: Vec::new(),
        }
    }

    /// Also drops everything strictly below `prefix` (an absolute path other than `/`; a trailing
    /// `/` is ignored).
    ///
    /// # Errors
    /// A prefix that is not an absolute path below the root.
    pub fn drop_prefix(&mut self, prefix: &str) -> std::result::Result<(), String> {
        let p = prefix.trim_end_matches('/');
        if !p.starts_with('/') || p.is_empty() || p.contains("//") {
            return Err(format!(
                "prefix {prefix:?} must be an absolute path below / (like /locks)"
            ));
        }
        if !self.prefixes.iter().any(|q| q == p.as_bytes()) {
            self.prefixes.push(p.as_bytes().to_vec());
        }
        Ok(())
    }

    /// The prefixes whose descendants are dropped.
    pub fn prefixes(&self) -> impl Iterator<Item = &[u8]> {
        self.prefixes.iter().map(Vec::as_slice)
    }

    /// The index of the prefix `path` lies strictly below, if any.
    pub fn prefix_of(&self, path: &[u8]) -> Option<usize> {
        self.prefixes.iter().position(|p| {
            path.len() > p.len() && path.starts_with(p) && path.get(p.len()) == Some(&b'/')
        })
    }

    /// True when nothing can be dropped.
    pub fn is_noop(&self) -> bool {
        !self.drop_sessions && !self.drop_ephemerals && self.prefixes.is_empty()
    }
}

/// Why something was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A session txn or session table entry.
    Session,
    /// An ephemeral node or a txn on one.
    Ephemeral,
    /// A node below a dropped prefix or a txn on one.
    Prefix,
}

impl Category {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Category::Session => "session",
            Category::Ephemeral => "ephemeral",
            Category::Prefix => "prefix",
        }
    }
}

/// A dropped session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSession {
    /// Session id.
    pub id: i64,
    /// Timeout in ms, when known.
    pub timeout: Option<i32>,
    /// Still open at the end of the input (its ephemerals would have come back).
    pub open_at_end: bool,
}

/// A dropped ephemeral node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedEphemeral {
    /// Path.
    pub path: Vec<u8>,
    /// Owner session.
    pub owner: i64,
    /// Data length.
    pub data_len: usize,
    /// Still present at the end of the input (in a log: created and never deleted).
    pub live_at_end: bool,
}

/// Most entries a report lists one by one (counts stay exact beyond it).
pub const REPORT_DETAIL_LIMIT: usize = 10_000;

/// What a filter run dropped and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterReport {
    /// Records read: log entries, or snapshot nodes and session-table rows. Always
    /// `records_in = records_out + Σ dropped − multis_rewritten` (a rewritten entry is counted
    /// in `dropped` for what it lost, and written).
    pub records_in: u64,
    /// Records written.
    pub records_out: u64,
    /// Bytes read (uncompressed).
    pub bytes_in: u64,
    /// Bytes written (uncompressed).
    pub bytes_out: u64,
    /// Dropped records and their bytes, per category.
    pub dropped: BTreeMap<Category, (u64, u64)>,
    /// Multis re-encoded without some of their ops.
    pub multis_rewritten: u64,
    /// Kept log entries whose TxnDigest was stripped.
    pub digests_stripped: u64,
    /// Sessions dropped (at most [`REPORT_DETAIL_LIMIT`]).
    pub sessions: Vec<DroppedSession>,
    /// Ephemeral nodes dropped (at most [`REPORT_DETAIL_LIMIT`]).
    pub ephemerals: Vec<DroppedEphemeral>,
    /// Ephemerals dropped per parent path: (count, live at end), for at most
    /// [`REPORT_DETAIL_LIMIT`] parents (the first met), so memory stays bounded.
    pub ephemeral_parents: BTreeMap<Vec<u8>, (u64, u64)>,
    /// Dropped ephemerals under parents beyond that limit (not in `ephemeral_parents`).
    pub ephemerals_in_unlisted_parents: u64,
    /// Nodes (or txns) dropped below each prefix: (count, bytes).
    pub prefix_drops: BTreeMap<Vec<u8>, (u64, u64)>,
    /// Kept TTL nodes (a restoring server needs `zookeeper.extendedTypesEnabled=true`).
    pub ttl_nodes: u64,
    /// Kept container nodes.
    pub container_nodes: u64,
    /// Whether details were cut at [`REPORT_DETAIL_LIMIT`].
    pub truncated: bool,
    /// How the snapshot's digest section was written (snapshot filters).
    pub digest_note: Option<String>,
    /// How the input log ended (log filters).
    pub log_end: Option<LogEnd>,
}

impl FilterReport {
    fn drop(&mut self, c: Category, bytes: usize) {
        let e = self.dropped.entry(c).or_default();
        e.0 += 1;
        e.1 += bytes as u64;
    }

    /// True when nothing was dropped.
    pub fn nothing_dropped(&self) -> bool {
        self.dropped.is_empty() && self.multis_rewritten == 0
    }

    fn add_session(&mut self, s: DroppedSession) {
        if self.sessions.len() < REPORT_DETAIL_LIMIT {
            self.sessions.push(s);
        } else {
            self.truncated = true;
        }
    }

    /// Adds a dropped ephemeral. Snapshot and tree filters drop nodes that are live at the end
    /// and count them per parent here; the log filter counts per parent itself.
    fn add_ephemeral(&mut self, e: DroppedEphemeral) {
        if e.live_at_end {
            let parent = parent_of(&e.path);
            let room = self.ephemeral_parents.len() < REPORT_DETAIL_LIMIT;
            match self.ephemeral_parents.get_mut(parent) {
                Some(g) => {
                    g.0 += 1;
                    g.1 += 1;
                }
                None if room => {
                    self.ephemeral_parents.insert(parent.to_vec(), (1, 1));
                }
                None => {
                    self.ephemerals_in_unlisted_parents += 1;
                    self.truncated = true;
                }
            }
        }
        if self.ephemerals.len() < REPORT_DETAIL_LIMIT {
            self.ephemerals.push(e);
        } else {
            self.truncated = true;
        }
    }

    fn add_prefix(&mut self, policy: &Policy, idx: usize, bytes: usize) {
        if let Some(p) = policy.prefixes.get(idx) {
            let e = self.prefix_drops.entry(p.clone()).or_default();
            e.0 += 1;
            e.1 += bytes as u64;
        }
    }
}

/// Options of the log filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogFilterOptions {
    /// Strip TxnDigests from every kept entry, even before the first drop (use when the log will
    /// be replayed over a filtered snapshot).
    pub strip_all_digests: bool,
}

/// The streaming log filter's state: the dropped paths that are still alive. Memory is bounded
/// by the number of live dropped ephemerals, not by the log's length.
#[derive(Debug, Clone)]
pub struct LogFilter {
    policy: Policy,
    /// Live dropped ephemerals: owner, and whether the log created them (not the snapshot).
    live: HashMap<Arc<[u8]>, (i64, bool)>,
    /// The same paths per owner session (shared with `live`).
    by_session: HashMap<i64, HashSet<Arc<[u8]>>>,
    /// Stored cversion of the parents of dropped nodes (as of the last create under them), with
    /// how many dropped children each still has: what a stand-in for a dropped delete needs.
    parents: HashMap<Vec<u8>, (i32, u32)>,
    strip_digests: bool,
    report: FilterReport,
    /// Sessions created in the log and not closed yet (timeout), reported as open at the end.
    session_open: HashMap<i64, (Option<i32>, bool)>,
    /// Ephemerals the log created and the filter dropped, per parent path.
    dropped_per_parent: HashMap<Vec<u8>, u64>,
    /// The sub-ops of the multi being written in place of the current entry (reused).
    sub_ops: SubOps,
    /// The payload of the current rewritten entry (reused).
    payload: Vec<u8>,
}

/// Encoded multi sub-ops (`op`, length-prefixed record), built up one at a time.
#[derive(Debug, Clone, Default)]
struct SubOps {
    bytes: Vec<u8>,
    count: usize,
}

impl SubOps {
    fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }

    /// Where the ops pushed from now on start (to undo them with [`SubOps::truncate`]).
    fn mark(&self) -> (usize, usize) {
        (self.bytes.len(), self.count)
    }

    fn truncate(&mut self, (len, count): (usize, usize)) {
        self.bytes.truncate(len);
        self.count = count;
    }

    /// Appends an op whose record `encode` writes.
    fn push_with(&mut self, op_code: i32, encode: impl FnOnce(&mut Vec<u8>)) {
        crate::jute::put_i32(&mut self.bytes, op_code);
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        encode(&mut self.bytes);
        let len = crate::jute::len_i32(self.bytes.len() - at - 4);
        if let Some(slot) = self.bytes.get_mut(at..at + 4) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        self.count += 1;
    }

    fn push(&mut self, op_code: i32, record: &[u8]) {
        self.push_with(op_code, |b| b.extend_from_slice(record));
    }
}

/// What to do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Copy the entry's raw bytes.
    Keep,
    /// Leave it out.
    Drop,
    /// Write this payload instead (a multi standing in for the entry, or the entry's multi
    /// without some ops). It borrows the filter until the next decision.
    Rewrite(&'a [u8]),
    /// Write the entry's payload without its last 12 bytes (its TxnDigest), re-framed.
    StripDigest,
}

/// What the filter does with one op.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    Keep,
    Drop(Category),
    /// Replace the op by the sub-ops it pushed (which keep its effect on the parent).
    Replace(Category),
}

/// What judging an op needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpClass {
    /// create, create2, createContainer, createTTL.
    Create {
        /// The parentCVersion it sets (-1: one more).
        parent_cversion: i32,
        /// The ephemeral flag (create, create2).
        ephemeral: bool,
        /// Container or TTL node.
        ext: Option<CreateExt>,
        /// A create without parentCVersion (pre-3.4 `CreateTxnV0`).
        v0: bool,
        /// Data length (for the report).
        data_len: usize,
    },
    /// delete, deleteContainer.
    Delete,
    /// Any other op on a path (setData, setACL, check, reconfig).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreateExt {
    Container,
    Ttl,
}

impl OpClass {
    /// The path a decoded op acts on, and its class; `None` for ops without a path.
    fn of<'a>(t: &Txn<'a>) -> Option<(&'a [u8], OpClass)> {
        let class = match t {
            Txn::Create(c) | Txn::Create2(c) => OpClass::Create {
                parent_cversion: c.parent_cversion.unwrap_or(-1),
                ephemeral: c.ephemeral.get(),
                ext: None,
                v0: c.parent_cversion.is_none(),
                data_len: c.data.map_or(0, <[u8]>::len),
            },
            Txn::CreateContainer(c) | Txn::CreateTtl(c) => OpClass::Create {
                parent_cversion: c.parent_cversion,
                ephemeral: false,
                ext: Some(if c.ttl.is_some() {
                    CreateExt::Ttl
                } else {
                    CreateExt::Container
                }),
                v0: false,
                data_len: c.data.map_or(0, <[u8]>::len),
            },
            Txn::Delete { .. } | Txn::DeleteContainer { .. } => OpClass::Delete,
            _ => OpClass::Other,
        };
        t.path().map(|p| (p, class))
    }
}

/// Pushes the sub-ops that stand in for a dropped create: the same create made persistent, then
/// a delete of the same path, in one multi with the original zxid. Replayed, they leave no node
/// but move the parent's cversion and pzxid exactly as the original create did, so sequential
/// names handed out later never repeat.
fn vanishing_create(out: &mut SubOps, sub_op: i32, body: &[u8], class: OpClass, path: &[u8]) {
    match class {
        // create / create2 (also pre-3.4 ones without parentCVersion): the same record with the
        // ephemeral flag cleared, as a plain create with a parentCVersion.
        OpClass::Create { ext: None, v0, .. } => out.push_with(op::CREATE, |b| {
            b.extend_from_slice(body);
            // The flag is the last byte, or the one before the 4-byte parentCVersion.
            let flag = b.len().checked_sub(if v0 { 1 } else { 5 });
            if let Some(f) = flag.and_then(|at| b.get_mut(at)) {
                *f = 0;
            }
            if v0 {
                crate::jute::put_i32(b, -1);
            }
        }),
        _ => out.push(sub_op, body),
    }
    out.push_with(op::DELETE, |b| crate::jute::put_string(b, path));
}

impl LogFilter {
    /// A filter for `policy`.
    pub fn new(policy: Policy, options: LogFilterOptions) -> LogFilter {
        LogFilter {
            policy,
            live: HashMap::default(),
            by_session: HashMap::default(),
            parents: HashMap::default(),
            strip_digests: options.strip_all_digests,
            report: FilterReport::default(),
            session_open: HashMap::default(),
            dropped_per_parent: HashMap::default(),
            sub_ops: SubOps::default(),
            payload: Vec::new(),
        }
    }

    /// Tells the filter that `path` was already an ephemeral of `owner` before the log starts
    /// (learned from a snapshot), so later txns on it are dropped too.
    pub fn learn_ephemeral(&mut self, path: &[u8], owner: i64) {
        if self.policy.drop_ephemerals {
            self.track(path, owner, false);
        }
    }

    /// Strips digests from every later kept entry.
    pub fn strip_digests_from_now(&mut self) {
        self.strip_digests = true;
    }

    /// Tells the filter the stored cversion of a parent of ephemerals learned from a snapshot.
    pub fn learn_parent_cversion(&mut self, parent: &[u8], cversion: i32) {
        if let Some(e) = self.parents.get_mut(parent) {
            e.0 = e.0.max(cversion);
        }
    }

    fn track(&mut self, path: &[u8], owner: i64, from_log: bool) {
        let shared: Arc<[u8]> = Arc::from(path);
        self.by_session
            .entry(owner)
            .or_default()
            .insert(Arc::clone(&shared));
        let parent = parent_of(path);
        match self.parents.get_mut(parent) {
            Some(e) => e.1 += 1,
            None => {
                self.parents.insert(parent.to_vec(), (-1, 1));
            }
        }
        if from_log {
            // Bounded like the report's other details: memory follows live ephemerals, not the
            // number of parents a long log ever used.
            let room = self.dropped_per_parent.len() < REPORT_DETAIL_LIMIT;
            match self.dropped_per_parent.get_mut(parent) {
                Some(n) => *n += 1,
                None if room => {
                    self.dropped_per_parent.insert(parent.to_vec(), 1);
                }
                None => {
                    self.report.ephemerals_in_unlisted_parents += 1;
                    self.report.truncated = true;
                }
            }
        }
        self.live.insert(shared, (owner, from_log));
    }

    fn untrack(&mut self, path: &[u8]) -> bool {
        match self.live.remove(path) {
            Some((owner, _)) => {
                if let Some(set) = self.by_session.get_mut(&owner) {
                    set.remove(path);
                    if set.is_empty() {
                        self.by_session.remove(&owner);
                    }
                }
                self.release_parent(parent_of(path));
                true
            }
            None => false,
        }
    }

    /// One dropped child of `parent` is gone: forget the parent once it has none left.
    fn release_parent(&mut self, parent: &[u8]) {
        if let Some(e) = self.parents.get_mut(parent) {
            e.1 = e.1.saturating_sub(1);
            // Prefixes keep their entry: their direct children come and go.
            if e.1 == 0 && self.policy.prefixes.iter().all(|p| p.as_slice() != parent) {
                self.parents.remove(parent);
            }
        }
    }

    /// Records the parent cversion a create sets (3.5+ rule: it only moves forward; -1 means
    /// "one more").
    fn note_create(&mut self, path: &[u8], parent_cversion: i32) {
        if self.parents.is_empty() {
            return;
        }
        if let Some(e) = self.parents.get_mut(parent_of(path)) {
            let v = if parent_cversion == -1 {
                e.0.saturating_add(1)
            } else {
                parent_cversion
            };
            e.0 = e.0.max(v);
        }
    }

    /// Pushes what stands in for a dropped delete: when the parent's cversion is known, a
    /// vanishing create + delete (the create leaves the cversion as it is and the delete moves
    /// the pzxid, on 3.4 as on 3.5+); otherwise the bare delete (3.5+ moves the pzxid and reports
    /// "no node").
    fn delete_stand_in(parents: &HashMap<Vec<u8>, (i32, u32)>, out: &mut SubOps, path: &[u8]) {
        if let Some(&(cv, _)) = parents.get(parent_of(path)).filter(|(cv, _)| *cv >= 0) {
            out.push_with(op::CREATE, |b| {
                Txn::Create(crate::txn::CreateTxn {
                    path,
                    data: Some(&[]),
                    acl: AclList::open_unsafe(),
                    ephemeral: crate::jute::JuteBool(0),
                    parent_cversion: Some(cv),
                })
                .encode(b);
            });
        }
        out.push_with(op::DELETE, |b| crate::jute::put_string(b, path));
    }

    /// Decides on one op (top level or inside a multi) from its path, its class and its body
    /// bytes (without digest).
    fn judge_op(
        &mut self,
        session: i64,
        sub_op: i32,
        body: &[u8],
        (path, class): (&[u8], OpClass),
        bytes: usize,
    ) -> Verdict {
        let prefix = self.policy.prefix_of(path);
        let direct_child = prefix.is_some() && self.policy.prefix_of(parent_of(path)).is_none();
        match class {
            OpClass::Create {
                parent_cversion: pcv,
                ephemeral,
                ext,
                data_len,
                ..
            } => {
                if let Some(i) = prefix {
                    self.report.add_prefix(&self.policy, i, bytes);
                    if direct_child {
                        let parent = parent_of(path).to_vec();
                        self.parents.entry(parent).or_insert((-1, 0));
                        self.note_create(path, pcv);
                    }
                    return if direct_child {
                        vanishing_create(&mut self.sub_ops, sub_op, body, class, path);
                        Verdict::Replace(Category::Prefix)
                    } else {
                        Verdict::Drop(Category::Prefix)
                    };
                }
                if ephemeral && self.policy.drop_ephemerals {
                    self.track(path, session, true);
                    self.note_create(path, pcv);
                    self.report.add_ephemeral(DroppedEphemeral {
                        path: path.to_vec(),
                        owner: session,
                        data_len,
                        live_at_end: false,
                    });
                    vanishing_create(&mut self.sub_ops, sub_op, body, class, path);
                    return Verdict::Replace(Category::Ephemeral);
                }
                self.note_create(path, pcv);
                match ext {
                    Some(CreateExt::Ttl) => self.report.ttl_nodes += 1,
                    Some(CreateExt::Container) => self.report.container_nodes += 1,
                    None => {}
                }
                Verdict::Keep
            }
            // A delete of a dropped node moves its (kept) parent's pzxid: a stand-in keeps that.
            OpClass::Delete => {
                if let Some(i) = prefix {
                    self.report.add_prefix(&self.policy, i, bytes);
                    return if direct_child {
                        Self::delete_stand_in(&self.parents, &mut self.sub_ops, path);
                        Verdict::Replace(Category::Prefix)
                    } else {
                        Verdict::Drop(Category::Prefix)
                    };
                }
                if self.live.contains_key(path) {
                    Self::delete_stand_in(&self.parents, &mut self.sub_ops, path);
                    self.untrack(path);
                    return Verdict::Replace(Category::Ephemeral);
                }
                Verdict::Keep
            }
            OpClass::Other => {
                if let Some(i) = prefix {
                    self.report.add_prefix(&self.policy, i, bytes);
                    return Verdict::Drop(Category::Prefix);
                }
                if self.live.contains_key(path) {
                    return Verdict::Drop(Category::Ephemeral);
                }
                Verdict::Keep
            }
        }
    }

    /// Decides what to do with an entry.
    ///
    /// # Errors
    /// The entry's payload does not decode.
    pub fn decide<'s>(&'s mut self, entry: &TxnEntry<'_>) -> Result<Decision<'s>> {
        self.decide_peeked(entry, &peek(entry))
    }

    /// Decides what to do with an entry, given what [`peek`] found in it (possibly on another
    /// thread): most entries are then judged without being decoded again.
    ///
    /// # Errors
    /// The entry's payload does not decode.
    pub fn decide_peeked<'s>(
        &'s mut self,
        entry: &TxnEntry<'_>,
        peeked: &EntryPeek,
    ) -> Result<Decision<'s>> {
        let peeked = match &peeked.0 {
            Ok(p) => *p,
            Err(e) => return Err(e.clone()),
        };
        let h = *entry.header();
        let bytes = entry.raw().len();
        self.report.records_in += 1;
        self.report.bytes_in += bytes as u64;
        self.sub_ops.clear();
        let (verdict, digest) = match peeked {
            Peeked::Op {
                path,
                class,
                digest,
            } => {
                let payload = entry.payload();
                let body = payload.get(TXN_HEADER_SIZE..).unwrap_or(&[]);
                let body = if digest {
                    body.get(..body.len().saturating_sub(TXN_DIGEST_SIZE))
                        .unwrap_or(body)
                } else {
                    body
                };
                let verdict = match path.and_then(|(a, b)| payload.get(a..b)) {
                    None => Verdict::Keep,
                    Some(p) => self.judge_op(h.session, h.op, body, (p, class), bytes),
                };
                (verdict, digest)
            }
            Peeked::CreateSession { timeout, digest } => {
                self.session_open.insert(h.session, (Some(timeout), true));
                let verdict = if self.policy.drop_sessions {
                    Verdict::Drop(Category::Session)
                } else {
                    Verdict::Keep
                };
                (verdict, digest)
            }
            Peeked::CloseSession { digest } => (self.judge_close_session(h.session), digest),
            Peeked::Whole => self.judge_whole(entry)?,
        };
        match verdict {
            Verdict::Keep => {
                if self.strip_digests && digest {
                    self.report.digests_stripped += 1;
                    return Ok(Decision::StripDigest);
                }
                Ok(Decision::Keep)
            }
            Verdict::Drop(c) => {
                self.report.drop(c, bytes);
                self.strip_digests = true;
                Ok(Decision::Drop)
            }
            Verdict::Replace(c) => {
                self.report.drop(c, bytes);
                self.report.multis_rewritten += 1;
                self.strip_digests = true;
                if digest {
                    self.report.digests_stripped += 1;
                }
                self.payload.clear();
                TxnHeader { op: op::MULTI, ..h }.encode(&mut self.payload);
                crate::jute::put_i32(&mut self.payload, crate::jute::len_i32(self.sub_ops.count));
                self.payload.extend_from_slice(&self.sub_ops.bytes);
                Ok(Decision::Rewrite(&self.payload))
            }
        }
    }

    /// Judges an entry from its decoded record (multis); also says whether it carries a digest.
    fn judge_whole(&mut self, entry: &TxnEntry<'_>) -> Result<(Verdict, bool)> {
        let rec = entry.record()?;
        let verdict = match &rec.body {
            Txn::Multi(m) if !m.failed() => self.judge_multi(&rec, m)?,
            _ => Verdict::Keep,
        };
        Ok((verdict, rec.digest.is_some()))
    }

    /// A closeSession: the session's dropped ephemerals die with it, so their parents' pzxid
    /// moves; stand-ins keep that when the session is dropped.
    fn judge_close_session(&mut self, session: i64) -> Verdict {
        // Only open sessions are remembered, so memory follows live sessions, not the log.
        let (timeout, _) = self.session_open.remove(&session).unwrap_or((None, true));
        if self.policy.drop_sessions {
            self.report.add_session(DroppedSession {
                id: session,
                timeout,
                open_at_end: false,
            });
        }
        let mut paths: Vec<Arc<[u8]>> = self
            .by_session
            .remove(&session)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        paths.sort_unstable();
        for p in &paths {
            Self::delete_stand_in(&self.parents, &mut self.sub_ops, p);
        }
        for p in &paths {
            self.live.remove(&**p);
            self.release_parent(parent_of(p));
        }
        if !self.policy.drop_sessions {
            Verdict::Keep
        } else if paths.is_empty() {
            Verdict::Drop(Category::Session)
        } else {
            Verdict::Replace(Category::Session)
        }
    }

    fn judge_multi(&mut self, rec: &TxnRecord<'_>, m: &MultiTxn<'_>) -> Result<Verdict> {
        // Kept ops are copied into the reused sub-op buffer too; if nothing changes, the multi
        // is kept as it is and the buffer is simply cleared.
        let mut changed: Option<Category> = None;
        for sub in m.ops() {
            let t = sub.txn()?;
            let data = sub.data.unwrap_or(&[]);
            let before = self.sub_ops.mark();
            let verdict = match OpClass::of(&t) {
                None => Verdict::Keep,
                Some(op) => self.judge_op(rec.header.session, sub.op, data, op, data.len() + 8),
            };
            match verdict {
                Verdict::Keep => self.sub_ops.push(sub.op, data),
                Verdict::Drop(c) => {
                    self.sub_ops.truncate(before);
                    changed = Some(changed.map_or(c, |d| d.min(c)));
                }
                Verdict::Replace(c) => changed = Some(changed.map_or(c, |d| d.min(c))),
            }
        }
        Ok(match changed {
            None => {
                self.sub_ops.clear();
                Verdict::Keep
            }
            Some(c) if self.sub_ops.count == 0 => Verdict::Drop(c),
            Some(c) => Verdict::Replace(c),
        })
    }

    /// Finishes the report: marks still-live ephemerals and still-open sessions.
    pub fn finish(mut self) -> FilterReport {
        let live = &self.live;
        for e in &mut self.report.ephemerals {
            e.live_at_end = live.get(e.path.as_slice()) == Some(&(e.owner, true));
        }
        let mut groups: BTreeMap<Vec<u8>, (u64, u64)> = self
            .dropped_per_parent
            .drain()
            .map(|(parent, n)| (parent, (n, 0)))
            .collect();
        for (path, _) in self.live.iter().filter(|(_, (_, from_log))| *from_log) {
            if let Some(g) = groups.get_mut(parent_of(path)) {
                g.1 += 1;
            }
        }
        self.report.ephemeral_parents = groups;
        if self.policy.drop_sessions {
            let mut ids: Vec<_> = self.session_open.iter().map(|(k, v)| (*k, *v)).collect();
            ids.sort_unstable_by_key(|(k, _)| *k);
            for (id, (timeout, open)) in ids {
                self.report.add_session(DroppedSession {
                    id,
                    timeout,
                    open_at_end: open,
                });
            }
        }
        self.report
    }
}

/// Filters a txn log stream. Kept entries are copied verbatim (or re-framed when rewritten); the
/// output ends after the last kept entry, without padding.
///
/// Reading, framing, checksumming and decoding run one batch ahead on a helper thread
/// ([`LogReader::read_ahead_with`] with [`peek`]); the filter decides and writes on this one.
///
/// With `salvage`, an error in the input ends the output after the last good entry instead of
/// failing; the error is returned alongside the report so the caller can say so loudly.
///
/// # Errors
/// Input errors (with offset and zxid) unless salvaging, and output I/O errors.
pub fn filter_log<R: Read + Send, W: Write>(
    input: R,
    output: W,
    policy: &Policy,
    options: LogFilterOptions,
    learned: &SnapshotKnowledge,
    limits: Limits,
    salvage: bool,
) -> Result<(W, FilterReport, Option<Error>)> {
    let reader = LogReader::new(input, limits)?;
    let (mut filter, mut writer) =
        start_log_filter(reader.header(), output, policy, options, learned)?;
    let (end, salvaged) = reader.read_ahead_with(peek, |entries| {
        filter_entries(entries, &mut filter, &mut writer, salvage, &mut |_| {})
    })?;
    finish_log_filter(filter, writer, end, salvaged)
}

/// [`filter_log`] over a log in memory (a memory-mapped file): entries are framed, checked and
/// decoded ahead on a helper thread without being copied. `progress` is told, every few
/// thousand entries, the offset reached.
///
/// # Errors
/// As [`filter_log`].
#[allow(clippy::too_many_arguments)]
pub fn filter_log_bytes<W: Write>(
    input: &[u8],
    output: W,
    policy: &Policy,
    options: LogFilterOptions,
    learned: &SnapshotKnowledge,
    limits: Limits,
    salvage: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<(W, FilterReport, Option<Error>)> {
    filter_txn_log(
        &TxnLog::parse(input, limits)?,
        output,
        policy,
        options,
        learned,
        salvage,
        progress,
    )
}

/// [`filter_log_bytes`] over a parsed log, which may know its holes
/// ([`TxnLog::with_holes`]): a mapped log's zero tail is then neither read nor paged in.
///
/// # Errors
/// As [`filter_log`].
pub fn filter_txn_log<W: Write>(
    log: &TxnLog<'_>,
    output: W,
    policy: &Policy,
    options: LogFilterOptions,
    learned: &SnapshotKnowledge,
    salvage: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<(W, FilterReport, Option<Error>)> {
    let (mut filter, mut writer) =
        start_log_filter(log.header(), output, policy, options, learned)?;
    let (end, salvaged) = log.read_ahead_with(false, peek, |entries| {
        filter_entries(entries, &mut filter, &mut writer, salvage, progress)
    })?;
    finish_log_filter(filter, writer, end, salvaged)
}

fn start_log_filter<W: Write>(
    header: FileHeader,
    output: W,
    policy: &Policy,
    options: LogFilterOptions,
    learned: &SnapshotKnowledge,
) -> Result<(LogFilter, TxnLogWriter<W>)> {
    let writer = TxnLogWriter::with_header(output, header).map_err(|e| Error::output(&e, 0))?;
    let mut filter = LogFilter::new(policy.clone(), options);
    for (p, o) in &learned.ephemerals {
        filter.learn_ephemeral(p, *o);
    }
    for (p, cv) in &learned.parent_cversions {
        filter.learn_parent_cversion(p, *cv);
    }
    Ok((filter, writer))
}

/// Entries between progress reports.
const PROGRESS_EVERY: u64 = 4096;

/// Decides on and writes every entry; returns how the log ended and, when salvaging, the error
/// that ended it.
fn filter_entries<W: Write>(
    entries: &mut ReadAhead<'_, EntryPeek>,
    filter: &mut LogFilter,
    writer: &mut TxnLogWriter<W>,
    salvage: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<(Option<LogEnd>, Option<Error>)> {
    loop {
        let (entry, peeked) = match entries.next_prepared() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) if salvage => return Ok((None, Some(e))),
            Err(e) => return Err(e),
        };
        if entry.index() % PROGRESS_EVERY == 0 {
            progress(entry.offset());
        }
        let decision = match filter.decide_peeked(&entry, peeked) {
            Ok(d) => d,
            Err(e) if salvage => return Ok((None, Some(e))),
            Err(e) => return Err(e),
        };
        let w = match decision {
            Decision::Keep => writer.append_entry(&entry),
            Decision::Rewrite(p) => writer.append_payload(p),
            Decision::StripDigest => writer.append_entry_without_digest(&entry),
            Decision::Drop => Ok(()),
        };
        w.map_err(|e| Error::output(&e, entry.offset()))?;
    }
    Ok((entries.end(), None))
}

fn finish_log_filter<W: Write>(
    filter: LogFilter,
    writer: TxnLogWriter<W>,
    log_end: Option<LogEnd>,
    salvaged: Option<Error>,
) -> Result<(W, FilterReport, Option<Error>)> {
    let mut report = filter.finish();
    report.log_end = log_end;
    report.records_out = writer.entries_written();
    report.bytes_out = writer.bytes_written();
    let out = writer.finish().map_err(|e| Error::output(&e, 0))?;
    Ok((out, report, salvaged))
}

/// What a log filter learns from the snapshot the log follows: which paths were already
/// ephemeral, and the stored cversion of their parents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotKnowledge {
    /// Ephemeral paths and their owners.
    pub ephemerals: Vec<(Vec<u8>, i64)>,
    /// Stored cversion of each parent of an ephemeral.
    pub parent_cversions: Vec<(Vec<u8>, i32)>,
}

/// Reads a snapshot twice (`open` is called twice): first for its ephemeral nodes, then for the
/// cversion of their parents. Memory follows the number of ephemerals.
///
/// # Errors
/// Problems in the snapshot.
pub fn learn_from_snapshot<'r>(
    mut open: impl FnMut() -> Result<SnapshotReader<'r>>,
) -> Result<SnapshotKnowledge> {
    let mut k = SnapshotKnowledge::default();
    let mut parents: HashSet<Vec<u8>> = HashSet::default();
    let mut reader = open()?;
    while let Some(item) = reader.next_item()? {
        if let SnapshotItem::Node(n) = item.value {
            if let NodeKind::Ephemeral(owner) = n.stat.kind() {
                k.ephemerals.push((n.path.to_vec(), owner));
                parents.insert(parent_of(n.path).to_vec());
            }
        }
    }
    if parents.is_empty() {
        return Ok(k);
    }
    let mut reader = open()?;
    while let Some(item) = reader.next_item()? {
        if let SnapshotItem::Node(n) = item.value {
            let path: &[u8] = if n.path.is_empty() { b"/" } else { n.path };
            if parents.contains(path) {
                k.parent_cversions.push((path.to_vec(), n.stat.cversion));
            }
        }
    }
    Ok(k)
}

impl SnapshotKnowledge {
    /// Takes in the txns of a log that lies between the snapshot and the log to filter (txns at
    /// or below `after` are skipped): ephemerals created there are known too, those deleted or
    /// closed with their session are forgotten, and parents' cversions follow the creates. So a
    /// log filtered on its own knows the ephemerals an earlier log created.
    ///
    /// # Errors
    /// Problems in the log.
    pub fn learn_from_log<R: std::io::Read>(
        &mut self,
        mut log: crate::txnlog::LogReader<R>,
        after: Zxid,
    ) -> Result<()> {
        let mut eph: HashMap<Vec<u8>, i64> = self.ephemerals.drain(..).collect();
        let mut cv: HashMap<Vec<u8>, i32> = self.parent_cversions.drain(..).collect();
        while let Some(entry) = log.next_entry()? {
            if entry.zxid() <= after {
                continue;
            }
            let rec = entry.record()?;
            let session = rec.header.session;
            let mut apply = |t: &Txn<'_>| match t {
                Txn::Create(c) | Txn::Create2(c) => {
                    let parent = parent_of(c.path).to_vec();
                    if c.ephemeral.get() {
                        eph.insert(c.path.to_vec(), session);
                        if let Some(v) = c.parent_cversion {
                            cv.insert(parent, v);
                        }
                    } else if let (Some(v), Some(slot)) = (c.parent_cversion, cv.get_mut(&parent)) {
                        *slot = v;
                    }
                }
                Txn::Delete { path } | Txn::DeleteContainer { path } => {
                    eph.remove(*path);
                }
                Txn::CloseSession(_) => eph.retain(|_, owner| *owner != session),
                _ => {}
            };
            match &rec.body {
                Txn::Multi(m) if !m.failed() => {
                    for op in m.ops() {
                        if let Ok(t) = op.txn() {
                            apply(&t);
                        }
                    }
                }
                other => apply(other),
            }
        }
        self.ephemerals = eph.into_iter().collect();
        self.ephemerals.sort();
        self.parent_cversions = cv.into_iter().collect();
        self.parent_cversions.sort();
        Ok(())
    }
}

/// Filters a snapshot stream into `output` (which the caller wraps in a compressor if wanted).
/// The tail sections follow the input's; the session table is dropped (or kept); the ACL cache is
/// kept whole, so no kept node's ACL reference changes.
///
/// `name_zxid` is the zxid in the input's file name, when known (it decides whether the stored
/// digest can be compared, as ZooKeeper decides at load).
///
/// # Errors
/// Problems in the input (with offsets) and output I/O errors.
pub fn filter_snapshot<W: Write>(
    mut reader: SnapshotReader<'_>,
    output: W,
    policy: &Policy,
    name_zxid: Option<Zxid>,
) -> Result<(W, FilterReport, SnapshotSummary)> {
    let mut report = FilterReport::default();
    let mut out = Some(output);
    let mut writer: Option<SnapshotWriter<W>> = None;
    let mut sessions: Vec<Session> = Vec::new();
    let mut acl_count = 0i32;
    let mut acl_bytes: Vec<u8> = Vec::new();
    let mut acls_done = false;
    let io = |e: io::Error| Error::output(&e, 0);
    let mut stored_digest: Option<ZxidDigest> = None;
    let mut stored_last: Option<Zxid> = None;
    while let Some(item) = reader.next_item()? {
        let at = item.offset;
        match item.value {
            SnapshotItem::Header(h) => {
                if let Some(o) = out.take() {
                    writer = Some(SnapshotWriter::with_header(o, h).map_err(io)?);
                }
            }
            SnapshotItem::Session(s) => {
                report.records_in += 1;
                report.bytes_in += item.raw.len() as u64;
                if policy.drop_sessions {
                    report.drop(Category::Session, item.raw.len());
                    report.add_session(DroppedSession {
                        id: s.id,
                        timeout: Some(s.timeout),
                        open_at_end: true,
                    });
                } else {
                    report.records_out += 1;
                    report.bytes_out += item.raw.len() as u64;
                    sessions.push(s);
                }
            }
            SnapshotItem::AclCacheCount(n) => {
                if let Some(w) = writer.as_mut() {
                    w.write_sessions(&sessions).map_err(io)?;
                }
                acl_count = n;
            }
            SnapshotItem::AclEntry(_) => acl_bytes.extend_from_slice(item.raw),
            SnapshotItem::Node(n) => {
                let w = writer.as_mut().ok_or_else(|| {
                    Error::new(ErrorKind::InvalidInput("node before header".into()), at)
                })?;
                if !acls_done {
                    w.write_acl_cache_encoded(acl_count, &acl_bytes)
                        .map_err(io)?;
                    acls_done = true;
                }
                report.records_in += 1;
                report.bytes_in += item.raw.len() as u64;
                let kind = n.stat.kind();
                if let Some(i) = policy.prefix_of(n.path) {
                    report.drop(Category::Prefix, item.raw.len());
                    report.add_prefix(policy, i, item.raw.len());
                    continue;
                }
                if let (true, NodeKind::Ephemeral(owner)) = (policy.drop_ephemerals, kind) {
                    report.drop(Category::Ephemeral, item.raw.len());
                    report.add_ephemeral(DroppedEphemeral {
                        path: n.path.to_vec(),
                        owner,
                        data_len: n.data.map_or(0, <[u8]>::len),
                        live_at_end: true,
                    });
                    continue;
                }
                match kind {
                    NodeKind::Ttl(_) => report.ttl_nodes += 1,
                    NodeKind::Container => report.container_nodes += 1,
                    _ => {}
                }
                w.write_node(&n).map_err(|e| match e.kind() {
                    io::ErrorKind::InvalidInput => {
                        Error::new(ErrorKind::InvalidInput(e.to_string()), at)
                    }
                    _ => Error::output(&e, at),
                })?;
                report.records_out += 1;
                report.bytes_out += item.raw.len() as u64;
            }
            SnapshotItem::Digest(d) => stored_digest = Some(d),
            SnapshotItem::LastZxid(z) => stored_last = Some(z),
            _ => {}
        }
    }
    let summary = reader.summary();
    let w =
        writer.ok_or_else(|| Error::new(ErrorKind::InvalidInput("empty snapshot".into()), 0))?;
    let digest = match stored_digest {
        None => None,
        Some(d) if report.nothing_dropped() => {
            report.digest_note = Some("kept as it was (nothing dropped)".into());
            Some(d)
        }
        Some(d) => match summary.digest_check(name_zxid) {
            DigestCheck::Match => {
                report.digest_note = Some("recomputed for the filtered tree".into());
                Some(ZxidDigest {
                    zxid: d.zxid,
                    version: DIGEST_VERSION,
                    digest: w.tree_digest().value(),
                })
            }
            other => {
                report.digest_note = Some(format!(
                    "written empty (zxid 0, ignored by ZooKeeper): the input's digest ({other:?}) does not describe the stored tree, so it cannot be adjusted"
                ));
                Some(ZxidDigest {
                    zxid: Zxid(0),
                    version: DIGEST_VERSION,
                    digest: 0,
                })
            }
        },
    };
    let out = w.finish_sections(digest, stored_last).map_err(io)?;
    Ok((out, report, summary))
}

/// Filters a replayed tree in place: drops the session table, ephemeral nodes and prefix
/// subtrees. Parents keep their stats.
pub fn filter_tree(tree: &mut DataTree, policy: &Policy) -> FilterReport {
    let mut report = FilterReport::default();
    let mut doomed: Vec<(Vec<u8>, Option<Category>, Option<usize>)> = Vec::new();
    for (path, node) in tree.nodes() {
        report.records_in += 1;
        report.bytes_in += encoded_node_len(path, node.data.as_deref()) as u64;
        if let Some(i) = policy.prefix_of(path) {
            doomed.push((path.to_vec(), Some(Category::Prefix), Some(i)));
        } else if let (true, NodeKind::Ephemeral(_)) = (policy.drop_ephemerals, node.stat.kind()) {
            doomed.push((path.to_vec(), Some(Category::Ephemeral), None));
        } else {
            match node.stat.kind() {
                NodeKind::Ttl(_) => report.ttl_nodes += 1,
                NodeKind::Container => report.container_nodes += 1,
                _ => {}
            }
        }
    }
    // In path order, as the report lists them.
    doomed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (path, cat, idx) in doomed {
        let Some(node) = tree.remove_node(&path) else {
            continue;
        };
        let bytes = encoded_node_len(&path, node.data.as_deref());
        match (cat, idx) {
            (Some(Category::Prefix), Some(i)) => {
                report.drop(Category::Prefix, bytes);
                report.add_prefix(policy, i, bytes);
            }
            _ => {
                report.drop(Category::Ephemeral, bytes);
                report.add_ephemeral(DroppedEphemeral {
                    data_len: node.data.as_ref().map_or(0, Vec::len),
                    path,
                    owner: node.stat.ephemeral_owner,
                    live_at_end: true,
                });
            }
        }
    }
    let session_rows = tree.sessions.len() as u64;
    report.records_in += session_rows;
    report.bytes_in += SESSION_ROW_LEN as u64 * session_rows;
    if policy.drop_sessions {
        let sessions = std::mem::take(&mut tree.sessions);
        for (id, timeout) in sessions {
            report.drop(Category::Session, SESSION_ROW_LEN);
            report.add_session(DroppedSession {
                id,
                timeout: Some(timeout),
                open_at_end: true,
            });
        }
    }
    report.records_out = tree.len() as u64 + tree.sessions.len() as u64;
    report.bytes_out = report.bytes_in - report.dropped.values().map(|d| d.1).sum::<u64>();
    report
}

/// A session-table row in a snapshot: id (8 bytes) and timeout (4).
const SESSION_ROW_LEN: usize = 12;

/// The size of a node as a snapshot stores it: path (4 + n), data (4 + n), ACL key (8) and the
/// persisted stat (60).
fn encoded_node_len(path: &[u8], data: Option<&[u8]>) -> usize {
    // The root is stored as "" and has no data of note; same formula.
    4 + path.len() + 4 + data.map_or(0, <[u8]>::len) + 8 + 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Acl, AclList};
    use crate::jute;
    use crate::tree::DataTree;
    use crate::txnlog::TxnLog;

    struct LogBuilder(TxnLogWriter<Vec<u8>>, i64);

    impl LogBuilder {
        fn new() -> LogBuilder {
            LogBuilder(TxnLogWriter::new(Vec::new()).unwrap(), 0)
        }
        fn add(&mut self, session: i64, op_code: i32, body: &[u8], digest: bool) -> &mut Self {
            self.1 += 1;
            let mut p = Vec::new();
            TxnHeader {
                session,
                cxid: 0,
                zxid: Zxid(self.1),
                time: 1,
                op: op_code,
            }
            .encode(&mut p);
            p.extend_from_slice(body);
            if digest {
                jute::put_i32(&mut p, 2);
                jute::put_i64(&mut p, 12345);
            }
            self.0.append_payload(&p).unwrap();
            self
        }
        fn done(self) -> Vec<u8> {
            self.0.finish().unwrap()
        }
    }

    fn create(path: &[u8], eph: bool) -> Vec<u8> {
        let mut b = Vec::new();
        jute::put_string(&mut b, path);
        jute::put_buffer(&mut b, Some(b"x"));
        AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut b);
        b.push(u8::from(eph));
        jute::put_i32(&mut b, 1);
        b
    }

    fn path_body(path: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        jute::put_string(&mut b, path);
        b
    }

    fn run(input: &[u8], policy: &Policy) -> (Vec<u8>, FilterReport) {
        let (out, report, err) = filter_log(
            input,
            Vec::new(),
            policy,
            LogFilterOptions::default(),
            &SnapshotKnowledge::default(),
            Limits::default(),
            false,
        )
        .unwrap();
        assert!(err.is_none());
        (out, report)
    }

    fn ops(log: &[u8]) -> Vec<(i64, i32)> {
        TxnLog::parse(log, Limits::default())
            .unwrap()
            .entries()
            .map(|e| {
                let e = e.unwrap();
                (e.zxid().0, e.header().op)
            })
            .collect()
    }

    #[test]
    fn vanishing_creates_are_the_same_record_made_persistent() {
        // With and without parentCVersion (pre-3.4 CreateTxnV0), any non-zero flag byte.
        for (with_pcv, flag) in [(true, 1u8), (false, 1), (true, 0x7f)] {
            let mut body = Vec::new();
            jute::put_string(&mut body, b"/p/e");
            jute::put_buffer(&mut body, Some(b"data"));
            AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut body);
            body.push(flag);
            if with_pcv {
                jute::put_i32(&mut body, 42);
            }
            let mut payload = Vec::new();
            TxnHeader {
                session: 9,
                cxid: 1,
                zxid: Zxid(5),
                time: 0,
                op: op::CREATE,
            }
            .encode(&mut payload);
            payload.extend_from_slice(&body);
            let rec = TxnRecord::decode(&payload, 0, Limits::default()).unwrap();
            let Txn::Create(c) = rec.body else {
                panic!("not a create: {:?}", rec.body)
            };
            let (path, class) = OpClass::of(&rec.body).unwrap();
            let mut got = SubOps::default();
            vanishing_create(&mut got, op::CREATE, &body, class, path);
            let mut want = SubOps::default();
            want.push_with(op::CREATE, |b| {
                Txn::Create(crate::txn::CreateTxn {
                    ephemeral: jute::JuteBool(0),
                    parent_cversion: Some(c.parent_cversion.unwrap_or(-1)),
                    ..c
                })
                .encode(b)
            });
            want.push_with(op::DELETE, |b| jute::put_string(b, b"/p/e"));
            assert_eq!(
                (got.count, &got.bytes),
                (want.count, &want.bytes),
                "{with_pcv} {flag}"
            );
        }
    }

    #[test]
    fn per_parent_counts_are_bounded() {
        // Every ephemeral under its own parent: only the first REPORT_DETAIL_LIMIT parents are
        // listed, the rest are counted.
        let mut b = LogBuilder::new();
        let n = REPORT_DETAIL_LIMIT + 700;
        for i in 0..n {
            b.add(
                7,
                op::CREATE,
                &create(format!("/p{i}/e").as_bytes(), true),
                false,
            );
        }
        let (_, report) = run(&b.done(), &Policy::default());
        assert_eq!(report.ephemeral_parents.len(), REPORT_DETAIL_LIMIT);
        assert_eq!(report.ephemerals_in_unlisted_parents, 700);
        assert!(report.truncated);
        let listed: u64 = report.ephemeral_parents.values().map(|g| g.0).sum();
        assert_eq!(listed + 700, n as u64);
        assert!(report.ephemeral_parents.values().all(|g| *g == (1, 1)));
    }

    #[test]
    fn per_parent_counts_stay_exact_past_the_detail_limit() {
        // More dropped ephemerals than the report lists one by one: the per-parent counts and
        // their live-at-end numbers must still be exact.
        let mut b = LogBuilder::new();
        let n = REPORT_DETAIL_LIMIT + 500;
        for i in 0..n {
            let parent = if i % 2 == 0 { "/even" } else { "/odd" };
            b.add(
                7,
                op::CREATE,
                &create(format!("{parent}/e{i}").as_bytes(), true),
                false,
            );
        }
        // Delete the first 100 under /even; the rest stay live.
        for i in (0..200).step_by(2) {
            b.add(
                7,
                op::DELETE,
                &path_body(format!("/even/e{i}").as_bytes()),
                false,
            );
        }
        let (_, report) = run(&b.done(), &Policy::default());
        assert!(report.truncated);
        assert_eq!(report.ephemerals.len(), REPORT_DETAIL_LIMIT);
        let half = (n / 2) as u64;
        assert_eq!(
            report.ephemeral_parents.get(&b"/even"[..]),
            Some(&(half, half - 100))
        );
        assert_eq!(
            report.ephemeral_parents.get(&b"/odd"[..]),
            Some(&(half, half))
        );
    }

    #[test]
    fn drops_sessions_ephemerals_and_their_txns() {
        let mut timeout = Vec::new();
        jute::put_i32(&mut timeout, 30000);
        let mut b = LogBuilder::new();
        b.add(7, op::CREATE_SESSION, &timeout, true)
            .add(7, op::CREATE, &create(b"/locks", false), true)
            .add(7, op::CREATE2, &create(b"/locks/l-1", true), true)
            .add(7, op::DELETE, &path_body(b"/locks/l-1"), true)
            .add(8, op::CREATE2, &create(b"/locks/l-2", true), true)
            .add(8, op::CLOSE_SESSION, &[], true)
            .add(9, op::CREATE, &create(b"/locks/l-2", false), true)
            .add(9, op::DELETE, &path_body(b"/locks/l-2"), true);
        let log = b.done();
        let (out, report) = run(&log, &Policy::default());
        assert_eq!(
            ops(&out),
            vec![
                (2, op::CREATE),
                (3, op::MULTI),
                (4, op::MULTI),
                (5, op::MULTI),
                (6, op::MULTI),
                (7, op::CREATE),
                (8, op::DELETE)
            ]
        );
        assert_eq!(report.dropped[&Category::Session].0, 2);
        assert_eq!(report.dropped[&Category::Ephemeral].0, 3);
        assert_eq!(report.ephemerals.len(), 2);
        // Replaying the filtered log gives the filtered replay of the original: same nodes, and
        // the same parent stats (cversion, pzxid), so sequence numbers never repeat.
        let replay = |log: &[u8]| {
            let mut t = DataTree::empty();
            for e in TxnLog::parse(log, Limits::default()).unwrap().entries() {
                t.apply(&e.unwrap().record().unwrap());
            }
            t
        };
        let mut original = replay(&log);
        filter_tree(&mut original, &Policy::default());
        let filtered = replay(&out);
        assert_eq!(filtered.sorted_paths(), original.sorted_paths());
        for p in original.sorted_paths() {
            assert_eq!(
                filtered.get(p).unwrap().stat,
                original.get(p).unwrap().stat,
                "{}",
                String::from_utf8_lossy(p)
            );
        }
        // The first kept entry precedes every drop: its digest stays; later ones lose theirs.
        let parsed = TxnLog::parse(&out, Limits::default()).unwrap();
        let digests: Vec<bool> = parsed
            .entries()
            .map(|e| e.unwrap().record().unwrap().digest.is_some())
            .collect();
        assert!(digests.iter().all(|d| !d));
        // Idempotent, and keep-all reproduces the input.
        let (again, _) = run(&out, &Policy::default());
        assert_eq!(again, out);
        let (same, r) = run(&log, &Policy::keep_all());
        assert_eq!(same, log);
        assert!(r.nothing_dropped());
    }

    #[test]
    fn multi_is_rewritten_and_prefixes_drop() {
        let c1 = create(b"/app/e", true);
        let c2 = create(b"/app/p", false);
        let c3 = create(b"/tmp/x", false);
        let mut m = Vec::new();
        MultiTxn::encode_ops(
            [
                (op::CREATE, &c1[..]),
                (op::CREATE, &c2[..]),
                (op::CREATE, &c3[..]),
            ]
            .into_iter(),
            &mut m,
        );
        let mut b = LogBuilder::new();
        b.add(7, op::MULTI, &m, false);
        let log = b.done();
        let mut policy = Policy::default();
        policy.drop_prefix("/tmp").unwrap();
        let (out, report) = run(&log, &policy);
        assert_eq!(report.multis_rewritten, 1);
        let parsed = TxnLog::parse(&out, Limits::default()).unwrap();
        let e = parsed.entries().next().unwrap().unwrap();
        let Txn::Multi(m) = e.record().unwrap().body else {
            panic!()
        };
        let paths: Vec<_> = m
            .ops()
            .map(|o| o.txn().unwrap().path().unwrap().to_vec())
            .collect();
        let expected: Vec<Vec<u8>> = [&b"/app/e"[..], b"/app/e", b"/app/p", b"/tmp/x", b"/tmp/x"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        assert_eq!(paths, expected);
        assert_eq!(report.prefix_drops[&b"/tmp".to_vec()].0, 1);
        assert!(policy.prefix_of(b"/tmp").is_none());
        assert!(policy.prefix_of(b"/tmpx").is_none());
        assert!(Policy::default().drop_prefix("/").is_err());
    }
}
