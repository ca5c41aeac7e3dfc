//! `zkformat`: read and write Apache ZooKeeper's on-disk files, byte for byte.
//!
//! * [`txnlog`]: transaction logs (`log.<zxid>`): framing, checksums, where a log ends, writer.
//! * [`txn`]: the txn records inside log entries (create, delete, setData, multi, sessions, …).
//! * [`snapshot`]: snapshots (`snapshot.<zxid>[.gz|.snappy]`): sessions, ACL cache, nodes, seals,
//!   digest and last-zxid sections, writer.
//! * [`compression`]: gzip and snappy-java streams, detected from magic bytes.
//! * [`digest`]: the 3.6+ CRC32 tree digest.
//! * [`datadir`]: which files ZooKeeper would use to restore a data dir.
//! * [`version`]: which ZooKeeper version wrote some files, from the marks each release left.
//! * [`recipe`]: which client recipe (lock, election, …) a parent of ephemeral nodes serves.
//! * [`jute`]: the big-endian cursor every parser slices input through.
//!
//! Records borrow from the input, carry their byte offset and expose their raw bytes, so a filter
//! can copy what it keeps verbatim. Every length read from a file is bounded before use.
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
