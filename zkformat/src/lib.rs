//! `zkformat`: read and write Apache ZooKeeper's on-disk files, byte for byte.
//!
//! What would restoring a data dir bring back from the dead, and what does the restore filter
//! drop? Replay the snapshot and logs ZooKeeper would load, look at the sessions and ephemeral
//! nodes of the result, and filter it:
//!
//! ```
//! use std::path::Path;
//! use zkformat::{datadir::DataDir, filter, sessions::SessionTracker, tree, Limits};
//!
//! /// `data_dir`: ZooKeeper's `dataDir` (holding `version-2/`), or `version-2/` itself.
//! fn restore_preview(data_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
//!     let files = DataDir::scan(data_dir)?; // the newest good snapshot and the logs after it
//!     let mut replay = tree::replay_datadir(&files, None, Limits::default())?;
//!     println!("{} nodes at zxid {}", replay.tree.len(), replay.tree.last_zxid);
//!
//!     // Sessions a restored server keeps alive until they time out, and their ephemerals by
//!     // parent, with the client recipe each parent serves (lock, election, party, …).
//!     let live = SessionTracker::from_tree(&replay.tree);
//!     for (id, timeout_ms) in &replay.tree.sessions {
//!         println!("session {id:#x}, timeout {timeout_ms} ms");
//!     }
//!     for g in live.groups() {
//!         let parent = String::from_utf8_lossy(&g.parent);
//!         println!("  {parent} ({}): {} ephemeral nodes", g.recipe, g.count);
//!     }
//!
//!     // The restore filter's default policy drops every session and ephemeral node.
//!     let report = filter::filter_tree(&mut replay.tree, &filter::Policy::default());
//!     let (sessions, ephemerals) = (report.sessions.len(), report.ephemerals.len());
//!     println!("dropped {sessions} sessions and {ephemerals} ephemerals");
//! #   assert_eq!((sessions, ephemerals, live.ephemerals.len()), (4, 11, 11));
//!     Ok(())
//! }
//!
//! // A data dir written by a real ZooKeeper 3.8 while kazoo clients held locks and elections.
//! restore_preview(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/zk-3.8/recipes"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules:
//!
//! * [`txnlog`]: transaction logs (`log.<zxid>`): framing, checksums, where a log ends, writer.
//! * [`txn`]: the txn records inside log entries (create, delete, setData, multi, sessions, …).
//! * [`snapshot`]: snapshots (`snapshot.<zxid>[.gz|.snappy]`): sessions, ACL cache, nodes, seals,
//!   digest and last-zxid sections, writer.
//! * [`compression`]: gzip and snappy-java streams, detected from magic bytes.
//! * [`digest`]: the 3.6+ CRC32 tree digest.
//! * [`datadir`]: which files ZooKeeper would use to restore a data dir.
//! * [`tree`]: the data tree in memory: load a snapshot, replay txns by ZooKeeper's rules, write
//!   a snapshot; [`tree::replay_datadir`] restores a data dir as a server would, and
//!   [`tree::replay_datadir_watching`] shows each log entry it reads to a callback, so a tool
//!   checking every file of the data dir need not read the logs twice.
//! * [`filter`]: the restore filter (sessions, ephemerals, prefixes) for logs, snapshots, trees.
//! * [`sessions`]: the sessions and ephemerals a restore would bring back, grouped by recipe.
//! * [`version`]: which ZooKeeper version wrote some files, from the marks each release left.
//! * [`recipe`]: which client recipe (lock, election, …) a parent of ephemeral nodes serves.
//! * [`jute`]: the big-endian cursor every parser slices input through.
//!
//! Records borrow from the input, carry their byte offset and expose their raw bytes, so a filter
//! can copy what it keeps verbatim. Every length read from a file is bounded before use.
//!
//! Writing and reading back a txn log:
//!
//! ```
//! use zkformat::{txnlog::{TxnLog, TxnLogWriter}, txn::{op, Txn, TxnHeader, TxnRecord}, Limits, Zxid};
//!
//! let mut w = TxnLogWriter::new(Vec::new()).unwrap();
//! w.append_record(&TxnRecord {
//!     header: TxnHeader { session: 1, cxid: 0, zxid: Zxid(1), time: 0, op: op::CREATE_SESSION },
//!     body: Txn::CreateSession { timeout: 30_000 },
//!     digest: None,
//! }).unwrap();
//! let bytes = w.finish().unwrap();
//! let log = TxnLog::parse(&bytes, Limits::default()).unwrap();
//! for entry in log.entries() {
//!     let entry = entry.unwrap();
//!     assert_eq!(entry.record().unwrap().body, Txn::CreateSession { timeout: 30_000 });
//! }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod checksum;
pub mod compression;
pub mod data;
pub mod datadir;
pub mod digest;
pub mod error;
pub mod fence;
pub mod filter;
pub mod jute;
pub mod kind;
pub mod limits;
pub mod recipe;
pub mod sessions;
pub mod snapshot;
pub mod source;
pub mod tree;
pub mod txn;
pub mod txnlog;
pub mod version;
pub mod zxid;

pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use zxid::Zxid;
