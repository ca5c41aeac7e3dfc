//! The manifest of one backup: what it is, where it came from, what it holds, and what a restore
//! will drop. Written once, last, with create-if-absent: a backup is ready exactly when its
//! manifest says so. Never holds a credential.

use serde::{Deserialize, Serialize};

/// Format of this manifest.
pub const MANIFEST_FORMAT: u32 = 1;

/// Where a backup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Being written (its lease is live).
    #[serde(rename = "STATUS_BACKING_UP")]
    BackingUp,
    /// Complete and checked.
    #[serde(rename = "STATUS_READY")]
    Ready,
    /// Failed; `error` says why.
    #[serde(rename = "STATUS_ERROR")]
    Error,
}

impl Status {
    /// `STATUS_READY`, …
    pub fn name(self) -> &'static str {
        match self {
            Status::BackingUp => "STATUS_BACKING_UP",
            Status::Ready => "STATUS_READY",
            Status::Error => "STATUS_ERROR",
        }
    }
}

/// Where the data came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// `datadir` or `admin`.
    pub kind: String,
    /// The data dir (for `datadir`).
    pub path: Option<String>,
    /// The separate log dir, if any.
    pub log_dir: Option<String>,
    /// The admin server's URL (for `admin`), without credentials.
    pub url: Option<String>,
    /// The machine that ran the backup.
    pub host: String,
}

/// One file of the backup, as stored under `version-2/` in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// `version-2/log.1c`, …
    pub name: String,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
}

/// The stored archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Archive {
    /// The store key.
    pub key: String,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// Ephemerals under one parent: what a restore drops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralParent {
    /// The parent path.
    pub parent: String,
    /// The recipe guess (`lock`, `election`, `party`, `queue`, `registration`, `other`).
    pub recipe: String,
    /// How many ephemerals it holds.
    pub count: u64,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// `<label>-<uuid>`.
    pub id: String,
    /// The label.
    pub label: String,
    /// Ready or error.
    pub status: Status,
    /// Why it failed.
    pub error: Option<String>,
    /// When the backup started (UTC, RFC 3339).
    pub created: String,
    /// When it ended.
    pub finished: Option<String>,
    /// Where the data came from.
    pub source: Source,
    /// The ZooKeeper release line the files show (`3.9+`, `3.6+`, …), a guess from the format.
    pub zookeeper_version: Option<String>,
    /// The snapshot's format (`3.4/3.5`, `3.6-3.8`, `3.9`), from its tail sections.
    pub snapshot_format: Option<String>,
    /// The snapshot the backup starts from (`version-2/snapshot.1a`).
    pub snapshot: Option<String>,
    /// The snapshot's zxid: the backup restores any state from here…
    pub first_zxid: Option<String>,
    /// …to the last txn copied.
    pub last_zxid: Option<String>,
    /// Time of the first txn after the snapshot (ms since the epoch).
    pub first_txn_time: Option<i64>,
    /// Time of the last txn copied.
    pub last_txn_time: Option<i64>,
    /// Txns after the snapshot.
    pub txns: u64,
    /// The files, in archive order.
    pub files: Vec<FileEntry>,
    /// The stored archive.
    pub archive: Option<Archive>,
    /// Sessions in the copy (a restore with `zkfilter` drops them).
    pub sessions: u64,
    /// Ephemeral nodes in the copy (dropped too).
    pub ephemerals: u64,
    /// Their parents, with the recipe guess.
    pub ephemeral_parents: Vec<EphemeralParent>,
    /// What the backup passed over or noticed (a snapshot still being written, …).
    pub notes: Vec<String>,
    /// Whether the archive and the details are encrypted (age): this manifest then holds only
    /// the label, times, status and sizes; the rest is in `details.json.age`.
    #[serde(default)]
    pub encrypted: bool,
}

impl Manifest {
    /// A manifest for a backup starting now.
    pub fn new(id: &str, label: &str, created: &str, source: Source) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            id: id.to_string(),
            label: label.to_string(),
            status: Status::BackingUp,
            error: None,
            created: created.to_string(),
            finished: None,
            source,
            zookeeper_version: None,
            snapshot_format: None,
            snapshot: None,
            first_zxid: None,
            last_zxid: None,
            first_txn_time: None,
            last_txn_time: None,
            txns: 0,
            files: Vec::new(),
            archive: None,
            sessions: 0,
            ephemerals: 0,
            ephemeral_parents: Vec::new(),
            notes: Vec::new(),
            encrypted: false,
        }
    }
}

impl Manifest {
    /// What an encrypted backup shows without its key: the label, ID, status, times and the
    /// archive's size and SHA-256 (to check the stored bytes), nothing of the data.
    pub fn public(&self) -> Manifest {
        let mut m = Manifest::new(
            &self.id,
            &self.label,
            &self.created,
            Source {
                kind: self.source.kind.clone(),
                ..Source::default()
            },
        );
        m.status = self.status;
        m.error = self.error.as_ref().map(|_| {
            "failed: the reason is in the encrypted details (show --decrypt-with KEYFILE)"
                .to_string()
        });
        m.finished = self.finished.clone();
        m.archive = self.archive.clone();
        m.encrypted = true;
        m
    }
}

/// The lease of a backup being written: renewed while the writer works; once it has expired
/// without a manifest, the backup is failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The backup.
    pub id: String,
    /// Its label.
    pub label: String,
    /// When it started.
    pub created: String,
    /// Until when the writer is taken to be alive (ms since the epoch).
    pub lease_until_ms: i64,
    /// The writer's host and process.
    pub host: String,
    /// The writer's process id.
    pub pid: u32,
}
