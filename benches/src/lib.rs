//! Bench inputs for `zkformat`/`zkfilter`: the real files in `testdata/`, and large txn logs,
//! snapshots and data dirs generated with zkformat's writers, seeded with the op mix, path shapes
//! and data sizes observed in the real logs (see [`Mix::observe`]).
//!
//! The generated history is a valid one: every txn is applied to a [`DataTree`] as it is
//! generated, so parents exist, versions and parent cversions are right, sequential names follow
//! the parent's cversion, closeSession lists its session's ephemerals, and every entry carries the
//! exact 3.6+ TxnDigest. A ZooKeeper server loads the data dir without complaint.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkformat::compression::{Compression, Compressor};
use zkformat::jute;
use zkformat::snapshot::{SnapshotReader, Tail};
use zkformat::tree::DataTree;
use zkformat::txn::{op, Txn, TxnDigest, TxnHeader, TxnRecord};
use zkformat::txnlog::{TxnLog, TxnLogWriter};
use zkformat::{Limits, Zxid};

/// The workspace root (benches/..).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every real txn log under `testdata/zk-3.8` and `testdata/zk-3.9`, sorted.
pub fn real_logs(testdata: &Path) -> Vec<PathBuf> {
    real_files(testdata, "log.")
}

/// Every real snapshot under `testdata/zk-3.8` and `testdata/zk-3.9`, sorted.
pub fn real_snapshots(testdata: &Path) -> Vec<PathBuf> {
    real_files(testdata, "snapshot.")
}

fn real_files(testdata: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for version in ["zk-3.8", "zk-3.9"] {
        let Ok(scenarios) = fs::read_dir(testdata.join(version)) else {
            continue;
        };
        for s in scenarios.flatten() {
            let Ok(files) = fs::read_dir(s.path().join("version-2")) else {
                continue;
            };
            for f in files.flatten() {
                if f.file_name().to_string_lossy().starts_with(prefix) {
                    v.push(f.path());
                }
            }
        }
    }
    v.sort();
    v
}

/// The txn kinds the generator writes (top-level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// create / create2 / createContainer / createTTL.
    Create,
    /// delete / deleteContainer.
    Delete,
    /// setData / reconfig / setACL.
    SetData,
    /// error txns (failed writes).
    Error,
    /// createSession.
    CreateSession,
    /// closeSession (with paths2Delete, as 3.6+ writes it).
    CloseSession,
    /// multi.
    Multi,
}

const KINDS: [Kind; 7] = [
    Kind::Create,
    Kind::Delete,
    Kind::SetData,
    Kind::Error,
    Kind::CreateSession,
    Kind::CloseSession,
    Kind::Multi,
];

/// What the real logs look like.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Top-level txn counts by kind.
    pub counts: HashMap<Kind, u64>,
    /// Data lengths of creates and setData (null data as `None`).
    pub data_lens: Vec<Option<usize>>,
    /// Depth (number of path segments) of created paths.
    pub depths: Vec<usize>,
    /// Lengths of the last segment of created paths (without a sequence suffix).
    pub name_lens: Vec<usize>,
    /// Fraction of creates that are ephemeral.
    pub ephemeral: f64,
    /// Fraction of creates that are sequential (name ends with 10 digits).
    pub sequential: f64,
    /// Error codes of error txns.
    pub errors: Vec<i32>,
    /// Sub-op counts of multis.
    pub multi_lens: Vec<usize>,
    /// Logs read.
    pub files: usize,
}

impl Mix {
    /// Reads the real logs under `testdata` and records what they hold. Falls back to the counts
    /// in testdata/README.md when there are none.
    pub fn observe(testdata: &Path) -> Mix {
        let mut m = Mix {
            counts: HashMap::new(),
            data_lens: Vec::new(),
            depths: Vec::new(),
            name_lens: Vec::new(),
            ephemeral: 0.0,
            sequential: 0.0,
            errors: Vec::new(),
            multi_lens: Vec::new(),
            files: 0,
        };
        let (mut creates, mut eph, mut seq) = (0u64, 0u64, 0u64);
        for path in real_logs(testdata) {
            let Ok(bytes) = fs::read(&path) else { continue };
            let Ok(log) = TxnLog::parse(&bytes, Limits::default()) else {
                continue;
            };
            m.files += 1;
            for entry in log.entries_lenient().flatten() {
                let Ok(rec) = entry.record() else { continue };
                let kind = match rec.body {
                    Txn::Create(c) | Txn::Create2(c) => {
                        creates += 1;
                        eph += u64::from(c.ephemeral.get());
                        let name = c.path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
                        let is_seq = name.len() > 10
                            && name[name.len() - 10..].iter().all(u8::is_ascii_digit);
                        seq += u64::from(is_seq);
                        m.name_lens.push(name.len() - if is_seq { 10 } else { 0 });
                        m.depths.push(c.path.iter().filter(|&&b| b == b'/').count());
                        m.data_lens.push(c.data.map(<[u8]>::len));
                        Kind::Create
                    }
                    Txn::CreateContainer(c) | Txn::CreateTtl(c) => {
                        m.data_lens.push(c.data.map(<[u8]>::len));
                        Kind::Create
                    }
                    Txn::Delete { .. } | Txn::DeleteContainer { .. } => Kind::Delete,
                    Txn::SetData(s) | Txn::Reconfig(s) => {
                        m.data_lens.push(s.data.map(<[u8]>::len));
                        Kind::SetData
                    }
                    Txn::SetAcl(_) => Kind::SetData,
                    Txn::Error { err } => {
                        m.errors.push(err);
                        Kind::Error
                    }
                    Txn::CreateSession { .. } => Kind::CreateSession,
                    Txn::CloseSession(_) => Kind::CloseSession,
                    Txn::Multi(mt) => {
                        m.multi_lens.push(mt.len());
                        Kind::Multi
                    }
                    Txn::Check { .. } => continue,
                };
                *m.counts.entry(kind).or_default() += 1;
            }
        }
        if creates == 0 {
            // testdata/README.md, 3.8 column.
            for (k, n) in [
                (Kind::Create, 505),
                (Kind::Delete, 107),
                (Kind::SetData, 254),
                (Kind::Error, 316),
                (Kind::CreateSession, 52),
                (Kind::CloseSession, 26),
                (Kind::Multi, 30),
            ] {
                m.counts.insert(k, n);
            }
            m.data_lens = vec![
                Some(5),
                Some(6),
                Some(0),
                None,
                Some(256),
                Some(9),
                Some(12),
            ];
            m.depths = vec![1, 2, 2, 2, 3, 3, 4, 5];
            m.name_lens = vec![3, 4, 5, 6, 8];
            m.errors = vec![-101, -110, -103];
            m.multi_lens = vec![2, 3, 4];
            creates = 10;
            eph = 1;
            seq = 3;
        }
        if m.errors.is_empty() {
            m.errors.push(-101);
        }
        if m.multi_lens.is_empty() {
            m.multi_lens.push(3);
        }
        m.ephemeral = eph as f64 / creates.max(1) as f64;
        m.sequential = seq as f64 / creates.max(1) as f64;
        m
    }

    /// A one-paragraph description of the mix.
    pub fn describe(&self) -> String {
        let total: u64 = self.counts.values().sum();
        let mut s = format!("{} real logs, {total} txns: ", self.files);
        for k in KINDS {
            let n = self.counts.get(&k).copied().unwrap_or(0);
            s.push_str(&format!(
                "{k:?} {:.1}%, ",
                100.0 * n as f64 / total.max(1) as f64
            ));
        }
        let lens: Vec<usize> = self.data_lens.iter().flatten().copied().collect();
        let mean = lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64;
        s.push_str(&format!(
            "data length mean {mean:.1} (max {}), null data {:.1}%, ephemeral creates {:.1}%, sequential {:.1}%, max depth {}",
            lens.iter().max().copied().unwrap_or(0),
            100.0 * self.data_lens.iter().filter(|d| d.is_none()).count() as f64
                / self.data_lens.len().max(1) as f64,
            100.0 * self.ephemeral,
            100.0 * self.sequential,
            self.depths.iter().max().copied().unwrap_or(1)
        ));
        s
    }
}

/// Sizes and options of a generated input set.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Nodes in the snapshot (the tree before the log).
    pub nodes: usize,
    /// Bytes of txn log to write after the snapshot.
    pub log_bytes: u64,
    /// RNG seed.
    pub seed: u64,
    /// The real testdata folder (op mix, and the start tree from a real `snapshot.0`).
    pub testdata: PathBuf,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `<out>/datadir` (holds `version-2/`).
    pub datadir: PathBuf,
    /// The plain snapshot inside the data dir.
    pub snapshot: PathBuf,
    /// The log inside the data dir.
    pub log: PathBuf,
    /// gzip copy of the snapshot (outside the data dir).
    pub snapshot_gz: PathBuf,
    /// snappy copy of the snapshot (outside the data dir).
    pub snapshot_snappy: PathBuf,
    /// Nodes in the snapshot.
    pub snapshot_nodes: usize,
    /// Nodes after the log.
    pub final_nodes: usize,
    /// Txns in the log.
    pub log_txns: u64,
}

const DIGEST_ACL: &[u8] = b"alice:JYdjG/dL2+v79QyuS8/0gpT+rQQ=";

struct Gen {
    rng: StdRng,
    mix: Mix,
    weights: Vec<(Kind, f64)>,
    tree: DataTree,
    persist: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, usize>,
    children: HashMap<Vec<u8>, u32>,
    sessions: Vec<i64>,
    eph: HashMap<i64, Vec<Vec<u8>>>,
    next_session: i64,
    counter: u32,
    time: i64,
    cxid: i32,
    noise: Vec<u8>,
    payload: Vec<u8>,
    max_depth: usize,
    root_children: u32,
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(i) => &path[..i],
    }
}

fn tree_key(path: &[u8]) -> &[u8] {
    if path == b"/" {
        b""
    } else {
        path
    }
}

impl Gen {
    fn new(opts: &GenOptions, mix: Mix) -> Gen {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let noise: Vec<u8> = (0..1 << 20).map(|_| rng.gen_range(b' '..=b'~')).collect();
        // Start from the tree a real 3.8 server writes at first start-up, if present.
        let start = opts.testdata.join("zk-3.8/basic/version-2/snapshot.0");
        let tree = fs::read(&start)
            .ok()
            .and_then(|b| {
                SnapshotReader::open(&b[..], Limits::default())
                    .and_then(|r| DataTree::from_snapshot(r, Zxid(0)))
                    .ok()
                    .map(|(t, _)| t)
            })
            .unwrap_or_else(DataTree::empty);
        let max_depth = mix.depths.iter().max().copied().unwrap_or(4).max(3);
        let weights = KINDS
            .iter()
            .map(|&k| (k, mix.counts.get(&k).copied().unwrap_or(0) as f64))
            .collect();
        Gen {
            rng,
            mix,
            weights,
            tree,
            persist: Vec::new(),
            index: HashMap::new(),
            children: HashMap::new(),
            sessions: Vec::new(),
            eph: HashMap::new(),
            next_session: 0x0100_0019_94b1_0000,
            counter: 0,
            time: 1_795_000_000_000,
            cxid: 0,
            noise,
            payload: Vec::new(),
            max_depth,
            root_children: 0,
        }
    }

    fn pick_kind(&mut self) -> Kind {
        let total: f64 = self.weights.iter().map(|w| w.1).sum();
        let mut x = self.rng.gen::<f64>() * total;
        for &(k, w) in &self.weights {
            if x < w {
                return k;
            }
            x -= w;
        }
        Kind::SetData
    }

    fn data(&mut self) -> Option<(usize, usize)> {
        let i = self.rng.gen_range(0..self.mix.data_lens.len());
        let len = self.mix.data_lens[i]?.min(self.noise.len());
        let at = self.rng.gen_range(0..=self.noise.len() - len);
        Some((at, len))
    }

    fn put_data(&mut self, out: &mut Vec<u8>) {
        match self.data() {
            None => jute::put_buffer(out, None),
            Some((at, len)) => jute::put_buffer(out, Some(&self.noise[at..at + len])),
        }
    }

    fn session(&mut self) -> i64 {
        if self.sessions.is_empty() {
            return 0;
        }
        self.sessions[self.rng.gen_range(0..self.sessions.len())]
    }

    fn depth(path: &[u8]) -> usize {
        path.iter().filter(|&&b| b == b'/').count()
    }

    /// A parent for a new node: the root (while it has few children) or a persistent node that
    /// is not too deep, following the observed depth distribution.
    fn pick_parent(&mut self) -> Vec<u8> {
        let want = self.mix.depths[self.rng.gen_range(0..self.mix.depths.len())];
        if self.persist.is_empty() || (want <= 1 && self.root_children < 32) {
            return b"/".to_vec();
        }
        for _ in 0..16 {
            let p = &self.persist[self.rng.gen_range(0..self.persist.len())];
            let d = Self::depth(p);
            if d < self.max_depth && d < want.max(2) {
                return p.clone();
            }
        }
        b"/".to_vec()
    }

    fn new_child(&mut self, parent: &[u8], sequential: bool) -> Vec<u8> {
        loop {
            let i = self.rng.gen_range(0..self.mix.name_lens.len());
            let len = self.mix.name_lens[i].clamp(1, 40);
            let mut path = if parent == b"/" {
                Vec::new()
            } else {
                parent.to_vec()
            };
            path.push(b'/');
            if sequential {
                let cv = self
                    .tree
                    .get(tree_key(parent))
                    .map_or(0, |n| n.stat.cversion);
                let names: [&[u8]; 4] = [b"seq-", b"lock-", b"member-", b"job-"];
                path.extend_from_slice(names[self.rng.gen_range(0..names.len())]);
                path.extend_from_slice(format!("{cv:010}").as_bytes());
            } else {
                for _ in 0..len {
                    let c = b"abcdefghijklmnopqrstuvwxyz0123456789-_"[self.rng.gen_range(0..38)];
                    path.push(c);
                }
            }
            if self.tree.get(&path).is_none() {
                return path;
            }
            if sequential {
                // Cannot happen with ZooKeeper's rules; fall back to a plain name.
                return self.new_child(parent, false);
            }
        }
    }

    fn parent_cversion(&self, parent: &[u8]) -> i32 {
        self.tree
            .get(tree_key(parent))
            .map_or(0, |n| n.stat.cversion)
            + 1
    }

    fn encode_create(&mut self, out: &mut Vec<u8>, path: &[u8], ephemeral: bool, pcv: i32) {
        jute::put_string(out, path);
        self.put_data(out);
        jute::put_i32(out, 1);
        if self.rng.gen_ratio(1, 20) {
            jute::put_i32(out, 31);
            jute::put_string(out, b"digest");
            jute::put_string(out, DIGEST_ACL);
        } else {
            jute::put_i32(out, 31);
            jute::put_string(out, b"world");
            jute::put_string(out, b"anyone");
        }
        out.push(u8::from(ephemeral));
        jute::put_i32(out, pcv);
    }

    fn add_persistent(&mut self, path: Vec<u8>) {
        let parent = parent_of(&path).to_vec();
        if parent == b"/" {
            self.root_children += 1;
        }
        *self.children.entry(parent).or_default() += 1;
        self.index.insert(path.clone(), self.persist.len());
        self.persist.push(path);
    }

    fn remove_persistent(&mut self, path: &[u8]) {
        if let Some(i) = self.index.remove(path) {
            self.persist.swap_remove(i);
            if let Some(moved) = self.persist.get(i) {
                self.index.insert(moved.clone(), i);
            }
        }
        let parent = parent_of(path);
        if parent == b"/" {
            self.root_children -= 1;
        }
        if let Some(c) = self.children.get_mut(parent) {
            *c -= 1;
        }
        self.children.remove(path);
    }

    /// Builds one txn payload (header ‖ body, no digest) into `self.payload`, and updates the
    /// generator's own indexes. Returns the op code.
    fn build(&mut self, kind: Kind, zxid: Zxid) -> i32 {
        let mut kind = kind;
        if self.sessions.len() < 4 {
            kind = Kind::CreateSession;
        }
        if self.persist.len() < 16 && matches!(kind, Kind::Delete | Kind::SetData | Kind::Multi) {
            kind = Kind::Create;
        }
        let mut body = std::mem::take(&mut self.payload);
        body.clear();
        // Header placeholder; op filled in below.
        let mut session = self.session();
        self.cxid = self.cxid.wrapping_add(1);
        self.time += i64::from(self.rng.gen_range(0..3u8));
        let mut code;
        let mut b = Vec::with_capacity(128);
        match kind {
            Kind::Create => {
                let ephemeral = self.rng.gen_bool(self.mix.ephemeral.clamp(0.0, 1.0));
                let sequential = self.rng.gen_bool(self.mix.sequential.clamp(0.0, 1.0));
                let parent = self.pick_parent();
                let path = self.new_child(&parent, sequential);
                let pcv = self.parent_cversion(&parent);
                self.encode_create(&mut b, &path, ephemeral && session != 0, pcv);
                if ephemeral && session != 0 {
                    *self.children.entry(parent.clone()).or_default() += 1;
                    self.eph.entry(session).or_default().push(path);
                } else {
                    self.add_persistent(path);
                }
                code = op::CREATE;
            }
            Kind::Delete => {
                code = op::ERROR;
                jute::put_i32(&mut b, -111);
                for _ in 0..8 {
                    let i = self.rng.gen_range(0..self.persist.len());
                    let p = self.persist[i].clone();
                    if self.children.get(&p).copied().unwrap_or(0) == 0 {
                        b.clear();
                        jute::put_string(&mut b, &p);
                        self.remove_persistent(&p);
                        code = op::DELETE;
                        break;
                    }
                }
            }
            Kind::SetData => {
                let i = self.rng.gen_range(0..self.persist.len());
                let p = self.persist[i].clone();
                let v = self.tree.get(&p).map_or(0, |n| n.stat.version) + 1;
                jute::put_string(&mut b, &p);
                self.put_data(&mut b);
                jute::put_i32(&mut b, v);
                code = op::SET_DATA;
            }
            Kind::Error => {
                let e = self.mix.errors[self.rng.gen_range(0..self.mix.errors.len())];
                jute::put_i32(&mut b, e);
                code = op::ERROR;
            }
            Kind::CreateSession => {
                self.next_session += 1;
                session = self.next_session;
                self.sessions.push(session);
                jute::put_i32(&mut b, [4000, 10000, 20000][self.rng.gen_range(0..3)]);
                code = op::CREATE_SESSION;
            }
            Kind::CloseSession => {
                let i = self.rng.gen_range(0..self.sessions.len());
                session = self.sessions.swap_remove(i);
                let paths = self.eph.remove(&session).unwrap_or_default();
                for p in &paths {
                    if let Some(c) = self.children.get_mut(parent_of(p)) {
                        *c -= 1;
                    }
                }
                let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
                zkformat::txn::PathList::encode_paths(&refs, &mut b);
                code = op::CLOSE_SESSION;
            }
            Kind::Multi => {
                // check + setData on one node, then creates under random parents.
                let n = self.mix.multi_lens[self.rng.gen_range(0..self.mix.multi_lens.len())]
                    .clamp(2, 8);
                let i = self.rng.gen_range(0..self.persist.len());
                let p = self.persist[i].clone();
                let v = self.tree.get(&p).map_or(0, |n| n.stat.version);
                let mut ops: Vec<(i32, Vec<u8>)> = Vec::new();
                let mut sub = Vec::new();
                jute::put_string(&mut sub, &p);
                jute::put_i32(&mut sub, v);
                ops.push((op::CHECK, std::mem::take(&mut sub)));
                jute::put_string(&mut sub, &p);
                self.put_data(&mut sub);
                jute::put_i32(&mut sub, v + 1);
                ops.push((op::SET_DATA, std::mem::take(&mut sub)));
                let mut bumps: HashMap<Vec<u8>, i32> = HashMap::new();
                let mut fresh = std::collections::HashSet::new();
                for _ in 2..n {
                    let parent = self.pick_parent();
                    let seq = self.rng.gen_bool(self.mix.sequential.clamp(0.0, 1.0));
                    let extra = bumps.get(&parent).copied().unwrap_or(0);
                    let path = if seq && extra > 0 {
                        self.new_child(&parent, false)
                    } else {
                        self.new_child(&parent, seq)
                    };
                    if !fresh.insert(path.clone()) {
                        continue;
                    }
                    let pcv = self.parent_cversion(&parent) + extra;
                    *bumps.entry(parent).or_default() += 1;
                    self.encode_create(&mut sub, &path, false, pcv);
                    ops.push((op::CREATE, std::mem::take(&mut sub)));
                    self.add_persistent(path);
                }
                zkformat::txn::MultiTxn::encode_ops(
                    ops.iter().map(|(c, d)| (*c, d.as_slice())),
                    &mut b,
                );
                code = op::MULTI;
            }
        }
        TxnHeader {
            session,
            cxid: self.cxid,
            zxid,
            time: self.time,
            op: code,
        }
        .encode(&mut body);
        body.extend_from_slice(&b);
        self.payload = body;
        code
    }

    /// Builds, applies and frames one txn with its digest.
    fn next_payload(&mut self, kind: Kind, zxid: Zxid) -> Result<&[u8]> {
        self.build(kind, zxid);
        let rec = TxnRecord::decode(&self.payload, 0, Limits::default())
            .context("generated txn does not decode")?;
        self.tree.apply(&rec);
        TxnDigest {
            version: 2,
            tree_digest: self.tree.digest().value(),
        }
        .encode(&mut self.payload);
        Ok(&self.payload)
    }

    fn next_zxid(&mut self) -> Zxid {
        self.counter += 1;
        Zxid::from_parts(1, self.counter)
    }
}

/// Generates `<out>/datadir/version-2/{snapshot.<Z>, log.<Z+1>}` (a tree of `nodes` nodes, then
/// at least `log_bytes` of log on top of it) and gzip/snappy copies of the snapshot in `<out>`.
///
/// # Errors
/// I/O errors, or a generated txn that does not decode (a bug).
pub fn generate(out: &Path, opts: &GenOptions, progress: bool) -> Result<Generated> {
    let mix = Mix::observe(&opts.testdata);
    let mut g = Gen::new(opts, mix);
    let v2 = out.join("datadir/version-2");
    if v2.exists() {
        fs::remove_dir_all(&v2)?;
    }
    fs::create_dir_all(&v2)?;
    let out = &fs::canonicalize(out)?;
    let v2 = out.join("datadir/version-2");
    // Phase 1: the tree in the snapshot, made by creates (and the sessions that own its
    // ephemerals), as a server would have applied them.
    g.weights = vec![(Kind::Create, 100.0), (Kind::CreateSession, 0.05)];
    while g.tree.len() < opts.nodes {
        let z = g.next_zxid();
        g.next_payload(Kind::Create, z)?;
        let k = g.pick_kind();
        if k == Kind::CreateSession {
            let z = g.next_zxid();
            g.next_payload(k, z)?;
        }
        if progress && g.tree.len() % 200_000 == 0 {
            eprintln!("  tree: {} nodes", g.tree.len());
        }
    }
    let snap_zxid = Zxid::from_parts(1, g.counter);
    g.tree.last_zxid = snap_zxid;
    let snapshot = v2.join(format!("snapshot.{:x}", snap_zxid.0));
    let w = BufWriter::with_capacity(1 << 20, File::create(&snapshot)?);
    g.tree
        .write_snapshot(w, Tail::DIGEST)?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    let snapshot_nodes = g.tree.len();
    if progress {
        eprintln!("  wrote {} ({snapshot_nodes} nodes)", snapshot.display());
    }
    // Phase 2: the log, with the real op mix; deletes are weighted like creates so the tree keeps
    // its size over a long log (the real logs come from short scenarios that mostly grow).
    let mut weights: Vec<(Kind, f64)> = KINDS
        .iter()
        .map(|&k| (k, g.mix.counts.get(&k).copied().unwrap_or(0) as f64))
        .collect();
    let creates = weights
        .iter()
        .find(|w| w.0 == Kind::Create)
        .map_or(1.0, |w| w.1);
    let multis = weights
        .iter()
        .find(|w| w.0 == Kind::Multi)
        .map_or(0.0, |w| w.1);
    let session_opens = g.mix.counts.get(&Kind::CreateSession).copied().unwrap_or(0) as f64;
    for w in &mut weights {
        if w.0 == Kind::CloseSession {
            // Sessions end as often as they start over a long log (expiry included).
            w.1 = w.1.max(session_opens);
        }
        if w.0 == Kind::Delete {
            // Creates that stay (persistent ones) are balanced by deletes; ephemerals go with
            // their sessions.
            w.1 = w.1.max((creates + multis) * (1.0 - g.mix.ephemeral) * 0.95);
        }
    }
    g.weights = weights;
    let first = Zxid::from_parts(1, g.counter + 1);
    let log = v2.join(format!("log.{:x}", first.0));
    let mut lw = TxnLogWriter::new(BufWriter::with_capacity(1 << 20, File::create(&log)?))?;
    let mut next_report = 256u64 << 20;
    while lw.bytes_written() < opts.log_bytes {
        let k = g.pick_kind();
        let z = g.next_zxid();
        let p = g.next_payload(k, z)?;
        lw.append_payload(p)?;
        if progress && lw.bytes_written() >= next_report {
            eprintln!(
                "  log: {} MiB, {} txns, tree {} nodes",
                lw.bytes_written() >> 20,
                lw.entries_written(),
                g.tree.len()
            );
            next_report += 256 << 20;
        }
    }
    let log_txns = lw.entries_written();
    lw.finish()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    // Compressed copies of the snapshot for the parse benches.
    let plain = fs::read(&snapshot)?;
    let mut copies = Vec::new();
    for (c, ext) in [(Compression::Gzip, "gz"), (Compression::Snappy, "snappy")] {
        let p = out.join(format!("snapshot.{:x}.{ext}", snap_zxid.0));
        let mut cw = Compressor::new(BufWriter::with_capacity(1 << 20, File::create(&p)?), c);
        cw.write_all(&plain)?;
        cw.finish()?.into_inner().map_err(|e| e.into_error())?;
        copies.push(p);
    }
    let generated = Generated {
        datadir: out.join("datadir"),
        snapshot,
        log,
        snapshot_gz: copies[0].clone(),
        snapshot_snappy: copies[1].clone(),
        snapshot_nodes,
        final_nodes: g.tree.len(),
        log_txns,
    };
    let manifest = serde_json::json!({
        "mix": g.mix.describe(),
        "snapshot": generated.snapshot,
        "snapshotNodes": snapshot_nodes,
        "snapshotBytes": plain.len(),
        "log": generated.log,
        "logBytes": fs::metadata(&generated.log)?.len(),
        "logTxns": log_txns,
        "finalNodes": generated.final_nodes,
        "snapshotGz": generated.snapshot_gz,
        "snapshotSnappy": generated.snapshot_snappy,
        "datadir": generated.datadir,
    });
    fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(generated)
}

/// The generated inputs the benches use: `$ZKBENCH_INPUTS`, else `benches/generated/bench`;
/// generated there (64 MiB of log, 100,000 nodes) when missing.
///
/// # Errors
/// Generation errors.
pub fn bench_inputs() -> Result<Generated> {
    let dir = std::env::var_os("ZKBENCH_INPUTS").map_or_else(
        || workspace_root().join("benches/generated/bench"),
        PathBuf::from,
    );
    let opts = GenOptions {
        nodes: 100_000,
        log_bytes: 64 << 20,
        seed: 42,
        testdata: workspace_root().join("testdata"),
    };
    if let Some(g) = load_manifest(&dir) {
        return Ok(g);
    }
    eprintln!("generating bench inputs in {}", dir.display());
    generate(&dir, &opts, true)
}

fn load_manifest(dir: &Path) -> Option<Generated> {
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).ok()?).ok()?;
    let p = |k: &str| m.get(k).and_then(|v| v.as_str()).map(PathBuf::from);
    let n = |k: &str| m.get(k).and_then(serde_json::Value::as_u64);
    let g = Generated {
        datadir: p("datadir")?,
        snapshot: p("snapshot")?,
        log: p("log")?,
        snapshot_gz: p("snapshotGz")?,
        snapshot_snappy: p("snapshotSnappy")?,
        snapshot_nodes: n("snapshotNodes")? as usize,
        final_nodes: n("finalNodes")? as usize,
        log_txns: n("logTxns")?,
    };
    (g.log.exists() && g.snapshot.exists()).then_some(g)
}
