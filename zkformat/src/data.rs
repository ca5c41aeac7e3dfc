//! Records of ZooKeeper's data module: ACLs and the persisted node stat.
//!
//! | record | fields |
//! |---|---|
//! | `Id` | scheme: ustring, id: ustring |
//! | `ACL` | perms: int, id: Id |
//! | `StatPersisted` (60 bytes) | czxid, mzxid, ctime, mtime: long; version, cversion, aversion: int; ephemeralOwner, pzxid: long |
//!
//! Source: `zookeeper-jute/src/main/resources/zookeeper.jute`.

use crate::error::Result;
use crate::jute::{self, Reader};

/// One ACL entry: permission bits and an identity (`scheme:id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Acl<'a> {
    /// Permission bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16.
    pub perms: i32,
    /// Scheme (`world`, `digest`, `ip`, `sasl`, `x509`, …).
    pub scheme: &'a [u8],
    /// Identity within the scheme (`anyone`, `user:hash`, `10.0.0.0/8`, …).
    pub id: &'a [u8],
}

/// Smallest encoded ACL: perms + two empty strings.
pub const MIN_ACL_SIZE: usize = 12;

impl<'a> Acl<'a> {
    /// Decodes one ACL.
    pub fn decode(r: &mut Reader<'a>) -> Result<Acl<'a>> {
        Ok(Acl {
            perms: r.i32("ACL perms")?,
            scheme: r.string("ACL scheme")?,
            id: r.string("ACL id")?,
        })
    }

    /// Encodes this ACL.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.perms);
        jute::put_string(out, self.scheme);
        jute::put_string(out, self.id);
    }

    /// `world:anyone` with all permissions: the list ZooKeeper stores as ACL key -1.
    pub const OPEN_UNSAFE: Acl<'static> = Acl {
        perms: 31,
        scheme: b"world",
        id: b"anyone",
    };

    /// Permission letters in ZooKeeper's `cdrwa` order (as zkCli prints them).
    pub fn perms_letters(&self) -> String {
        let mut s = String::new();
        for (bit, c) in [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')] {
            if self.perms & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

/// A jute `vector<ACL>`, decoded lazily from its bytes (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclList<'a> {
    raw_count: i32,
    body: &'a [u8],
    offset: u64,
}

impl<'a> AclList<'a> {
    /// Decodes a `vector<ACL>`, checking every element.
    pub fn decode(r: &mut Reader<'a>) -> Result<AclList<'a>> {
        let raw_count = r.count("ACL vector count", MIN_ACL_SIZE)?;
        let offset = r.offset();
        let start = r.position();
        for _ in 0..jute::count_len(raw_count) {
            Acl::decode(r)?;
        }
        Ok(AclList {
            raw_count,
            body: r.since(start),
            offset,
        })
    }

    /// The list `[world:anyone, ALL]` (ZooKeeper's `OPEN_ACL_UNSAFE`).
    pub fn open_unsafe() -> AclList<'static> {
        const BODY: &[u8] = b"\x00\x00\x00\x1f\x00\x00\x00\x05world\x00\x00\x00\x06anyone";
        AclList {
            raw_count: 1,
            body: BODY,
            offset: 0,
        }
    }

    /// An encoded list built from ACLs (for writers).
    pub fn encode_acls(acls: &[Acl<'_>], out: &mut Vec<u8>) {
        jute::put_i32(out, jute::len_i32(acls.len()));
        for a in acls {
            a.encode(out);
        }
    }

    /// Encodes this list exactly as it was read.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i32(out, self.raw_count);
        out.extend_from_slice(self.body);
    }

    /// The stored count (-1 = null vector).
    pub fn raw_count(&self) -> i32 {
        self.raw_count
    }

    /// True for a null vector (count -1).
    pub fn is_null(&self) -> bool {
        self.raw_count == -1
    }

    /// Number of ACLs.
    pub fn len(&self) -> usize {
        jute::count_len(self.raw_count)
    }

    /// True when there are no ACLs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded elements (without the count).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The ACLs. Elements were validated when the list was decoded.
    pub fn iter(&self) -> impl Iterator<Item = Acl<'a>> + 'a {
        let mut r = Reader::new(self.body, self.offset, crate::Limits::default());
        let n = self.len();
        (0..n).map_while(move |_| Acl::decode(&mut r).ok())
    }
}

/// The parent of a stored path: `""` (the root as stored) for the root's children.
pub fn parent_path(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => path.get(..i).unwrap_or(b""),
        None => b"",
    }
}

/// The parent of a path as clients write it: `"/"` for the root's children.
pub fn parent_display(path: &[u8]) -> &[u8] {
    match parent_path(path) {
        b"" => b"/",
        p => p,
    }
}

/// `StatPersisted`: the 60-byte stat stored with each node in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stat {
    /// Zxid of the create.
    pub czxid: i64,
    /// Zxid of the last setData.
    pub mzxid: i64,
    /// Creation time (ms since the epoch).
    pub ctime: i64,
    /// Last modification time (ms).
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Child version as stored (clients see `2 × cversion − numChildren`).
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Owner session of an ephemeral node, or the container/TTL encoding (see [`NodeKind`]).
    pub ephemeral_owner: i64,
    /// Zxid of the last child change.
    pub pzxid: i64,
}

/// Encoded size of [`Stat`].
pub const STAT_SIZE: usize = 60;

impl Stat {
    /// Decodes a `StatPersisted`.
    pub fn decode(r: &mut Reader<'_>) -> Result<Stat> {
        if let Some(block) = r
            .peek(STAT_SIZE)
            .and_then(|b| <&[u8; STAT_SIZE]>::try_from(b).ok())
        {
            // The whole stat is there: one bounds check instead of nine.
            let i64_at = |at| jute::i64_at(block, at);
            let i32_at = |at| jute::i32_at(block, at);
            let stat = Stat {
                czxid: i64_at(0),
                mzxid: i64_at(8),
                ctime: i64_at(16),
                mtime: i64_at(24),
                version: i32_at(32),
                cversion: i32_at(36),
                aversion: i32_at(40),
                ephemeral_owner: i64_at(44),
                pzxid: i64_at(52),
            };
            r.bytes(STAT_SIZE, "stat")?;
            return Ok(stat);
        }
        // Field by field, so that a truncated stat names the field it ends in.
        Ok(Stat {
            czxid: r.i64("czxid")?,
            mzxid: r.i64("mzxid")?,
            ctime: r.i64("ctime")?,
            mtime: r.i64("mtime")?,
            version: r.i32("version")?,
            cversion: r.i32("cversion")?,
            aversion: r.i32("aversion")?,
            ephemeral_owner: r.i64("ephemeralOwner")?,
            pzxid: r.i64("pzxid")?,
        })
    }

    /// Encodes a `StatPersisted`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        jute::put_i64(out, self.czxid);
        jute::put_i64(out, self.mzxid);
        jute::put_i64(out, self.ctime);
        jute::put_i64(out, self.mtime);
        jute::put_i32(out, self.version);
        jute::put_i32(out, self.cversion);
        jute::put_i32(out, self.aversion);
        jute::put_i64(out, self.ephemeral_owner);
        jute::put_i64(out, self.pzxid);
    }

    /// What `ephemeralOwner` says this node is.
    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.ephemeral_owner)
    }
}

/// Node type as encoded in `ephemeralOwner` (`EphemeralType.java`, 3.5.4+ encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Owner 0.
    Persistent,
    /// Owned by a session.
    Ephemeral(i64),
    /// `0x8000000000000000`.
    Container,
    /// High byte 0xFF, bits 40–55 zero: TTL in ms in the low 40 bits. ZooKeeper reads it as TTL only
    /// with `zookeeper.extendedTypesEnabled=true`; otherwise as an ephemeral owner.
    Ttl(i64),
}

/// `ephemeralOwner` of container nodes.
pub const CONTAINER_OWNER: i64 = i64::MIN;

impl NodeKind {
    /// Classifies an `ephemeralOwner` value.
    pub fn from_owner(owner: i64) -> NodeKind {
        let u = owner as u64;
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if u >> 56 == 0xff && (u >> 40) & 0xffff == 0 {
            NodeKind::Ttl((u & 0xff_ffff_ffff) as i64)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }

    /// The `ephemeralOwner` encoding of a TTL node (3.5.4+).
    pub fn ttl_owner(ttl_ms: i64) -> i64 {
        ((0xffu64 << 56) | (ttl_ms as u64 & 0xff_ffff_ffff)) as i64
    }

    /// True for nodes owned by a session.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, NodeKind::Ephemeral(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn stat_and_acl_round_trip() {
        let s = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(out.len(), STAT_SIZE);
        assert_eq!(
            Stat::decode(&mut Reader::new(&out, 0, Limits::default())).unwrap(),
            s
        );
        let mut out = Vec::new();
        AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut out);
        let l = AclList::decode(&mut Reader::new(&out, 0, Limits::default())).unwrap();
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![Acl::OPEN_UNSAFE]);
        let mut again = Vec::new();
        l.encode(&mut again);
        assert_eq!(again, out);
        assert_eq!(Acl::OPEN_UNSAFE.perms_letters(), "cdrwa");
        let mut open = Vec::new();
        AclList::open_unsafe().encode(&mut open);
        assert_eq!(open, out);
    }

    #[test]
    fn owner_kinds() {
        assert_eq!(NodeKind::from_owner(0), NodeKind::Persistent);
        assert_eq!(NodeKind::from_owner(i64::MIN), NodeKind::Container);
        assert_eq!(
            NodeKind::from_owner(NodeKind::ttl_owner(5000)),
            NodeKind::Ttl(5000)
        );
        assert_eq!(
            NodeKind::from_owner(0x0100_0000_0000_0001),
            NodeKind::Ephemeral(0x0100_0000_0000_0001)
        );
        // 0xFF high byte with bits 40-55 set is not a valid TTL: treated as an owner.
        assert!(NodeKind::from_owner(0xff00_0100_0000_0000u64 as i64).is_ephemeral());
    }
}
