//! Where backups are kept: a small synchronous interface over a local folder or S3-compatible
//! object storage, addressed by keys (`/`-separated names), never by local paths.
//!
//! Every write is atomic: a reader never sees a partial object. [`Store::put_new`] creates an
//! object only if it does not exist yet (the catalog writes a backup's manifest with it, so a
//! backup is ready exactly when its manifest exists, and two writers never overwrite each
//! other). [`conformance`] is one test suite every store must pass.

use std::fmt;
use std::io::Read;

pub mod local;
pub mod s3;

/// Opens the store `spec` names: `s3://bucket[/prefix]` (endpoint and keys from the `AWS_*`
/// environment variables), anything else a local folder.
///
/// # Errors
/// A bad URL, a folder that cannot be created.
pub fn open(spec: &str) -> StoreResult<Box<dyn Store>> {
    if spec.starts_with("s3://") {
        Ok(Box::new(s3::S3Store::from_url(spec)?))
    } else if spec.contains("://") {
        Err(StoreError::Other(format!(
            "{spec}: unknown kind of store (a folder, or s3://bucket/prefix)"
        )))
    } else {
        Ok(Box::new(local::LocalStore::open(std::path::Path::new(
            spec,
        ))?))
    }
}

/// What went wrong in a store.
#[derive(Debug)]
pub enum StoreError {
    /// No object under this key.
    NotFound(String),
    /// `put_new` found the key taken.
    AlreadyExists(String),
    /// Anything else: what, where (the key), and the underlying error, never a credential.
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(k) => write!(f, "{k}: not found in the store"),
            StoreError::AlreadyExists(k) => write!(f, "{k}: already exists in the store"),
            StoreError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

/// A result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// An object's key and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectMeta {
    /// The key, relative to the store's root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A place to keep backups. Implementations: [`local::LocalStore`] and the S3 store.
pub trait Store: Send + Sync {
    /// Where it is, for messages (`/backups/zk`, `s3://bucket/prefix`); never a credential.
    fn describe(&self) -> String;

    /// Writes `key` from `data`, streamed (large objects in parts, never whole in memory),
    /// replacing what was there; atomic. Returns the bytes written.
    ///
    /// # Errors
    /// I/O or service errors, or an error of `data` itself.
    fn put_stream(&self, key: &str, data: &mut dyn Read) -> StoreResult<u64>;

    /// Writes a small object only if `key` does not exist yet; atomic.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], I/O or service errors.
    fn put_new(&self, key: &str, data: &[u8]) -> StoreResult<()>;

    /// Writes a small object, replacing what was there; atomic.
    ///
    /// # Errors
    /// I/O or service errors.
    fn put(&self, key: &str, data: &[u8]) -> StoreResult<()>;

    /// Reads an object as a stream.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], I/O or service errors.
    fn get(&self, key: &str) -> StoreResult<Box<dyn Read + Send>>;

    /// Every object whose key starts with `prefix`, sorted by key.
    ///
    /// # Errors
    /// I/O or service errors.
    fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>>;

    /// Removes an object (no error if it is already gone).
    ///
    /// # Errors
    /// I/O or service errors.
    fn delete(&self, key: &str) -> StoreResult<()>;

    /// The folder of a local store (`None` for object storage): what must not overlap the
    /// folders a restore writes or a backup reads.
    fn local_root(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Reads a whole small object.
    ///
    /// # Errors
    /// See [`Store::get`].
    fn get_bytes(&self, key: &str) -> StoreResult<Vec<u8>> {
        let mut v = Vec::new();
        self.get(key)?.read_to_end(&mut v).map_err(|e| {
            StoreError::Other(format!("{key}: reading from {}: {e}", self.describe()))
        })?;
        Ok(v)
    }
}

/// The behaviour every store must have, as one test suite: call [`conformance::run`] with a
/// fresh, empty store. A test suite: its panics are its failures.
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod conformance {
    use super::{Store, StoreError};
    use std::io::Read;

    /// Runs every check; panics with a message on the first failure.
    pub fn run(store: &dyn Store) {
        // Empty at first.
        assert!(
            store.list("").expect("list").is_empty(),
            "a fresh store is empty"
        );
        assert!(matches!(store.get("nope"), Err(StoreError::NotFound(_))));
        // put / get / replace.
        store.put("a/b/one", b"first").expect("put");
        assert_eq!(store.get_bytes("a/b/one").expect("get"), b"first");
        store.put("a/b/one", b"second").expect("replace");
        assert_eq!(store.get_bytes("a/b/one").expect("get"), b"second");
        // put_new refuses a taken key and leaves it as it was.
        store.put_new("a/b/two", b"x").expect("put_new");
        assert!(matches!(
            store.put_new("a/b/two", b"y"),
            Err(StoreError::AlreadyExists(_))
        ));
        assert_eq!(store.get_bytes("a/b/two").expect("get"), b"x");
        // A large streamed object (several parts) comes back byte for byte.
        let big: Vec<u8> = (0..(12u32 << 20))
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let n = store
            .put_stream("a/big", &mut &big[..])
            .expect("put_stream");
        assert_eq!(n, big.len() as u64);
        let mut back = Vec::new();
        store
            .get("a/big")
            .expect("get big")
            .read_to_end(&mut back)
            .expect("read big");
        assert!(back == big, "streamed object comes back identical");
        // A failing reader leaves no object behind.
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("source failed"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        assert!(store.put_stream("a/failed", &mut Failing(6 << 20)).is_err());
        assert!(matches!(
            store.get("a/failed"),
            Err(StoreError::NotFound(_))
        ));
        // list: sorted, by prefix, with sizes.
        let listed = store.list("a/b/").expect("list");
        let keys: Vec<(&str, u64)> = listed.iter().map(|m| (m.key.as_str(), m.size)).collect();
        assert_eq!(keys, vec![("a/b/one", 6), ("a/b/two", 1)]);
        assert_eq!(store.list("").expect("list").len(), 3);
        assert!(store.list("zzz").expect("list").is_empty());
        // delete, twice.
        store.delete("a/b/one").expect("delete");
        store.delete("a/b/one").expect("delete again");
        assert!(matches!(store.get("a/b/one"), Err(StoreError::NotFound(_))));
        // Concurrent put_new of one key: exactly one wins.
        let wins: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|i| s.spawn(move || store.put_new("race", format!("{i}").as_bytes()).is_ok()))
                .collect();
            hs.into_iter()
                .map(|h| usize::from(h.join().unwrap_or(false)))
                .sum()
        });
        assert_eq!(wins, 1, "exactly one concurrent put_new wins");
    }
}
