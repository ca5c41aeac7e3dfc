//! Named bounds on untrusted lengths, each matching a ZooKeeper setting.
//!
//! Rule applied everywhere: a length is accepted only if it is at most the bytes left and at most
//! [`Limits::max_buffer_len`]; a vector count only if `count × minimum element size` fits in the
//! bytes left. Nothing is allocated from an unchecked field.

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes (`BinaryInputArchive.maxBuffer`).
pub const DEFAULT_JUTE_MAXBUFFER: u32 = 0xfffff;

/// Limits applied while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `jute.maxbuffer` (default 1,048,575).
    pub jute_maxbuffer: u32,
    /// `zookeeper.jute.maxbuffer.extrasize` (default: equal to `jute_maxbuffer`; never below 1024).
    pub jute_extrasize: u32,
    /// Upper bound on the decompressed size of a compressed snapshot (bomb guard).
    pub max_decompressed: u64,
}

impl Limits {
    /// ZooKeeper 3.5.7+ defaults: every buffer or string up to 2,097,150 bytes.
    pub const ZOOKEEPER_DEFAULT: Limits = Limits {
        jute_maxbuffer: DEFAULT_JUTE_MAXBUFFER,
        jute_extrasize: DEFAULT_JUTE_MAXBUFFER,
        max_decompressed: 1 << 40,
    };

    /// Limits for a given `jute.maxbuffer`, with ZooKeeper's default extra allowance (same value,
    /// at least 1024).
    pub fn with_maxbuffer(jute_maxbuffer: u32) -> Limits {
        Limits {
            jute_maxbuffer,
            jute_extrasize: jute_maxbuffer.max(1024),
            ..Limits::ZOOKEEPER_DEFAULT
        }
    }

    /// Largest accepted buffer/string length (and txn log payload): maxbuffer + extra, clamped to
    /// `i32::MAX` as ZooKeeper 3.9.3+ does.
    pub fn max_buffer_len(&self) -> u32 {
        let extra = self.jute_extrasize.max(1024);
        let sum = u64::from(self.jute_maxbuffer) + u64::from(extra);
        sum.min(i32::MAX as u64) as u32
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::ZOOKEEPER_DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_zookeeper() {
        assert_eq!(Limits::default().max_buffer_len(), 2_097_150);
        // BufferSizeTest: jute.maxbuffer=100 ⇒ 100 + 1024.
        assert_eq!(Limits::with_maxbuffer(100).max_buffer_len(), 1124);
        assert_eq!(
            Limits::with_maxbuffer(u32::MAX).max_buffer_len(),
            i32::MAX as u32
        );
    }
}
