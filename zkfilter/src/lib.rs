//! The `zkfilter` and `zkdump` command-line tools: thin layers over `zkformat`.
//!
//! * [`filter_cmd`]: `zkfilter` (restore filter for logs, snapshots and data dirs).
//! * [`dump`]: `zkdump` (inspect, verify, summarise, diff).
//! * [`cli`], [`inputs`], [`plan`], [`report`], [`progress`]: shared plumbing: errors and exit
//!   codes, telling inputs apart (archives included), the output planner (the command-line
//!   contract: nothing is written over, into or around an input; all outputs or none).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;
pub mod dump;
pub mod filter_cmd;
pub mod inputs;
pub mod plan;
pub mod progress;
pub mod report;
