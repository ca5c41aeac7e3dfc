//! An owned model of txn records and snapshots, used by the fuzz targets and by
//! `zkformat/tests/properties.rs` (which includes this file with `#[path]`).
//!
//! The model has its own jute encoder, written independently of `zkformat`'s, so a round trip
//! `model → bytes → zkformat decode → model` checks the library's decoder against a second
//! implementation, and `zkformat encode` against the model's bytes.

use arbitrary::Arbitrary;

use zkformat::data::{Acl, AclList, Stat};
use zkformat::snapshot::{Node, Session};
use zkformat::txn::{op, CreateExtTxn, CreateTxn, MultiTxn, SetAclTxn, SetDataTxn, Txn, TxnRecord};

/// One ACL.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct MAcl {
    /// Permission bits.
    pub perms: i32,
    /// Scheme.
    pub scheme: Vec<u8>,
    /// Id.
    pub id: Vec<u8>,
}

/// The persisted stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub struct MStat {
    /// Fields in file order.
    pub czxid: i64,
    /// mzxid.
    pub mzxid: i64,
    /// ctime.
    pub ctime: i64,
    /// mtime.
    pub mtime: i64,
    /// version.
    pub version: i32,
    /// cversion.
    pub cversion: i32,
    /// aversion.
    pub aversion: i32,
    /// ephemeralOwner.
    pub ephemeral_owner: i64,
    /// pzxid.
    pub pzxid: i64,
}

impl MStat {
    /// As the library's type.
    pub fn stat(&self) -> Stat {
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            pzxid: self.pzxid,
        }
    }

    /// From the library's type.
    pub fn of(s: &Stat) -> MStat {
        MStat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            pzxid: s.pzxid,
        }
    }
}

/// A txn body. Paths are never empty here (a closeSession path list of empty strings can be
/// mistaken for a digest, as in ZooKeeper's own reader).
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum MTxn {
    /// create (op 1) / create2 (op 15); `parent_cversion: None` is the pre-3.4 CreateTxnV0.
    Create {
        /// create2 instead of create.
        create2: bool,
        /// Path.
        path: Vec<u8>,
        /// Data.
        data: Option<Vec<u8>>,
        /// ACLs (`None` = null vector).
        acl: Option<Vec<MAcl>>,
        /// Raw ephemeral byte.
        ephemeral: u8,
        /// parentCVersion.
        parent_cversion: Option<i32>,
    },
    /// createContainer (19) or createTTL (21, with `ttl`).
    CreateExt {
        /// Path.
        path: Vec<u8>,
        /// Data.
        data: Option<Vec<u8>>,
        /// ACLs.
        acl: Option<Vec<MAcl>>,
        /// parentCVersion.
        parent_cversion: i32,
        /// TTL (createTTL) or none (createContainer).
        ttl: Option<i64>,
    },
    /// delete (2) / deleteContainer (20).
    Delete {
        /// deleteContainer instead of delete.
        container: bool,
        /// Path.
        path: Vec<u8>,
    },
    /// setData (5) / reconfig (16).
    SetData {
        /// reconfig instead of setData.
        reconfig: bool,
        /// Path.
        path: Vec<u8>,
        /// Data.
        data: Option<Vec<u8>>,
        /// Version.
        version: i32,
    },
    /// setACL (7).
    SetAcl {
        /// Path.
        path: Vec<u8>,
        /// ACLs.
        acl: Option<Vec<MAcl>>,
        /// Version.
        version: i32,
    },
    /// check (13, only inside multi).
    Check {
        /// Path.
        path: Vec<u8>,
        /// Version.
        version: i32,
    },
    /// multi (14): sub-ops (any op but multi, setACL, sessions).
    Multi(Vec<MTxn>),
    /// createSession (-10).
    CreateSession(i32),
    /// closeSession (-11), with or without paths2Delete.
    CloseSession(Option<Vec<Vec<u8>>>),
    /// error (-1).
    Error(i32),
}

/// A whole txn log payload.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct MRecord {
    /// clientId.
    pub session: i64,
    /// cxid.
    pub cxid: i32,
    /// zxid.
    pub zxid: i64,
    /// time.
    pub time: i64,
    /// Body.
    pub body: MTxn,
    /// TxnDigest `(version, tree digest)`; ZooKeeper writes version 2 and reads any.
    pub digest: Option<(i32, i64)>,
}

// ---- an independent jute encoder ----

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_buf(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_i32(out, -1),
        Some(b) => {
            put_i32(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Encodes an ACL vector (`None` = null).
pub fn put_acls(out: &mut Vec<u8>, acls: Option<&[MAcl]>) {
    match acls {
        None => put_i32(out, -1),
        Some(acls) => {
            put_i32(out, acls.len() as i32);
            for a in acls {
                put_i32(out, a.perms);
                put_buf(out, Some(&a.scheme));
                put_buf(out, Some(&a.id));
            }
        }
    }
}

/// Encodes a stat (60 bytes).
pub fn put_stat(out: &mut Vec<u8>, s: &MStat) {
    for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
        put_i64(out, v);
    }
    for v in [s.version, s.cversion, s.aversion] {
        put_i32(out, v);
    }
    put_i64(out, s.ephemeral_owner);
    put_i64(out, s.pzxid);
}

fn nonempty(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        b"/p".to_vec()
    } else {
        p.to_vec()
    }
}

impl MTxn {
    /// Makes the value one ZooKeeper can write: non-empty paths, no nested multi or setACL or
    /// session ops in a multi, creates in a multi always with parentCVersion.
    pub fn normalize(&mut self, in_multi: bool) {
        match self {
            MTxn::Create {
                create2,
                path,
                parent_cversion,
                ..
            } => {
                *path = nonempty(path);
                // CreateTxnV0 exists only for op 1 at top level (create2 came with 3.4).
                if (in_multi || *create2) && parent_cversion.is_none() {
                    *parent_cversion = Some(0);
                }
            }
            MTxn::SetData { reconfig, path, .. } => {
                *path = nonempty(path);
                // reconfig is not a multi op
                if in_multi {
                    *reconfig = false;
                }
            }
            MTxn::CreateExt { path, .. } | MTxn::Delete { path, .. } | MTxn::Check { path, .. } => {
                *path = nonempty(path)
            }
            MTxn::SetAcl { path, .. } => {
                *path = nonempty(path);
                if in_multi {
                    *self = MTxn::Error(-101);
                }
            }
            MTxn::Multi(ops) => {
                if in_multi {
                    *self = MTxn::Error(-2);
                } else {
                    for o in ops {
                        o.normalize(true);
                    }
                }
            }
            MTxn::CreateSession(_) | MTxn::CloseSession(_) if in_multi => *self = MTxn::Error(0),
            MTxn::CloseSession(Some(paths)) => {
                for p in paths {
                    *p = nonempty(p);
                }
            }
            MTxn::CreateSession(_) | MTxn::CloseSession(None) | MTxn::Error(_) => {}
        }
    }

    /// The op code.
    pub fn op(&self) -> i32 {
        match self {
            MTxn::Create { create2: false, .. } => op::CREATE,
            MTxn::Create { create2: true, .. } => op::CREATE2,
            MTxn::CreateExt { ttl: None, .. } => op::CREATE_CONTAINER,
            MTxn::CreateExt { ttl: Some(_), .. } => op::CREATE_TTL,
            MTxn::Delete {
                container: false, ..
            } => op::DELETE,
            MTxn::Delete {
                container: true, ..
            } => op::DELETE_CONTAINER,
            MTxn::SetData {
                reconfig: false, ..
            } => op::SET_DATA,
            MTxn::SetData { reconfig: true, .. } => op::RECONFIG,
            MTxn::SetAcl { .. } => op::SET_ACL,
            MTxn::Check { .. } => op::CHECK,
            MTxn::Multi(_) => op::MULTI,
            MTxn::CreateSession(_) => op::CREATE_SESSION,
            MTxn::CloseSession(_) => op::CLOSE_SESSION,
            MTxn::Error(_) => op::ERROR,
        }
    }

    /// Encodes the body as ZooKeeper writes it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            MTxn::Create {
                path,
                data,
                acl,
                ephemeral,
                parent_cversion,
                ..
            } => {
                put_buf(out, Some(path));
                put_buf(out, data.as_deref());
                put_acls(out, acl.as_deref());
                out.push(*ephemeral);
                if let Some(p) = parent_cversion {
                    put_i32(out, *p);
                }
            }
            MTxn::CreateExt {
                path,
                data,
                acl,
                parent_cversion,
                ttl,
            } => {
                put_buf(out, Some(path));
                put_buf(out, data.as_deref());
                put_acls(out, acl.as_deref());
                put_i32(out, *parent_cversion);
                if let Some(t) = ttl {
                    put_i64(out, *t);
                }
            }
            MTxn::Delete { path, .. } => put_buf(out, Some(path)),
            MTxn::SetData {
                path,
                data,
                version,
                ..
            } => {
                put_buf(out, Some(path));
                put_buf(out, data.as_deref());
                put_i32(out, *version);
            }
            MTxn::SetAcl { path, acl, version } => {
                put_buf(out, Some(path));
                put_acls(out, acl.as_deref());
                put_i32(out, *version);
            }
            MTxn::Check { path, version } => {
                put_buf(out, Some(path));
                put_i32(out, *version);
            }
            MTxn::Multi(ops) => {
                put_i32(out, ops.len() as i32);
                for o in ops {
                    put_i32(out, o.op());
                    let mut b = Vec::new();
                    o.encode(&mut b);
                    put_buf(out, Some(&b));
                }
            }
            MTxn::CreateSession(t) => put_i32(out, *t),
            MTxn::CloseSession(None) => {}
            MTxn::CloseSession(Some(paths)) => {
                put_i32(out, paths.len() as i32);
                for p in paths {
                    put_buf(out, Some(p));
                }
            }
            MTxn::Error(e) => put_i32(out, *e),
        }
    }

    /// The model of a decoded body (`None` if a multi sub-op fails to decode).
    pub fn of(t: &Txn<'_>) -> Option<MTxn> {
        fn acls(l: &AclList<'_>) -> Option<Vec<MAcl>> {
            if l.is_null() {
                return None;
            }
            Some(
                l.iter()
                    .map(|a| MAcl {
                        perms: a.perms,
                        scheme: a.scheme.to_vec(),
                        id: a.id.to_vec(),
                    })
                    .collect(),
            )
        }
        let create = |c: &CreateTxn<'_>, create2| MTxn::Create {
            create2,
            path: c.path.to_vec(),
            data: c.data.map(<[u8]>::to_vec),
            acl: acls(&c.acl),
            ephemeral: c.ephemeral.0,
            parent_cversion: c.parent_cversion,
        };
        let ext = |c: &CreateExtTxn<'_>| MTxn::CreateExt {
            path: c.path.to_vec(),
            data: c.data.map(<[u8]>::to_vec),
            acl: acls(&c.acl),
            parent_cversion: c.parent_cversion,
            ttl: c.ttl,
        };
        let set = |s: &SetDataTxn<'_>, reconfig| MTxn::SetData {
            reconfig,
            path: s.path.to_vec(),
            data: s.data.map(<[u8]>::to_vec),
            version: s.version,
        };
        Some(match t {
            Txn::Create(c) => create(c, false),
            Txn::Create2(c) => create(c, true),
            Txn::CreateContainer(c) | Txn::CreateTtl(c) => ext(c),
            Txn::Delete { path } => MTxn::Delete {
                container: false,
                path: path.to_vec(),
            },
            Txn::DeleteContainer { path } => MTxn::Delete {
                container: true,
                path: path.to_vec(),
            },
            Txn::SetData(s) => set(s, false),
            Txn::Reconfig(s) => set(s, true),
            Txn::SetAcl(SetAclTxn { path, acl, version }) => MTxn::SetAcl {
                path: path.to_vec(),
                acl: acls(acl),
                version: *version,
            },
            Txn::Check { path, version } => MTxn::Check {
                path: path.to_vec(),
                version: *version,
            },
            Txn::Multi(m) => MTxn::Multi(multi_ops(m)?),
            Txn::CreateSession { timeout } => MTxn::CreateSession(*timeout),
            Txn::CloseSession(None) => MTxn::CloseSession(None),
            Txn::CloseSession(Some(l)) => {
                MTxn::CloseSession(Some(l.iter().map(<[u8]>::to_vec).collect()))
            }
            Txn::Error { err } => MTxn::Error(*err),
        })
    }
}

fn multi_ops(m: &MultiTxn<'_>) -> Option<Vec<MTxn>> {
    m.ops()
        .map(|o| o.txn().ok().and_then(|t| MTxn::of(&t)))
        .collect()
}

impl MRecord {
    /// See [`MTxn::normalize`]; also drops the digest after a V0 create (ZooKeeper never
    /// wrote both, and the layouts would be ambiguous). Regression (fuzzing): a digest's
    /// version is kept as read, not assumed to be 2.
    pub fn normalize(&mut self) {
        self.body.normalize(false);
        if let MTxn::Check { path, .. } = &self.body {
            // check is only valid inside a multi
            self.body = MTxn::Delete {
                container: false,
                path: path.clone(),
            };
        }
        if matches!(
            self.body,
            MTxn::Create {
                parent_cversion: None,
                ..
            }
        ) {
            self.digest = None;
        }
        // A body-less closeSession is told from one with paths by the digest's version 2.
        if let (MTxn::CloseSession(None), Some((v, _))) = (&self.body, &mut self.digest) {
            *v = 2;
        }
    }

    /// The payload: header, body, digest.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_i64(&mut out, self.session);
        put_i32(&mut out, self.cxid);
        put_i64(&mut out, self.zxid);
        put_i64(&mut out, self.time);
        put_i32(&mut out, self.body.op());
        self.body.encode(&mut out);
        if let Some((v, d)) = self.digest {
            put_i32(&mut out, v);
            put_i64(&mut out, d);
        }
        out
    }

    /// The model of a decoded record.
    pub fn of(r: &TxnRecord<'_>) -> Option<MRecord> {
        Some(MRecord {
            session: r.header.session,
            cxid: r.header.cxid,
            zxid: r.header.zxid.0,
            time: r.header.time,
            body: MTxn::of(&r.body)?,
            digest: r.digest.map(|d| (d.version, d.tree_digest)),
        })
    }
}

/// A snapshot node: child of an earlier node.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct MNode {
    /// Index of the parent among the earlier nodes (taken modulo their count).
    pub parent: u16,
    /// Last path component (made non-empty, without `/`).
    pub name: Vec<u8>,
    /// Data.
    pub data: Option<Vec<u8>>,
    /// ACL key.
    pub acl_key: i64,
    /// Stat.
    pub stat: MStat,
}

/// Which tail sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum MTail {
    /// None.
    None,
    /// Digest.
    Digest,
    /// Last zxid.
    LastZxid,
    /// Both.
    Both,
}

/// A whole snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct MSnapshot {
    /// Sessions.
    pub sessions: Vec<(i64, i32)>,
    /// ACL cache.
    pub acls: Vec<(i64, Vec<MAcl>)>,
    /// Root data and stat.
    pub root: (Option<Vec<u8>>, MStat),
    /// Other nodes.
    pub nodes: Vec<MNode>,
    /// Tail.
    pub tail: MTail,
    /// Zxid for the tail sections.
    pub zxid: i64,
}

/// A flat node as parsed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatNode {
    /// Path (root = "").
    pub path: Vec<u8>,
    /// Data.
    pub data: Option<Vec<u8>>,
    /// ACL key.
    pub acl_key: i64,
    /// Stat.
    pub stat: MStat,
}

impl FlatNode {
    /// From a parsed node.
    pub fn of(n: &Node<'_>) -> FlatNode {
        FlatNode {
            path: n.path.to_vec(),
            data: n.data.map(<[u8]>::to_vec),
            acl_key: n.acl_key,
            stat: MStat::of(&n.stat),
        }
    }
}

impl MSnapshot {
    /// The tail as the library's type.
    pub fn tail(&self) -> zkformat::snapshot::Tail {
        use zkformat::snapshot::Tail;
        match self.tail {
            MTail::None => Tail::NONE,
            MTail::Digest => Tail::DIGEST,
            MTail::LastZxid => Tail {
                digest: false,
                last_zxid: true,
            },
            MTail::Both => Tail::DIGEST_AND_LAST_ZXID,
        }
    }

    /// Nodes with full paths, parents first.
    pub fn flat_nodes(&self) -> Vec<FlatNode> {
        let mut out = vec![FlatNode {
            path: Vec::new(),
            data: self.root.0.clone(),
            acl_key: -1,
            stat: self.root.1,
        }];
        for (i, n) in self.nodes.iter().enumerate() {
            let parent = usize::from(n.parent) % (i + 1);
            let mut name: Vec<u8> = n.name.iter().copied().filter(|&b| b != b'/').collect();
            if name.is_empty() {
                name = b"n".to_vec();
            }
            let mut path = out[parent].path.clone();
            path.push(b'/');
            path.extend_from_slice(&name);
            out.push(FlatNode {
                path,
                data: n.data.clone(),
                acl_key: n.acl_key,
                stat: n.stat,
            });
        }
        out
    }

    /// The sessions as the library's type.
    pub fn sessions(&self) -> Vec<Session> {
        self.sessions
            .iter()
            .map(|&(id, timeout)| Session { id, timeout })
            .collect()
    }

    /// Writes the snapshot with the library's writer.
    ///
    /// # Errors
    /// Writer errors.
    pub fn write(&self) -> std::io::Result<Vec<u8>> {
        let mut w = zkformat::snapshot::SnapshotWriter::new(Vec::new())?;
        w.write_sessions(&self.sessions())?;
        let acls: Vec<Vec<Acl<'_>>> = self
            .acls
            .iter()
            .map(|(_, l)| {
                l.iter()
                    .map(|a| Acl {
                        perms: a.perms,
                        scheme: &a.scheme,
                        id: &a.id,
                    })
                    .collect()
            })
            .collect();
        let entries: Vec<(i64, &[Acl<'_>])> = self
            .acls
            .iter()
            .zip(&acls)
            .map(|((k, _), l)| (*k, &l[..]))
            .collect();
        w.write_acl_cache(&entries)?;
        for n in self.flat_nodes() {
            w.write_node(&Node {
                path: &n.path,
                data: n.data.as_deref(),
                acl_key: n.acl_key,
                stat: n.stat.stat(),
            })?;
        }
        w.finish(self.tail(), zkformat::Zxid(self.zxid))
    }

    /// The ACL cache as read back.
    pub fn acl_model(&self) -> Vec<(i64, Option<Vec<MAcl>>)> {
        self.acls
            .iter()
            .map(|(k, l)| (*k, Some(l.clone())))
            .collect()
    }
}

/// The model of a parsed ACL list.
pub fn acl_list_model(l: &AclList<'_>) -> Option<Vec<MAcl>> {
    if l.is_null() {
        return None;
    }
    Some(
        l.iter()
            .map(|a| MAcl {
                perms: a.perms,
                scheme: a.scheme.to_vec(),
                id: a.id.to_vec(),
            })
            .collect(),
    )
}
