//! Data directories: which snapshot and logs ZooKeeper would use to restore one.
//!
//! Follows `FileTxnSnapLog.restore`, `FileSnap.findNValidSnapshots` and `FileTxnLog.getLogFiles`:
//! snapshots are tried newest first (up to 100 that pass the cheap validity check: a plain file
//! ending in `00 00 00 01 2F`, or gzip/snappy magic); the first that parses with good seals wins;
//! logs are chosen **by name**: the newest log starting at or before the snapshot's zxid, and every
//! later one. Stray names such as `log.42.fixed` count as logs, as they do for ZooKeeper.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::kind::{GZIP_MAGIC, SNAPPY_JAVA_MAGIC};
use crate::zxid::{parse_file_name, DataFileName, FileNameKind, Zxid};

/// How many snapshot candidates ZooKeeper considers.
pub const MAX_SNAPSHOT_CANDIDATES: usize = 100;

/// A log or snapshot file in a data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Full path.
    pub path: PathBuf,
    /// What its name says.
    pub name: DataFileName,
    /// Size in bytes.
    pub len: u64,
}

impl DataFile {
    /// The zxid in the file name.
    pub fn zxid(&self) -> Zxid {
        self.name.zxid
    }
}

/// The files of a data dir's `version-2` folder.
#[derive(Debug, Clone, Default)]
pub struct DataDir {
    /// The folder holding the files (`<dataDir>/version-2`).
    pub dir: PathBuf,
    /// Logs, ascending by name zxid.
    pub logs: Vec<DataFile>,
    /// Snapshots, descending by name zxid (the order ZooKeeper tries them).
    pub snapshots: Vec<DataFile>,
    /// Content of `acceptedEpoch`, if present.
    pub accepted_epoch: Option<String>,
    /// Content of `currentEpoch`, if present.
    pub current_epoch: Option<String>,
    /// Other files (ignored by ZooKeeper).
    pub other: Vec<PathBuf>,
}

impl DataDir {
    /// Scans a data dir: `path` may be the `dataDir` (holding `version-2/`) or `version-2` itself.
    ///
    /// # Errors
    /// I/O errors listing the folder.
    pub fn scan(path: &Path) -> io::Result<DataDir> {
        let v2 = path.join("version-2");
        let dir = if v2.is_dir() { v2 } else { path.to_path_buf() };
        let mut d = DataDir {
            dir: dir.clone(),
            ..DataDir::default()
        };
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_file() {
                continue;
            }
            match parse_file_name(&name) {
                Some(n) => {
                    let f = DataFile {
                        path: p,
                        name: n,
                        len: entry.metadata()?.len(),
                    };
                    match n.kind {
                        FileNameKind::Log => d.logs.push(f),
                        FileNameKind::Snapshot(_) => d.snapshots.push(f),
                    }
                }
                None if name == "acceptedEpoch" => d.accepted_epoch = Some(fs::read_to_string(&p)?),
                None if name == "currentEpoch" => d.current_epoch = Some(fs::read_to_string(&p)?),
                None => d.other.push(p),
            }
        }
        d.logs
            .sort_by(|a, b| a.zxid().cmp(&b.zxid()).then(a.path.cmp(&b.path)));
        d.snapshots
            .sort_by(|a, b| b.zxid().cmp(&a.zxid()).then(a.path.cmp(&b.path)));
        Ok(d)
    }

    /// Snapshots that pass ZooKeeper's cheap validity check, newest first (at most 100).
    pub fn snapshot_candidates(&self) -> Vec<&DataFile> {
        self.snapshots
            .iter()
            .filter(|f| looks_valid(f).unwrap_or(false))
            .take(MAX_SNAPSHOT_CANDIDATES)
            .collect()
    }

    /// What a replay up to `to_zxid` (`None`: to the end) reads when the snapshot ZooKeeper
    /// picks loads: that snapshot (the newest candidate not after `to_zxid`; `None` when there
    /// is none, and the replay starts from the empty tree) and the logs after it.
    pub fn replay_files(&self, to_zxid: Option<Zxid>) -> (Option<&DataFile>, Vec<&DataFile>) {
        let snapshot = self
            .snapshot_candidates()
            .into_iter()
            .find(|c| !to_zxid.is_some_and(|z| c.zxid() > z));
        let logs = self.logs_after(snapshot.map_or(Zxid(0), DataFile::zxid));
        (snapshot, logs)
    }

    /// The logs ZooKeeper reads to replay from `snapshot_zxid`: the newest log whose name zxid
    /// is at or below it, and every later log.
    pub fn logs_after(&self, snapshot_zxid: Zxid) -> Vec<&DataFile> {
        let start = self
            .logs
            .iter()
            .rposition(|l| l.zxid() <= snapshot_zxid)
            .unwrap_or(0);
        self.logs.get(start..).unwrap_or(&[]).iter().collect()
    }
}

/// `SnapStream.isValidSnapshot`: the cheap check before a full parse.
///
/// # Errors
/// I/O errors reading the file.
pub fn looks_valid(f: &DataFile) -> io::Result<bool> {
    let mut file = fs::File::open(&f.path)?;
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head)?;
    let head = head.get(..n).unwrap_or(&[]);
    if head.starts_with(&GZIP_MAGIC) || head.starts_with(&SNAPPY_JAVA_MAGIC) {
        return Ok(true);
    }
    if f.len < 10 {
        return Ok(false);
    }
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::End(-5))?;
    let mut tail = [0u8; 5];
    let n = read_up_to(&mut file, &mut tail)?;
    Ok(n == 5 && tail == [0, 0, 0, 1, b'/'])
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_selection_follows_names() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = dir.path().join("version-2");
        fs::create_dir(&v2).unwrap();
        for n in [
            "log.1",
            "log.42",
            "log.274",
            "log.63b",
            "snapshot.272",
            "snapshot.639",
            "junk",
        ] {
            fs::write(v2.join(n), b"x").unwrap();
        }
        let d = DataDir::scan(dir.path()).unwrap();
        let names = |v: Vec<&DataFile>| {
            v.iter()
                .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(d.logs_after(Zxid(0x639))), vec!["log.274", "log.63b"]);
        assert_eq!(
            names(d.logs_after(Zxid(0x272))),
            vec!["log.42", "log.274", "log.63b"]
        );
        assert_eq!(d.snapshots[0].zxid(), Zxid(0x639));
        assert!(d.snapshot_candidates().is_empty());
        assert_eq!(d.other.len(), 1);
    }
}
