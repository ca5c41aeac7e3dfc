//! The zxid fence of a restore.
//!
//! A client that outlived the ensemble remembers the last zxid it saw, and a server whose last
//! zxid is lower refuses it on every retry ("Refusing session request … as it has seen zxid …
//! client must try another server"), so the client never even learns that its session expired.
//! A restore therefore writes the restored state at the first zxid of a new epoch, above every
//! epoch the ensemble may have used, with `acceptedEpoch`/`currentEpoch` to match (a quorum
//! member refuses a data dir whose epoch files are below its snapshot's epoch). Nodes keep their
//! own zxids; only the state's zxid (the snapshot's name, digest and last-zxid sections) moves.

use crate::zxid::Zxid;

/// Epochs added above the highest one known, by default. Every leader election after the backup
/// starts a new epoch, and clients may have seen zxids of each: this covers that many elections
/// during an outage, which the data alone cannot know about. Epochs are 32-bit and only ever
/// compared, so the jump costs nothing.
pub const DEFAULT_MARGIN: u32 = 10;

/// An epoch known to have been used, and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEpoch {
    /// The epoch.
    pub epoch: u32,
    /// Where it was seen (`acceptedEpoch`, `a later backup nightly-…`, `srvr of zk2:2181`).
    pub source: String,
}

/// Where a restore's state is written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The new epoch.
    pub epoch: u32,
    /// Its first zxid (`epoch << 32`).
    pub zxid: Zxid,
    /// The highest epoch known to have been used.
    pub floor: u32,
    /// How the epoch was chosen, for the report.
    pub reason: String,
}

/// Chooses the fence for a state at `last` (the restored data's last zxid), given other epochs
/// known to have been used. `explicit` is an epoch asked for (`--fence-epoch`).
///
/// # Errors
/// An explicit epoch that is not above every known one, or no room left in 32 bits.
pub fn choose(last: Zxid, seen: &[SeenEpoch], explicit: Option<u32>) -> Result<Fence, String> {
    let mut floor = last.epoch();
    let mut floor_source = format!("the data's last zxid {last}");
    for s in seen {
        if s.epoch > floor {
            floor = s.epoch;
            floor_source.clone_from(&s.source);
        }
    }
    let (epoch, reason) = match explicit {
        Some(e) if e <= floor => {
            return Err(format!(
                "--fence-epoch {e} is not above epoch {floor} ({floor_source}): clients may have seen zxids of epoch {floor}, and a restore below them locks those clients out"
            ))
        }
        Some(e) => (e, format!("--fence-epoch {e} (the highest epoch known is {floor}, from {floor_source})")),
        None => {
            let e = floor.checked_add(DEFAULT_MARGIN).ok_or_else(|| {
                format!("epoch {floor} leaves no room for a fence: pass --fence-epoch or --no-fence")
            })?;
            (
                e,
                format!(
                    "epoch {floor} ({floor_source}) + {DEFAULT_MARGIN}: each leader election after the backup starts a new epoch, and clients may have seen zxids of up to {DEFAULT_MARGIN} of them"
                ),
            )
        }
    };
    if epoch > i32::MAX as u32 {
        return Err(format!(
            "epoch {epoch} does not fit a zxid (at most {}): pass a lower --fence-epoch, or --no-fence",
            i32::MAX
        ));
    }
    Ok(Fence {
        epoch,
        zxid: Zxid::from_parts(epoch, 0),
        floor,
        reason,
    })
}

/// Reads an epoch file's content (`1`, decimal, as ZooKeeper writes it).
pub fn parse_epoch(text: &str) -> Option<u32> {
    text.trim()
        .parse::<u64>()
        .ok()
        .and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn above_everything_known() {
        let f = choose(Zxid(0x1_0000_0035), &[], None).unwrap();
        assert_eq!((f.epoch, f.zxid, f.floor), (11, Zxid(0xb_0000_0000), 1));
        let seen = [SeenEpoch {
            epoch: 4,
            source: "srvr of zk2".into(),
        }];
        let f = choose(Zxid(0x1_0000_0035), &seen, None).unwrap();
        assert_eq!(f.epoch, 14);
        assert!(f.reason.contains("srvr of zk2"));
        assert!(choose(Zxid(0x1_0000_0035), &seen, Some(4)).is_err());
        assert_eq!(
            choose(Zxid(0x1_0000_0035), &seen, Some(5)).unwrap().zxid,
            Zxid(0x5_0000_0000)
        );
        assert!(choose(Zxid(0x35), &[], None).unwrap().zxid > Zxid(0x35));
        assert_eq!(parse_epoch("7"), Some(7));
        assert_eq!(parse_epoch(" 7\n"), Some(7));
        assert_eq!(parse_epoch("x"), None);
    }
}
