//! The catalog: labelled backups in a store.
//!
//! Layout (every key under `zkbackup/v1/`, so later formats and the continuous archive of log
//! segments, `zkbackup/v1/segments/…`, live beside it):
//!
//! | key | written | what |
//! |---|---|---|
//! | `backups/<id>/lease.json` | first, renewed while copying | the writer is alive until `leaseUntilMs` |
//! | `backups/<id>/data.tar.gz` | streamed | the `version-2/` files |
//! | `backups/<id>/manifest.json` | last, create-if-absent | ready or error, and what the backup holds |
//!
//! A backup's status: its manifest's, if there is one; else backing up while the lease is live,
//! else failed ("the writer stopped"). A reader never sees a half-written manifest (atomic puts),
//! and two writers never share an ID (`<label>-<uuid v4>`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::manifest::{Lease, Manifest, Status};
use crate::store::{Store, StoreError};

/// Where backups live in a store.
pub const BACKUPS: &str = "zkbackup/v1/backups/";

/// The data archive's file name.
pub const DATA: &str = "data.tar.gz";

/// The data archive's file name when encrypted.
pub const DATA_ENCRYPTED: &str = "data.tar.gz.age";

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2026-12-02T04:07:41.123Z`.
pub fn rfc3339(ms: i64) -> String {
    zkfilter::dump::format_time(ms)
}

/// Checks a label as `dcos backup` does: 3 to 25 characters of `[A-Za-z0-9_.-]`, not starting
/// with `..`.
///
/// # Errors
/// What is wrong with it.
pub fn check_label(label: &str) -> Result<(), String> {
    let n = label.chars().count();
    if !(3..=25).contains(&n) {
        return Err(format!(
            "label {label:?} has {n} characters; a label has 3 to 25"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "label {label:?} holds {c:?}; a label is made of A-Z, a-z, 0-9, '_', '.' and '-'"
        ));
    }
    if label.starts_with("..") {
        return Err(format!("label {label:?} starts with \"..\""));
    }
    Ok(())
}

/// A new backup ID: `<label>-<uuid v4>`.
pub fn new_id(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4())
}

/// Checks that `id` looks like a backup ID (a label, `-`, a UUID), so it can be used in a key.
///
/// # Errors
/// What is wrong with it.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = id.len() > 37
        && id
            .get(id.len() - 36..)
            .is_some_and(|u| uuid::Uuid::parse_str(u).is_ok())
        && id.as_bytes().get(id.len() - 37) == Some(&b'-')
        && check_label(&id[..id.len() - 37]).is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a backup ID (<label>-<uuid>, as `zkbackup list` shows them)"
        ))
    }
}

/// A backup as the catalog sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its ID.
    pub id: String,
    /// Its status, lease expiry taken into account.
    pub status: Status,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The manifest, when written.
    pub manifest: Option<Manifest>,
    /// The lease, when there is one.
    pub lease: Option<Lease>,
    /// Bytes stored for it.
    pub size: u64,
}

impl Entry {
    /// The label (from the manifest or the lease, else the ID).
    pub fn label(&self) -> &str {
        self.manifest
            .as_ref()
            .map(|m| m.label.as_str())
            .or(self.lease.as_ref().map(|l| l.label.as_str()))
            .unwrap_or(&self.id)
    }

    /// When it was created (RFC 3339), if known.
    pub fn created(&self) -> Option<&str> {
        self.manifest
            .as_ref()
            .map(|m| m.created.as_str())
            .or(self.lease.as_ref().map(|l| l.created.as_str()))
    }
}

/// Errors of the catalog.
#[derive(Debug)]
pub enum CatalogError {
    /// No backup with this ID.
    NoSuchBackup(String),
    /// The store failed.
    Store(StoreError),
    /// A stored object is not what it should be.
    Corrupt(String),
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogError::NoSuchBackup(id) => write!(f, "no backup {id} in the store"),
            CatalogError::Store(e) => write!(f, "{e}"),
            CatalogError::Corrupt(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CatalogError {}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        CatalogError::Store(e)
    }
}

/// The catalog in a store.
pub struct Catalog<'s> {
    store: &'s dyn Store,
}

impl std::fmt::Debug for Catalog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("store", &self.store.describe())
            .finish()
    }
}

/// A key of a backup's object.
pub fn key(id: &str, name: &str) -> String {
    format!("{BACKUPS}{id}/{name}")
}

impl<'s> Catalog<'s> {
    /// The catalog in `store`.
    pub fn new(store: &'s dyn Store) -> Catalog<'s> {
        Catalog { store }
    }

    /// The store.
    pub fn store(&self) -> &'s dyn Store {
        self.store
    }

    /// Writes a new lease (create-if-absent).
    ///
    /// # Errors
    /// Store errors.
    pub fn write_lease(&self, lease: &Lease, first: bool) -> Result<(), CatalogError> {
        let bytes =
            serde_json::to_vec_pretty(lease).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
        let k = key(&lease.id, "lease.json");
        if first {
            self.store.put_new(&k, &bytes)?;
        } else {
            self.store.put(&k, &bytes)?;
        }
        Ok(())
    }

    /// Writes the final manifest (create-if-absent: a backup ends once).
    ///
    /// # Errors
    /// Store errors; [`StoreError::AlreadyExists`] if it ended already.
    pub fn write_manifest(&self, m: &Manifest) -> Result<(), CatalogError> {
        let mut bytes =
            serde_json::to_vec_pretty(m).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
        bytes.push(b'\n');
        self.store.put_new(&key(&m.id, "manifest.json"), &bytes)?;
        Ok(())
    }

    /// Every backup, oldest first.
    ///
    /// # Errors
    /// Store errors.
    pub fn list(&self) -> Result<Vec<Entry>, CatalogError> {
        let mut by_id: BTreeMap<String, (Vec<String>, u64)> = BTreeMap::new();
        for o in self.store.list(BACKUPS)? {
            let rest = o.key.get(BACKUPS.len()..).unwrap_or("");
            let Some((id, name)) = rest.split_once('/') else {
                continue;
            };
            let e = by_id.entry(id.to_string()).or_default();
            e.0.push(name.to_string());
            e.1 += o.size;
        }
        let now = now_ms();
        let mut out = Vec::new();
        for (id, (names, size)) in by_id {
            out.push(self.entry(&id, &names, size, now)?);
        }
        out.sort_by(|a, b| a.created().cmp(&b.created()).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        k: &str,
    ) -> Result<Option<T>, CatalogError> {
        match self.store.get_bytes(k) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| CatalogError::Corrupt(format!("{k}: not a valid record: {e}"))),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn entry(
        &self,
        id: &str,
        names: &[String],
        size: u64,
        now: i64,
    ) -> Result<Entry, CatalogError> {
        let manifest: Option<Manifest> = if names.iter().any(|n| n == "manifest.json") {
            self.read_json(&key(id, "manifest.json"))?
        } else {
            None
        };
        let lease: Option<Lease> = if names.iter().any(|n| n == "lease.json") {
            self.read_json(&key(id, "lease.json"))?
        } else {
            None
        };
        let (status, error) = match (&manifest, &lease) {
            (Some(m), _) => (m.status, m.error.clone()),
            (None, Some(l)) if l.lease_until_ms >= now => (Status::BackingUp, None),
            (None, Some(l)) => (
                Status::Error,
                Some(format!(
                    "the writer (pid {} on {}) stopped before finishing: its lease expired at {}",
                    l.pid,
                    l.host,
                    rfc3339(l.lease_until_ms)
                )),
            ),
            (None, None) => (
                Status::Error,
                Some("no lease and no manifest: an incomplete backup".to_string()),
            ),
        };
        Ok(Entry {
            id: id.to_string(),
            status,
            error,
            manifest,
            lease,
            size,
        })
    }

    /// One backup.
    ///
    /// # Errors
    /// [`CatalogError::NoSuchBackup`], store errors.
    pub fn get(&self, id: &str) -> Result<Entry, CatalogError> {
        let objects = self.store.list(&key(id, ""))?;
        if objects.is_empty() {
            return Err(CatalogError::NoSuchBackup(id.to_string()));
        }
        let names: Vec<String> = objects
            .iter()
            .filter_map(|o| o.key.rsplit('/').next().map(str::to_string))
            .collect();
        let size = objects.iter().map(|o| o.size).sum();
        self.entry(id, &names, size, now_ms())
    }

    /// Removes a backup: its manifest first (so it is never "ready" with data missing), then
    /// the rest.
    ///
    /// # Errors
    /// [`CatalogError::NoSuchBackup`], store errors.
    pub fn delete(&self, id: &str) -> Result<(), CatalogError> {
        let objects = self.store.list(&key(id, ""))?;
        if objects.is_empty() {
            return Err(CatalogError::NoSuchBackup(id.to_string()));
        }
        self.store.delete(&key(id, "manifest.json"))?;
        for o in objects {
            self.store.delete(&o.key)?;
        }
        Ok(())
    }
}

/// Parses a duration: `90s`, `15m`, `12h`, `7d`, `2w` (a bare number is seconds).
///
/// # Errors
/// A message for the command line.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (like 90s, 15m, 12h, 7d, 2w)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (s, m, h, d, w)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// What prune decided for one backup, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneDecision {
    /// The backup.
    pub id: String,
    /// Whether it is removed.
    pub remove: bool,
    /// Why.
    pub reason: String,
}

/// Retention: among ready backups (of `label`, if given), newest first, keep the `keep` newest
/// and any not older than `older_than`; the rest are removed. Backups being written or failed
/// are never touched.
pub fn prune_plan(
    entries: &[Entry],
    keep: usize,
    label: Option<&str>,
    older_than: Option<Duration>,
    now: i64,
) -> Vec<PruneDecision> {
    let mut ready: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.status == Status::Ready && label.is_none_or(|l| e.label() == l))
        .collect();
    ready.sort_by(|a, b| b.created().cmp(&a.created()).then(b.id.cmp(&a.id)));
    ready
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let age_ms = e
                .manifest
                .as_ref()
                .and_then(|m| m.finished.as_deref())
                .and_then(parse_rfc3339_ms)
                .map(|t| now - t);
            let (remove, reason) = if i < keep {
                (false, format!("one of the {keep} newest"))
            } else if let (Some(limit), Some(age)) = (older_than, age_ms) {
                if age > limit.as_millis() as i64 {
                    (
                        true,
                        format!(
                            "beyond the {keep} newest and older than {}s",
                            limit.as_secs()
                        ),
                    )
                } else {
                    (false, format!("not older than {}s", limit.as_secs()))
                }
            } else {
                (true, format!("beyond the {keep} newest"))
            };
            PruneDecision {
                id: e.id.clone(),
                remove,
                reason,
            }
        })
        .collect()
}

/// Parses the times this crate writes (`2026-12-02T04:07:41.123Z`) back to ms.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    zkfilter::cli::parse_time_ms(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_as_dcos_backup() {
        for ok in ["abc", "nightly-2026.12_01", "a.b", "x".repeat(25).as_str()] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "..abc",
            "has space",
            "slash/x",
            "é-acc",
            &"x".repeat(26),
            "",
        ] {
            assert!(check_label(bad).is_err(), "{bad}");
        }
        let id = new_id("nightly");
        assert!(check_id(&id).is_ok(), "{id}");
        assert!(check_id("nightly-1234").is_err());
        assert!(check_id("../x-00000000-0000-4000-8000-000000000000").is_err());
    }

    #[test]
    fn times_round_trip() {
        for ms in [0, 1_764_648_461_123, 951_782_400_000] {
            assert_eq!(parse_rfc3339_ms(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
        }
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 604_800);
        assert!(parse_duration("7x").is_err());
    }
}
