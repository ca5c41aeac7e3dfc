//! Zxids, session ids and ZooKeeper's file-name conventions.
//!
//! A zxid is `epoch << 32 | counter`. Log files are named `log.<hex zxid of their first txn>` and
//! snapshots `snapshot.<hex zxid>[.gz|.snappy]` (`Util.makeLogName`/`makeSnapshotName`). Like
//! ZooKeeper's `Util.getZxidFromName`, parsing looks only at the first dot-separated part after the
//! prefix, so `log.42.fixed` is a log for zxid 0x42.

use std::fmt;

use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{all_consuming, map_res, opt, rest};
use nom::sequence::{preceded, tuple};
use nom::IResult;

/// A ZooKeeper transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    /// The epoch (high 32 bits).
    pub fn epoch(self) -> u32 {
        ((self.0 as u64) >> 32) as u32
    }

    /// The counter within the epoch (low 32 bits).
    pub fn counter(self) -> u32 {
        (self.0 as u64 & 0xffff_ffff) as u32
    }

    /// Builds a zxid from epoch and counter.
    pub fn from_parts(epoch: u32, counter: u32) -> Zxid {
        Zxid(((u64::from(epoch) << 32) | u64::from(counter)) as i64)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// What kind of data file a name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileNameKind {
    /// `log.<hex>`.
    Log,
    /// `snapshot.<hex>` (the extension picks the decompressor, as in `SnapStream`).
    Snapshot(NameCompression),
}

/// Zxids missing between two consecutive txns of one epoch (ZooKeeper numbers the txns of an
/// epoch 1, 2, 3, …; a new epoch starts again, so only a gap inside an epoch is a loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidGap {
    /// The last zxid before the gap.
    pub after: Zxid,
    /// The next zxid seen.
    pub next: Zxid,
}

impl ZxidGap {
    /// How many zxids are missing.
    pub fn missing(&self) -> u64 {
        (self.next.0 - self.after.0 - 1) as u64
    }

    /// "0x105 to 0x10a (6 zxids)".
    pub fn describe(&self) -> String {
        let first = Zxid(self.after.0 + 1);
        let last = Zxid(self.next.0 - 1);
        let n = self.missing();
        if n == 1 {
            format!("{first} (1 zxid)")
        } else {
            format!("{first} to {last} ({n} zxids)")
        }
    }
}

/// Follows a sequence of txn zxids and reports every gap inside an epoch, and zxids that go
/// backwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Continuity {
    last: Option<Zxid>,
}

/// What [`Continuity::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The next zxid, as expected (or the first of a new epoch).
    Ok,
    /// Zxids are missing before this one.
    Gap(ZxidGap),
    /// Not above the previous zxid.
    Backwards {
        /// The previous zxid.
        previous: Zxid,
    },
}

impl Continuity {
    /// Starts after `z` (e.g. a snapshot's zxid: the next txn must be `z + 1`).
    pub fn after(z: Zxid) -> Continuity {
        Continuity { last: Some(z) }
    }

    /// The last zxid seen.
    pub fn last(&self) -> Option<Zxid> {
        self.last
    }

    /// Takes the next txn's zxid.
    pub fn next(&mut self, z: Zxid) -> Step {
        let step = match self.last {
            None => Step::Ok,
            Some(p) if z <= p => Step::Backwards { previous: p },
            Some(p) if z.epoch() == p.epoch() && z.0 != p.0 + 1 => {
                Step::Gap(ZxidGap { after: p, next: z })
            }
            Some(_) => Step::Ok,
        };
        if !matches!(step, Step::Backwards { .. }) {
            self.last = Some(z);
        }
        step
    }
}

/// Compression a snapshot's file name implies (from its last dot-separated part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCompression {
    /// No known extension.
    None,
    /// `.gz`.
    Gzip,
    /// `.snappy`.
    Snappy,
}

/// A parsed data-file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFileName {
    /// Log or snapshot.
    pub kind: FileNameKind,
    /// The zxid in the name.
    pub zxid: Zxid,
}

fn hex_zxid(input: &str) -> IResult<&str, i64> {
    // Java's Long.parseLong(hex, 16): signed, so values above 0x7fff_ffff_ffff_ffff fail.
    map_res(take_while1(|c: char| c.is_ascii_hexdigit()), |h: &str| {
        i64::from_str_radix(h, 16)
    })(input)
}

fn name_parts(input: &str) -> IResult<&str, (&str, i64, Option<&str>)> {
    all_consuming(tuple((
        nom::branch::alt((tag("log."), tag("snapshot."))),
        hex_zxid,
        opt(preceded(tag("."), rest)),
    )))(input)
}

/// Parses `log.<hex>` / `snapshot.<hex>[.…]` file names; `None` for anything ZooKeeper ignores.
pub fn parse_file_name(name: &str) -> Option<DataFileName> {
    let (_, (prefix, zxid, suffix)) = name_parts(name).ok()?;
    let kind = if prefix == "log." {
        FileNameKind::Log
    } else {
        let last = suffix.and_then(|s| s.rsplit('.').next()).unwrap_or("");
        FileNameKind::Snapshot(match last {
            "gz" => NameCompression::Gzip,
            "snappy" => NameCompression::Snappy,
            _ => NameCompression::None,
        })
    };
    Some(DataFileName {
        kind,
        zxid: Zxid(zxid),
    })
}

/// `log.<hex>` for a log whose first txn is `zxid`.
pub fn log_file_name(zxid: Zxid) -> String {
    format!("log.{:x}", zxid.0)
}

/// `snapshot.<hex>` plus the extension for `compression`.
pub fn snapshot_file_name(zxid: Zxid, compression: NameCompression) -> String {
    let ext = match compression {
        NameCompression::None => "",
        NameCompression::Gzip => ".gz",
        NameCompression::Snappy => ".snappy",
    };
    format!("snapshot.{:x}{ext}", zxid.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = parse_file_name("log.100000001").unwrap();
        assert_eq!(n.kind, FileNameKind::Log);
        assert_eq!(n.zxid, Zxid(0x1_0000_0001));
        assert_eq!(n.zxid.epoch(), 1);
        assert_eq!(n.zxid.counter(), 1);
        assert_eq!(log_file_name(n.zxid), "log.100000001");
        let s = parse_file_name("snapshot.2a.snappy").unwrap();
        assert_eq!(s.kind, FileNameKind::Snapshot(NameCompression::Snappy));
        assert_eq!(
            snapshot_file_name(Zxid(42), NameCompression::Gzip),
            "snapshot.2a.gz"
        );
        // Stray suffixes are still picked up, as ZooKeeper does.
        assert_eq!(parse_file_name("log.42.fixed").unwrap().zxid, Zxid(0x42));
        assert!(parse_file_name("log.").is_none());
        assert!(parse_file_name("acceptedEpoch").is_none());
        assert!(parse_file_name("log.xyz").is_none());
        assert!(parse_file_name("snapshot.ffffffffffffffff").is_none());
    }
}

#[cfg(test)]
mod continuity_tests {
    use super::*;

    #[test]
    fn gaps_inside_an_epoch_only() {
        let mut c = Continuity::after(Zxid(0x1_0000_0005));
        assert_eq!(c.next(Zxid(0x1_0000_0006)), Step::Ok);
        let gap = ZxidGap {
            after: Zxid(0x1_0000_0006),
            next: Zxid(0x1_0000_000a),
        };
        assert_eq!(c.next(Zxid(0x1_0000_000a)), Step::Gap(gap));
        assert_eq!(gap.describe(), "0x100000007 to 0x100000009 (3 zxids)");
        assert_eq!(c.next(Zxid(0x2_0000_0001)), Step::Ok, "a new epoch");
        assert!(matches!(
            c.next(Zxid(0x2_0000_0001)),
            Step::Backwards { .. }
        ));
        assert_eq!(c.last(), Some(Zxid(0x2_0000_0001)));
    }
}
