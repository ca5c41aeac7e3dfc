//! Renderers of `zkdump`'s record dump: [`text`] (for people) and [`json`] (JSON Lines, the
//! stable schema of the README ("JSON Lines schema")). Both implement [`Render`]; every method writes to a
//! `&mut dyn Write`.

pub mod json;
pub mod text;

use std::io::{self, Write};

use base64::Engine as _;
use zkformat::compression::Compression;
use zkformat::data::{Acl, AclList};
use zkformat::kind::FileHeader;
use zkformat::snapshot::{DigestCheck, Node, Seal, Session, SnapshotSummary, ZxidDigest};
use zkformat::txn::TxnRecord;
use zkformat::txnlog::{EndReason, LogEnd, TxnEntry};
use zkformat::Zxid;

use super::{DataFormat, DumpOptions};
use crate::cli::CliError;

/// An ACL owned by the renderer's ACL cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnedAcl {
    /// Permission bits.
    pub perms: i32,
    /// Scheme.
    pub scheme: String,
    /// Id.
    pub id: String,
}

impl OwnedAcl {
    /// Copies an ACL.
    pub fn from_acl(a: &Acl<'_>) -> OwnedAcl {
        OwnedAcl {
            perms: a.perms,
            scheme: String::from_utf8_lossy(a.scheme).into_owned(),
            id: String::from_utf8_lossy(a.id).into_owned(),
        }
    }

    /// Copies an ACL list.
    pub fn list(l: &AclList<'_>) -> Vec<OwnedAcl> {
        l.iter().map(|a| OwnedAcl::from_acl(&a)).collect()
    }

    /// `scheme:id:cdrwa` (zkCli's `getAcl` order).
    pub fn text(&self) -> String {
        format!("{}:{}:{}", self.scheme, self.id, perms_letters(self.perms))
    }
}

/// Permission letters in `cdrwa` order.
pub fn perms_letters(perms: i32) -> String {
    Acl {
        perms,
        scheme: b"",
        id: b"",
    }
    .perms_letters()
}

/// The ACL cache of a snapshot as read so far (key → list); key -1 is world:anyone ALL.
#[derive(Debug, Clone)]
pub struct AclCache {
    map: foldhash::HashMap<i64, Vec<OwnedAcl>>,
    /// The list key -1 stands for.
    open: Vec<OwnedAcl>,
}

impl Default for AclCache {
    fn default() -> AclCache {
        AclCache {
            map: foldhash::HashMap::default(),
            open: vec![OwnedAcl::from_acl(&Acl::OPEN_UNSAFE)],
        }
    }
}

impl AclCache {
    /// Adds an entry.
    pub fn insert(&mut self, key: i64, acls: Vec<OwnedAcl>) {
        self.map.insert(key, acls);
    }

    /// The list for `key` (`None` when the key is not in the cache).
    pub fn get(&self, key: i64) -> Option<&[OwnedAcl]> {
        if key == -1 {
            return Some(&self.open);
        }
        self.map.get(&key).map(Vec::as_slice)
    }
}

/// How a txn log dump ended.
#[derive(Debug, Clone, Default)]
pub struct LogTally {
    /// Entries read.
    pub txns: u64,
    /// Entries shown (after filtering).
    pub shown: u64,
    /// Entries whose Adler32 did not match.
    pub checksum_errors: u64,
    /// Entries whose payload could not be decoded.
    pub decode_errors: u64,
    /// How the log ended, when it was read to its end.
    pub end: Option<LogEnd>,
    /// The error that stopped reading, if any.
    pub error: Option<CliError>,
}

/// How a snapshot dump ended.
#[derive(Debug, Clone, Default)]
pub struct SnapTally {
    /// What the reader learned.
    pub summary: SnapshotSummary,
    /// Nodes shown (after filtering).
    pub shown: u64,
    /// Sessions shown (after filtering).
    pub sessions_shown: u64,
    /// The error that stopped reading, if any.
    pub error: Option<CliError>,
    /// True when the snapshot was read to its end (every seal checked).
    pub complete: bool,
}

/// Context given to renderers.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Options.
    pub opts: &'a DumpOptions,
    /// Input name.
    pub name: &'a str,
    /// Zxid in the file name, when it parses.
    pub name_zxid: Option<Zxid>,
}

/// A node with what the renderer needs besides its record.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a, 'n> {
    /// The record.
    pub node: &'a Node<'n>,
    /// Offset of the record.
    pub offset: u64,
    /// Children counted in the snapshot.
    pub num_children: u32,
    /// The resolved ACL list (`None` if the key is not in the cache).
    pub acl: Option<&'a [OwnedAcl]>,
}

/// The record dump, one method per record.
pub trait Render {
    /// A txn log's file header.
    fn log_header(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, h: &FileHeader) -> io::Result<()>;
    /// One txn.
    fn txn(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        rec: &TxnRecord<'_>,
    ) -> io::Result<()>;
    /// An entry whose payload could not be decoded.
    fn txn_error(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        err: &zkformat::Error,
    ) -> io::Result<()>;
    /// The end of a txn log.
    fn log_end(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, t: &LogTally) -> io::Result<()>;
    /// A snapshot's file header.
    fn snap_header(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        h: &FileHeader,
        c: Compression,
        offset: u64,
    ) -> io::Result<()>;
    /// The session count.
    fn session_count(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, n: i32) -> io::Result<()>;
    /// One session.
    fn session(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        s: &Session,
        offset: u64,
    ) -> io::Result<()>;
    /// The ACL cache count.
    fn acl_count(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, n: i32) -> io::Result<()>;
    /// One ACL cache entry.
    fn acl(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        key: i64,
        acls: &[OwnedAcl],
        offset: u64,
    ) -> io::Result<()>;
    /// One node.
    fn node(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, n: &NodeView<'_, '_>) -> io::Result<()>;
    /// The tree terminator.
    fn tree_end(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, offset: u64) -> io::Result<()>;
    /// A verified seal.
    fn seal(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, s: &Seal, offset: u64) -> io::Result<()>;
    /// The digest section, with how it compares with the tree.
    fn digest(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        d: &ZxidDigest,
        check: DigestCheck,
        offset: u64,
    ) -> io::Result<()>;
    /// The last-processed-zxid section.
    fn last_zxid(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        z: Zxid,
        offset: u64,
    ) -> io::Result<()>;
    /// The end of a snapshot.
    fn snap_end(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, t: &SnapTally) -> io::Result<()>;
    /// A renderer of the same kind for another thread (which renders nodes in batches).
    fn for_another_thread(&self) -> Box<dyn Render + Send + Sync>;
}

/// How node or txn data is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRepr {
    /// Null buffer.
    Null,
    /// Valid UTF-8.
    Text(String),
    /// Hex of non-UTF-8 bytes.
    Hex(String),
    /// Base64 of non-UTF-8 bytes.
    Base64(String),
}

/// Chooses the representation of `data`.
pub fn data_repr(data: Option<&[u8]>, f: DataFormat) -> DataRepr {
    match data {
        None => DataRepr::Null,
        Some(d) => match std::str::from_utf8(d) {
            Ok(s) => DataRepr::Text(s.to_string()),
            Err(_) => match f {
                DataFormat::Hex => DataRepr::Hex(d.iter().map(|b| format!("{b:02x}")).collect()),
                DataFormat::Base64 => {
                    DataRepr::Base64(base64::engine::general_purpose::STANDARD.encode(d))
                }
            },
        },
    }
}

/// Stable name of a log end reason (JSON `reason`).
pub fn end_reason_name(r: EndReason) -> &'static str {
    match r {
        EndReason::Eof => "eof",
        EndReason::ZeroPadding => "zeroPadding",
        EndReason::Torn => "torn",
        EndReason::PartialRecord { .. } => "partialRecord",
    }
}

/// Stable name of a digest comparison (JSON `check`).
pub fn digest_check_name(c: DigestCheck) -> &'static str {
    match c {
        DigestCheck::Absent => "absent",
        DigestCheck::Empty => "empty",
        DigestCheck::NotComparable => "notComparable",
        DigestCheck::Match => "match",
        DigestCheck::Mismatch { .. } => "mismatch",
    }
}

/// Name of a compression (JSON `compression`).
pub fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
    }
}

/// Name of a KeeperException code (as in `KeeperException.Code`).
pub fn keeper_error_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        -1 => "SYSTEMERROR",
        -2 => "RUNTIMEINCONSISTENCY",
        -3 => "DATAINCONSISTENCY",
        -4 => "CONNECTIONLOSS",
        -5 => "MARSHALLINGERROR",
        -6 => "UNIMPLEMENTED",
        -7 => "OPERATIONTIMEOUT",
        -8 => "BADARGUMENTS",
        -13 => "NEWCONFIGNOQUORUM",
        -14 => "RECONFIGINPROGRESS",
        -15 => "UNKNOWNSESSION",
        -100 => "APIERROR",
        -101 => "NONODE",
        -102 => "NOAUTH",
        -103 => "BADVERSION",
        -108 => "NOCHILDRENFOREPHEMERALS",
        -110 => "NODEEXISTS",
        -111 => "NOTEMPTY",
        -112 => "SESSIONEXPIRED",
        -113 => "INVALIDCALLBACK",
        -114 => "INVALIDACL",
        -115 => "AUTHFAILED",
        -118 => "SESSIONMOVED",
        -119 => "NOTREADONLY",
        -120 => "EPHEMERALONLOCALSESSION",
        -121 => "NOWATCHER",
        -122 => "REQUESTTIMEOUT",
        -123 => "RECONFIGDISABLED",
        -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
        -125 => "QUOTAEXCEEDED",
        -127 => "THROTTLEDOP",
        _ => "UNKNOWN",
    }
}

/// Node type from `ephemeralOwner` (JSON `nodeType`).
pub fn node_type_name(owner: i64) -> &'static str {
    match zkformat::data::NodeKind::from_owner(owner) {
        zkformat::data::NodeKind::Persistent => "persistent",
        zkformat::data::NodeKind::Ephemeral(_) => "ephemeral",
        zkformat::data::NodeKind::Container => "container",
        zkformat::data::NodeKind::Ttl(_) => "ttl",
    }
}
