//! The `zkfilter` and `zkdump` command-line tools: thin layers over `zkformat`.
//!
//! * [`filter_cmd`]: `zkfilter` (restore filter for logs, snapshots and data dirs).
//! * [`dump`]: `zkdump` (inspect, verify, summarise, diff).
//! * [`cli`], [`output`], [`report`], [`progress`]: shared plumbing.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;
pub mod dump;
pub mod filter_cmd;
pub mod output;
pub mod progress;
pub mod report;
