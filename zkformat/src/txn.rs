//! Transaction payloads: the txn header, every body record, and the optional 3.6+ digest.
//!
//! A txn log entry's payload is `TxnHeader ‖ body ‖ [TxnDigest]`:
//!
//! | record | fields |
//! |---|---|
//! | `TxnHeader` (32 bytes) | clientId: long, cxid: int, zxid: long, time: long, type: int |
//! | `CreateTxn` (op 1, 15) | path, data: buffer, acl: `vector<ACL>`, ephemeral: boolean, parentCVersion: int (absent in the pre-3.4 `CreateTxnV0`) |
//! | `CreateContainerTxn` (19) | path, data, acl, parentCVersion |
//! | `CreateTTLTxn` (21) | path, data, acl, parentCVersion, ttl: long |
//! | `DeleteTxn` (2, 20) | path |
//! | `SetDataTxn` (5, and 16 reconfig) | path, data, version |
//! | `SetACLTxn` (7) | path, acl, version |
//! | `CheckVersionTxn` (13, only inside multi) | path, version |
//! | `MultiTxn` (14) | vector<Txn { type: int, data: buffer }> |
//! | `CreateSessionTxn` (-10) | timeOut: int |
//! | `CloseSessionTxn` (-11) | nothing (≤ 3.5, or flag off) or paths2Delete: `vector<ustring>` (3.6+) |
//! | `ErrorTxn` (-1) | err: int |
//! | `TxnDigest` (12 bytes, 3.6+) | version: int, treeDigest: long |
//!
//! Decoding follows `SerializeUtils.deserializeTxn`: a type-1 create that runs out of bytes is
//! re-read as `CreateTxnV0`; the digest is recognised by the 12 bytes left after the body.

use std::borrow::Cow;

use crate::data::AclList;
use crate::error::{Error, ErrorKind, Result};
use crate::jute::{self, JuteBool, Reader};
use crate::limits::Limits;
use crate::zxid::Zxid;

mod shape;
pub(crate) use shape::shape;

/// Op codes that appear in txn logs (`ZooDefs.OpCode`).
pub mod op {
    /// `create` (CreateTxn, or CreateTxnV0 in pre-3.4 logs).
    pub const CREATE: i32 = 1;
    /// `delete`.
    pub const DELETE: i32 = 2;
    /// `setData`.
    pub const SET_DATA: i32 = 5;
    /// `setACL`.
    pub const SET_ACL: i32 = 7;
    /// `check` (only inside multi).
    pub const CHECK: i32 = 13;
    /// `multi`.
    pub const MULTI: i32 = 14;
    /// `create2` (create returning a Stat).
    pub const CREATE2: i32 = 15;
    /// `reconfig` (a SetDataTxn on `/zookeeper/config`).
    pub const RECONFIG: i32 = 16;
    /// `createContainer`.
    pub const CREATE_CONTAINER: i32 = 19;
    /// `deleteContainer` (also used to remove expired TTL nodes).
    pub const DELETE_CONTAINER: i32 = 20;
    /// `createTTL`.
    pub const CREATE_TTL: i32 = 21;
    /// `createSession`.
    pub const CREATE_SESSION: i32 = -10;
    /// `closeSession`.
    pub const CLOSE_SESSION: i32 = -11;
    /// `error` (a failed write; the zxid is still used).
    pub const ERROR: i32 = -1;
}

/// ZooKeeper's display name of an op code (`Request.op2String`).
pub fn op_name(code: i32) -> Cow<'static, str> {
    Cow::Borrowed(match code {
        0 => "notification",
        1 => "create",
        2 => "delete",
        3 => "exists",
        4 => "getData",
        5 => "setData",
        6 => "getACL",
        7 => "setACL",
        8 => "getChildren",
        9 => "sync",
        11 => "ping",
        12 => "getChildren2",
        13 => "check",
        14 => "multi",
        15 => "create2",
        16 => "reconfig",
        17 => "checkWatches",
        18 => "removeWatches",
        19 => "createContainer",
        20 => "deleteContainer",
        21 => "createTTL",
        22 => "multiRead",
        -10 => "createSession",
        -11 => "closeSession",
        -1 => "error",
        other => return Cow::Owned(format!("unknown {other}")),
    })
}

/// The op code for a ZooKeeper op name (inverse of [`op_name`] for logged ops).
pub fn op_from_name(name: &str) -> Option<i32> {
    [
        op::CREATE,
        op::DELETE,
        op::SET_DATA,
        op::SET_ACL,
        op::CHECK,
        op::MULTI,
        op::CREATE2,
        op::RECONFIG,
        op::CREATE_CONTAINER,
        op::DELETE_CONTAINER,
        op::CREATE_TTL,
        op::CREATE_SESSION,
        op::CLOSE_SESSION,
        op::ERROR,
    ]
    .into_iter()
    .find(|&c| op_name(c) == name)
}

/// `TxnHeader`: who did what, when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TxnHeader {
    /// Session id (`clientId`).
    pub session: i64,
    /// Client's request counter.
    pub cxid: i32,
    /// Transaction id.
    pub zxid: Zxid,
    /// Time in ms since the epoch.
    pub time: i64,
    /// Op code (see [`op`]).
    pub op: i32,
}

/// Encoded size of [`TxnHeader`].
pub const TXN_HEADER_SIZE: usize = 32;

/// Encoded size of [`TxnDigest`] (version, tree digest).
pub const TXN_DIGEST_SIZE: usize = 12;

impl TxnHeader {
    /// Decodes a header.
    pub fn decode(r: &mut Reader<'_>) -> Result<TxnHeader> {
        Ok(TxnHeader {
            session: r.i64("txn header")?,
            cxid: r.i32("txn header")?,
            zxid: Zxid(r.i64("txn header")?),
            time: r.i64("txn header")?,
            op: r.i32("txn header")?,
        })
    }

    /// The header at the start of a payload already checked to hold one (all zero if it is
    /// shorter, which a checked entry never is).
    pub(crate) fn from_payload(payload: &[u8]) -> TxnHeader {
        let Some(b) = payload
            .get(..TXN_HEADER_SIZE)
            .and_then(|b| <&[u8; TXN_HEADER_SIZE]>::try_from(b).ok())
        else {
            return TxnHeader::default();
        };
        let i64_at = |at| jute::i64_at(b, at);
        let i32_at = |at| jute::i32_at(b, at);
        TxnHeader {
            session: i64_at(0),
            cxid: i32_at(8),
            zxid: Zxid(i64_at(12)),
            time: i64_at(20),
            op: i32_at(28),
        }
    }

    /// Encodes a header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i64(out, self.session);
        jute::put_i32(out, self.cxid);
        jute::put_i64(out, self.zxid.0);
        jute::put_i64(out, self.time);
        jute::put_i32(out, self.op);
    }
}

/// `TxnDigest`: the tree digest after applying the txn (3.6+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxnDigest {
    /// Digest version (2 in every release).
    pub version: i32,
    /// Tree digest after the txn.
    pub tree_digest: i64,
}

impl TxnDigest {
    /// Encodes the digest.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.version);
        jute::put_i64(out, self.tree_digest);
    }
}

/// Body of create (1), create2 (15): `CreateTxn`, or `CreateTxnV0` when `parent_cversion` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateTxn<'a> {
    /// Node path (with the sequence suffix already applied).
    pub path: &'a [u8],
    /// Node data (`None` = null).
    pub data: Option<&'a [u8]>,
    /// The node's ACL list.
    pub acl: AclList<'a>,
    /// Ephemeral flag (the owner is the header's session).
    pub ephemeral: JuteBool,
    /// Parent's cversion after the create; `None` for the pre-3.4 layout (ZooKeeper uses parent + 1).
    pub parent_cversion: Option<i32>,
}

/// Body of createContainer (19) and createTTL (21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateExtTxn<'a> {
    /// Node path.
    pub path: &'a [u8],
    /// Node data.
    pub data: Option<&'a [u8]>,
    /// ACL list.
    pub acl: AclList<'a>,
    /// Parent's cversion after the create.
    pub parent_cversion: i32,
    /// TTL in ms (`createTTL` only).
    pub ttl: Option<i64>,
}

/// Body of setData (5) and reconfig (16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetDataTxn<'a> {
    /// Node path.
    pub path: &'a [u8],
    /// New data.
    pub data: Option<&'a [u8]>,
    /// Resulting data version.
    pub version: i32,
}

/// Body of setACL (7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetAclTxn<'a> {
    /// Node path.
    pub path: &'a [u8],
    /// New ACL list.
    pub acl: AclList<'a>,
    /// Resulting ACL version.
    pub version: i32,
}

/// A jute `vector<ustring>` decoded lazily (closeSession's paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathList<'a> {
    raw_count: i32,
    body: &'a [u8],
    offset: u64,
}

impl<'a> PathList<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<PathList<'a>> {
        let raw_count = r.count("paths2Delete count", 4)?;
        let offset = r.offset();
        let start = r.position();
        for _ in 0..jute::count_len(raw_count) {
            r.string("paths2Delete path")?;
        }
        Ok(PathList {
            raw_count,
            body: r.since(start),
            offset,
        })
    }

    /// Encodes the list as read.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.raw_count);
        out.extend_from_slice(self.body);
    }

    /// Encodes a list of paths.
    pub fn encode_paths(paths: &[&[u8]], out: &mut Vec<u8>) {
        jute::put_i32(out, jute::len_i32(paths.len()));
        for p in paths {
            jute::put_string(out, p);
        }
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        jute::count_len(self.raw_count)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The paths (validated at decode time).
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut r = Reader::new(self.body, self.offset, Limits::default());
        (0..self.len()).map_while(move |_| r.string("path").ok())
    }
}

/// A `MultiTxn`: a vector of sub-txns, decoded lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiTxn<'a> {
    raw_count: i32,
    body: &'a [u8],
    offset: u64,
    limits: Limits,
}

/// One element of a multi: its op code and the bytes of its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiOp<'a> {
    /// Sub-op code (create, create2, createTTL, createContainer, delete, deleteContainer, setData,
    /// check or error).
    pub op: i32,
    /// The encoded sub-record (`None` = null buffer).
    pub data: Option<&'a [u8]>,
    /// Absolute offset of this element (its type field).
    pub offset: u64,
    limits: Limits,
}

impl<'a> MultiOp<'a> {
    /// Decodes the sub-record.
    pub fn txn(&self) -> Result<Txn<'a>> {
        let data = self.data.unwrap_or(&[]);
        let mut r = Reader::new(data, self.offset + 8, self.limits);
        let body = match self.op {
            op::CREATE
            | op::CREATE2
            | op::CREATE_TTL
            | op::CREATE_CONTAINER
            | op::DELETE
            | op::DELETE_CONTAINER
            | op::SET_DATA
            | op::CHECK
            | op::ERROR => Txn::decode_body(self.op, &mut r, false)?,
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownTxnType { op: other },
                    self.offset,
                ))
            }
        };
        if !r.is_empty() {
            return Err(Error::new(
                ErrorKind::TrailingBytes {
                    what: "multi sub-op",
                    len: r.remaining() as u64,
                },
                r.offset(),
            ));
        }
        Ok(body)
    }

    /// Encodes this element (`type`, `data` buffer).
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.op);
        jute::put_buffer(out, self.data);
    }
}

impl<'a> MultiTxn<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<MultiTxn<'a>> {
        let raw_count = r.count("multi count", 8)?;
        let offset = r.offset();
        let start = r.position();
        let limits = r.limits();
        for _ in 0..jute::count_len(raw_count) {
            let op_offset = r.offset();
            let op = r.i32("multi sub-op type")?;
            let data = r.buffer("multi sub-op data")?;
            MultiOp {
                op,
                data,
                offset: op_offset,
                limits,
            }
            .txn()?;
        }
        Ok(MultiTxn {
            raw_count,
            body: r.since(start),
            offset,
            limits,
        })
    }

    /// Number of sub-ops.
    pub fn len(&self) -> usize {
        jute::count_len(self.raw_count)
    }

    /// True when the multi holds no op.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-ops (validated at decode time).
    pub fn ops(&self) -> impl Iterator<Item = MultiOp<'a>> + 'a {
        let mut r = Reader::new(self.body, self.offset, self.limits);
        let limits = self.limits;
        (0..self.len()).map_while(move |_| {
            let offset = r.offset();
            let op = r.i32("t").ok()?;
            let data = r.buffer("d").ok()?;
            Some(MultiOp {
                op,
                data,
                offset,
                limits,
            })
        })
    }

    /// True when the multi failed (has an error sub-op): applying it changes nothing.
    pub fn failed(&self) -> bool {
        self.ops().any(|o| o.op == op::ERROR)
    }

    /// Encodes the multi as read.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.raw_count);
        out.extend_from_slice(self.body);
    }

    /// Encodes a multi from sub-ops (each `(op, record bytes)`).
    pub fn encode_ops<'b>(ops: impl ExactSizeIterator<Item = (i32, &'b [u8])>, out: &mut Vec<u8>) {
        jute::put_i32(out, jute::len_i32(ops.len()));
        for (op, data) in ops {
            jute::put_i32(out, op);
            jute::put_buffer(out, Some(data));
        }
    }
}

/// A decoded txn body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Txn<'a> {
    /// op 1.
    Create(CreateTxn<'a>),
    /// op 15.
    Create2(CreateTxn<'a>),
    /// op 19.
    CreateContainer(CreateExtTxn<'a>),
    /// op 21.
    CreateTtl(CreateExtTxn<'a>),
    /// op 2.
    Delete {
        /// Node path.
        path: &'a [u8],
    },
    /// op 20.
    DeleteContainer {
        /// Node path.
        path: &'a [u8],
    },
    /// op 5.
    SetData(SetDataTxn<'a>),
    /// op 16: new dynamic config stored in `/zookeeper/config`.
    Reconfig(SetDataTxn<'a>),
    /// op 7.
    SetAcl(SetAclTxn<'a>),
    /// op 13 (inside multi).
    Check {
        /// Node path.
        path: &'a [u8],
        /// Expected resulting version.
        version: i32,
    },
    /// op 14.
    Multi(MultiTxn<'a>),
    /// op -10.
    CreateSession {
        /// Requested session timeout in ms.
        timeout: i32,
    },
    /// op -11: `None` when the entry has no body (≤ 3.5, or `closeSessionTxn.enabled=false`).
    CloseSession(Option<PathList<'a>>),
    /// op -1.
    Error {
        /// KeeperException code.
        err: i32,
    },
}

impl<'a> Txn<'a> {
    /// Decodes the body for `op_code`. `allow_v0` enables the pre-3.4 create fallback (top level
    /// op 1 only).
    fn decode_body(op_code: i32, r: &mut Reader<'a>, allow_v0: bool) -> Result<Txn<'a>> {
        Ok(match op_code {
            op::CREATE | op::CREATE2 => {
                let start = r.position();
                match Self::create(r, true) {
                    Ok(c) if op_code == op::CREATE => Txn::Create(c),
                    Ok(c) => Txn::Create2(c),
                    // Only op 1 (as in `SerializeUtils.deserializeTxn`): create2 is 3.4+.
                    Err(e) if allow_v0 && op_code == op::CREATE && e.is_truncated() => {
                        r.rewind_to(start);
                        Txn::Create(Self::create(r, false)?)
                    }
                    Err(e) => return Err(e),
                }
            }
            op::CREATE_CONTAINER | op::CREATE_TTL => {
                let path = r.string("path")?;
                let data = r.buffer("data")?;
                let acl = AclList::decode(r)?;
                let parent_cversion = r.i32("parentCVersion")?;
                let ext = |ttl| CreateExtTxn {
                    path,
                    data,
                    acl,
                    parent_cversion,
                    ttl,
                };
                if op_code == op::CREATE_TTL {
                    Txn::CreateTtl(ext(Some(r.i64("ttl")?)))
                } else {
                    Txn::CreateContainer(ext(None))
                }
            }
            op::DELETE => Txn::Delete {
                path: r.string("path")?,
            },
            op::DELETE_CONTAINER => Txn::DeleteContainer {
                path: r.string("path")?,
            },
            op::SET_DATA | op::RECONFIG => {
                let s = SetDataTxn {
                    path: r.string("path")?,
                    data: r.buffer("data")?,
                    version: r.i32("version")?,
                };
                if op_code == op::SET_DATA {
                    Txn::SetData(s)
                } else {
                    Txn::Reconfig(s)
                }
            }
            op::SET_ACL => Txn::SetAcl(SetAclTxn {
                path: r.string("path")?,
                acl: AclList::decode(r)?,
                version: r.i32("version")?,
            }),
            op::CHECK => Txn::Check {
                path: r.string("path")?,
                version: r.i32("version")?,
            },
            op::MULTI => Txn::Multi(MultiTxn::decode(r)?),
            op::CREATE_SESSION => Txn::CreateSession {
                timeout: r.i32("timeOut")?,
            },
            op::CLOSE_SESSION => {
                // No body (≤ 3.5 or flag off), possibly followed by a 12-byte digest.
                if r.remaining() == 0
                    || r.remaining() == 12 && r.rest().get(..4) == Some(&[0, 0, 0, 2])
                {
                    Txn::CloseSession(None)
                } else {
                    Txn::CloseSession(Some(PathList::decode(r)?))
                }
            }
            op::ERROR => Txn::Error { err: r.i32("err")? },
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownTxnType { op: other },
                    r.offset().saturating_sub(4),
                ))
            }
        })
    }

    fn create(r: &mut Reader<'a>, with_parent_cversion: bool) -> Result<CreateTxn<'a>> {
        Ok(CreateTxn {
            path: r.string("path")?,
            data: r.buffer("data")?,
            acl: AclList::decode(r)?,
            ephemeral: r.bool("ephemeral")?,
            parent_cversion: if with_parent_cversion {
                Some(r.i32("parentCVersion")?)
            } else {
                None
            },
        })
    }

    /// The op code this body is logged under.
    pub fn op(&self) -> i32 {
        match self {
            Txn::Create(_) => op::CREATE,
            Txn::Create2(_) => op::CREATE2,
            Txn::CreateContainer(_) => op::CREATE_CONTAINER,
            Txn::CreateTtl(_) => op::CREATE_TTL,
            Txn::Delete { .. } => op::DELETE,
            Txn::DeleteContainer { .. } => op::DELETE_CONTAINER,
            Txn::SetData(_) => op::SET_DATA,
            Txn::Reconfig(_) => op::RECONFIG,
            Txn::SetAcl(_) => op::SET_ACL,
            Txn::Check { .. } => op::CHECK,
            Txn::Multi(_) => op::MULTI,
            Txn::CreateSession { .. } => op::CREATE_SESSION,
            Txn::CloseSession(_) => op::CLOSE_SESSION,
            Txn::Error { .. } => op::ERROR,
        }
    }

    /// The path the txn acts on, if it has one.
    pub fn path(&self) -> Option<&'a [u8]> {
        match self {
            Txn::Create(c) | Txn::Create2(c) => Some(c.path),
            Txn::CreateContainer(c) | Txn::CreateTtl(c) => Some(c.path),
            Txn::Delete { path } | Txn::DeleteContainer { path } | Txn::Check { path, .. } => {
                Some(path)
            }
            Txn::SetData(s) | Txn::Reconfig(s) => Some(s.path),
            Txn::SetAcl(s) => Some(s.path),
            _ => None,
        }
    }

    /// Encodes the body exactly as ZooKeeper does.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Txn::Create(c) | Txn::Create2(c) => {
                jute::put_string(out, c.path);
                jute::put_buffer(out, c.data);
                c.acl.encode(out);
                out.push(c.ephemeral.0);
                if let Some(p) = c.parent_cversion {
                    jute::put_i32(out, p);
                }
            }
            Txn::CreateContainer(c) | Txn::CreateTtl(c) => {
                jute::put_string(out, c.path);
                jute::put_buffer(out, c.data);
                c.acl.encode(out);
                jute::put_i32(out, c.parent_cversion);
                if let Some(t) = c.ttl {
                    jute::put_i64(out, t);
                }
            }
            Txn::Delete { path } | Txn::DeleteContainer { path } => jute::put_string(out, path),
            Txn::SetData(s) | Txn::Reconfig(s) => {
                jute::put_string(out, s.path);
                jute::put_buffer(out, s.data);
                jute::put_i32(out, s.version);
            }
            Txn::SetAcl(s) => {
                jute::put_string(out, s.path);
                s.acl.encode(out);
                jute::put_i32(out, s.version);
            }
            Txn::Check { path, version } => {
                jute::put_string(out, path);
                jute::put_i32(out, *version);
            }
            Txn::Multi(m) => m.encode(out),
            Txn::CreateSession { timeout } => jute::put_i32(out, *timeout),
            Txn::CloseSession(p) => {
                if let Some(p) = p {
                    p.encode(out);
                }
            }
            Txn::Error { err } => jute::put_i32(out, *err),
        }
    }
}

/// A fully decoded txn log payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnRecord<'a> {
    /// The header.
    pub header: TxnHeader,
    /// The body.
    pub body: Txn<'a>,
    /// The 3.6+ digest, when the entry carries one.
    pub digest: Option<TxnDigest>,
}

impl<'a> TxnRecord<'a> {
    /// Decodes a payload whose first byte is at absolute offset `base`.
    ///
    /// # Errors
    /// Truncated or oversized fields, an op code ZooKeeper never logs at top level, or bytes left
    /// after the body that are not a 12-byte digest.
    pub fn decode(payload: &'a [u8], base: u64, limits: Limits) -> Result<TxnRecord<'a>> {
        let mut r = Reader::new(payload, base, limits);
        let header = TxnHeader::decode(&mut r)?;
        Self::decode_after_header(header, r)
    }

    /// Decodes the rest of a payload whose header is known (`r` is positioned after it).
    pub(crate) fn decode_after_header(
        header: TxnHeader,
        mut r: Reader<'a>,
    ) -> Result<TxnRecord<'a>> {
        let base = r.offset() - TXN_HEADER_SIZE as u64;
        let body = match header.op {
            op::CHECK => {
                return Err(
                    Error::new(ErrorKind::UnknownTxnType { op: header.op }, base + 28)
                        .with_zxid(header.zxid),
                )
            }
            code => Txn::decode_body(code, &mut r, true).map_err(|e| e.with_zxid(header.zxid))?,
        };
        let digest = match r.remaining() {
            0 => None,
            TXN_DIGEST_SIZE => Some(TxnDigest {
                version: r.i32("digest")?,
                tree_digest: r.i64("digest")?,
            }),
            n => {
                return Err(Error::new(
                    ErrorKind::TrailingBytes {
                        what: "txn body",
                        len: n as u64,
                    },
                    r.offset(),
                )
                .with_zxid(header.zxid))
            }
        };
        Ok(TxnRecord {
            header,
            body,
            digest,
        })
    }

    /// Encodes header, body and digest.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        self.body.encode(out);
        if let Some(d) = self.digest {
            d.encode(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Acl;

    fn header(op: i32) -> TxnHeader {
        TxnHeader {
            session: 0x1234,
            cxid: 7,
            zxid: Zxid(0x100000005),
            time: 1_700_000_000_000,
            op,
        }
    }

    fn round_trip(payload: &[u8]) -> TxnRecord<'_> {
        let rec = TxnRecord::decode(payload, 0, Limits::default()).unwrap();
        let mut again = Vec::new();
        rec.encode(&mut again);
        assert_eq!(again, payload);
        rec
    }

    #[test]
    fn create_v0_and_current() {
        let mut p = Vec::new();
        header(op::CREATE).encode(&mut p);
        jute::put_string(&mut p, b"/a");
        jute::put_buffer(&mut p, Some(b"x"));
        AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut p);
        p.push(1);
        let v0 = round_trip(&p);
        match v0.body {
            Txn::Create(c) => {
                assert_eq!(c.parent_cversion, None);
                assert!(c.ephemeral.get());
            }
            other => panic!("{other:?}"),
        }
        jute::put_i32(&mut p, 3);
        match round_trip(&p).body {
            Txn::Create(c) => assert_eq!(c.parent_cversion, Some(3)),
            other => panic!("{other:?}"),
        }
        TxnDigest {
            version: 2,
            tree_digest: 99,
        }
        .encode(&mut p);
        assert_eq!(round_trip(&p).digest.unwrap().tree_digest, 99);
        p.push(0);
        assert!(matches!(
            TxnRecord::decode(&p, 0, Limits::default())
                .unwrap_err()
                .kind(),
            ErrorKind::TrailingBytes { len: 13, .. }
        ));
    }

    #[test]
    fn close_session_variants() {
        let mut p = Vec::new();
        header(op::CLOSE_SESSION).encode(&mut p);
        assert_eq!(round_trip(&p).body, Txn::CloseSession(None));
        let mut with_digest = p.clone();
        TxnDigest {
            version: 2,
            tree_digest: 0x7fff_0000_1111,
        }
        .encode(&mut with_digest);
        let r = round_trip(&with_digest);
        assert_eq!(r.body, Txn::CloseSession(None));
        assert!(r.digest.is_some());
        PathList::encode_paths(&[b"/e1", b"/e2"], &mut p);
        match round_trip(&p).body {
            Txn::CloseSession(Some(l)) => {
                assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"/e1"[..], b"/e2"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn multi_with_failed_ops() {
        let mut check = Vec::new();
        jute::put_string(&mut check, b"/a");
        jute::put_i32(&mut check, 4);
        let mut err = Vec::new();
        jute::put_i32(&mut err, -2);
        let mut p = Vec::new();
        header(op::MULTI).encode(&mut p);
        MultiTxn::encode_ops(
            [(op::CHECK, &check[..]), (op::ERROR, &err[..])].into_iter(),
            &mut p,
        );
        let rec = round_trip(&p);
        let Txn::Multi(m) = rec.body else { panic!() };
        assert_eq!(m.len(), 2);
        assert!(m.failed());
        let ops: Vec<_> = m.ops().map(|o| o.txn().unwrap()).collect();
        assert_eq!(
            ops[0],
            Txn::Check {
                path: b"/a",
                version: 4
            }
        );
        assert_eq!(ops[1], Txn::Error { err: -2 });
        // A setACL inside a multi is not something ZooKeeper can apply.
        let mut bad = Vec::new();
        header(op::MULTI).encode(&mut bad);
        MultiTxn::encode_ops([(op::SET_ACL, &check[..])].into_iter(), &mut bad);
        assert!(TxnRecord::decode(&bad, 0, Limits::default()).is_err());
    }

    #[test]
    fn unknown_and_check_at_top_level_are_errors() {
        for code in [op::CHECK, 3, 99] {
            let mut p = Vec::new();
            header(code).encode(&mut p);
            jute::put_string(&mut p, b"/a");
            jute::put_i32(&mut p, 1);
            let e = TxnRecord::decode(&p, 0, Limits::default()).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::UnknownTxnType { .. }), "{e}");
            assert_eq!(e.zxid(), Some(Zxid(0x100000005)));
        }
        assert_eq!(op_from_name("createTTL"), Some(21));
        assert_eq!(op_name(42), "unknown 42");
    }
}
