//! `zkbackup`: hot, verified backups of running Apache ZooKeeper servers into a labelled catalog
//! kept in a local folder or S3-compatible object storage. A library first; the `zkbackup`
//! binary parses arguments and renders what these functions return.
//!
//! * [`store`]: where backups are kept (a small synchronous interface; local folder, S3).
//! * [`catalog`]: labelled backups in a store: IDs, leases, status, listing, retention.
//! * [`manifest`]: what one backup holds and where it came from.
//! * [`hotcopy`]: the copy of a running server's data dir, checked while copying.
//! * [`admin`]: ZooKeeper 3.9's admin server as a source.
//! * [`crypt`]: encryption at rest (age).
//! * [`backup`]: `create` and `verify`, over the above.
//! * [`restore`]: `restore` into a member's data dir, and `export`, through `zkfilter`'s filter.
//! * [`cli`]: the `zkbackup` command line.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod admin;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod crypt;
pub mod gzip_stored;
pub mod hotcopy;
pub mod manifest;
pub mod pipe;
pub mod restore;
pub mod status;
pub mod store;
