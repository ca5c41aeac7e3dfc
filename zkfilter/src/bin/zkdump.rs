//! `zkdump`: inspect, verify, summarise and diff Apache ZooKeeper txn logs, snapshots and data
//! dirs. See `zkdump --help` and the README (section "JSON Lines schema").

use clap::Parser;
use zkfilter::cli::{run_main, stdout};
use zkfilter::dump::args::Cli;

fn main() -> std::process::ExitCode {
    let args = zkfilter::dump::args::normalize_args(std::env::args().collect());
    if let Some(first) = args.get(1) {
        if let Some(similar) = zkfilter::dump::args::misspelt_subcommand(first) {
            eprintln!("error: unrecognized subcommand '{first}' (and no such file)\n\n  tip: a similar subcommand exists: '{similar}'\n\nFor more information, try '--help'.");
            return std::process::ExitCode::from(2);
        }
    }
    let cli = Cli::parse_from(args);
    run_main(|| {
        let mut out = stdout();
        let mut err = std::io::stderr();
        cli.run(&mut out, &mut err)
    })
}
