//! The 3.6+ tree digest (`DigestCalculator`, `AdHash`).
//!
//! Each node's digest is the CRC32 of: its path (the root as `""`), its data (nothing if null),
//! and a 60-byte big-endian block `czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion,
//! ephemeralOwner` (note: pzxid third, unlike the stored stat). Nodes below `/zookeeper/` count
//! as 0; `/zookeeper` itself is counted. The tree digest is the wrapping 64-bit sum of the node
//! digests, so it can be updated by adding and subtracting nodes.

use crate::data::Stat;

/// Digest version every ZooKeeper release writes.
pub const DIGEST_VERSION: i32 = 2;

/// The digest of one node (0 for nodes under `/zookeeper/`).
pub fn node_digest(path: &[u8], data: Option<&[u8]>, stat: &Stat) -> u64 {
    if path.starts_with(b"/zookeeper/") {
        return 0;
    }
    let path: &[u8] = if path == b"/" { b"" } else { path };
    let data = data.unwrap_or(&[]);
    let block = stat_block(stat);
    // Most nodes are small: one CRC pass over a copy on the stack is faster than three passes
    // over short pieces.
    let mut small = [0u8; 256];
    let n = path.len() + data.len();
    if let Some(buf) = small.get_mut(..n + block.len()) {
        let (p, rest) = buf.split_at_mut(path.len());
        let (d, b) = rest.split_at_mut(data.len());
        p.copy_from_slice(path);
        d.copy_from_slice(data);
        b.copy_from_slice(&block);
        return u64::from(crc32fast::hash(buf));
    }
    let mut h = crc32fast::Hasher::new();
    h.update(path);
    h.update(data);
    h.update(&block);
    u64::from(h.finalize())
}

/// The 60-byte stat block the digest covers (pzxid third, unlike the stored stat).
fn stat_block(stat: &Stat) -> [u8; 60] {
    let mut block = [0u8; 60];
    let fields64 = [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime];
    for (i, v) in fields64.iter().enumerate() {
        block[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    block[40..44].copy_from_slice(&stat.version.to_be_bytes());
    block[44..48].copy_from_slice(&stat.cversion.to_be_bytes());
    block[48..52].copy_from_slice(&stat.aversion.to_be_bytes());
    block[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    block
}

/// A tree digest: the wrapping sum of node digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TreeDigest(pub u64);

impl TreeDigest {
    /// Adds a node.
    pub fn add(&mut self, path: &[u8], data: Option<&[u8]>, stat: &Stat) {
        self.0 = self.0.wrapping_add(node_digest(path, data, stat));
    }

    /// Removes a node (the digest it had when added).
    pub fn remove(&mut self, path: &[u8], data: Option<&[u8]>, stat: &Stat) {
        self.0 = self.0.wrapping_sub(node_digest(path, data, stat));
    }

    /// The value as ZooKeeper stores it (a Java `long`).
    pub fn value(self) -> i64 {
        self.0 as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_35_tree_digest() {
        // zk-formats.md §6: root, /zookeeper, /zookeeper/quota, /zookeeper/config with zero stats
        // and empty data digest to 1371985504.
        let z = Stat::default();
        let mut d = TreeDigest::default();
        for p in [
            &b""[..],
            b"/zookeeper",
            b"/zookeeper/quota",
            b"/zookeeper/config",
        ] {
            d.add(p, Some(b""), &z);
        }
        assert_eq!(d.0, 1_371_985_504);
        // The root under "/" hashes like "".
        assert_eq!(node_digest(b"/", None, &z), node_digest(b"", None, &z));
        d.remove(b"", Some(b""), &z);
        d.add(b"", None, &z);
        assert_eq!(d.0, 1_371_985_504);
    }
}
