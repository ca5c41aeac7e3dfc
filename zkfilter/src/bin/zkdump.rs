//! `zkdump`: inspect, verify, summarise and diff Apache ZooKeeper txn logs, snapshots and data
//! dirs. See `zkdump --help` and the README (section "JSON Lines schema").

use clap::Parser;
use zkfilter::cli::{run_main, stdout};
use zkfilter::dump::args::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    run_main(|| {
        let mut out = stdout();
        let mut err = std::io::stderr();
        cli.run(&mut out, &mut err)
    })
}
