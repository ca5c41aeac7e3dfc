//! Generates large bench inputs: a data dir with a snapshot of `--nodes` nodes and a txn log of
//! at least `--log-mb` MiB after it, plus gzip/snappy copies of the snapshot, using zkformat's
//! writers seeded with the op mix observed in the real logs under `testdata/`.
//!
//! ```text
//! cargo run --release -p zkformat-benches --bin gen-inputs -- --log-mb 1024 --nodes 1000000 --out benches/generated/full
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use zkformat_benches::{generate, workspace_root, GenOptions, Mix};

fn main() -> Result<()> {
    let mut opts = GenOptions {
        nodes: 1_000_000,
        log_bytes: 1024 << 20,
        seed: 42,
        testdata: workspace_root().join("testdata"),
    };
    let mut out = workspace_root().join("benches/generated/full");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--log-mb" => opts.log_bytes = val()?.parse::<u64>()? << 20,
            "--nodes" => opts.nodes = val()?.parse()?,
            "--seed" => opts.seed = val()?.parse()?,
            "--out" => out = PathBuf::from(val()?),
            "--testdata" => opts.testdata = PathBuf::from(val()?),
            "-h" | "--help" => {
                println!(
                    "gen-inputs [--log-mb N] [--nodes N] [--seed N] [--out DIR] [--testdata DIR]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other}"),
        }
    }
    eprintln!("op mix: {}", Mix::observe(&opts.testdata).describe());
    let t = std::time::Instant::now();
    let g = generate(&out, &opts, true)?;
    eprintln!(
        "done in {:.1}s: {} ({} nodes), {} ({} txns), final tree {} nodes",
        t.elapsed().as_secs_f64(),
        g.snapshot.display(),
        g.snapshot_nodes,
        g.log.display(),
        g.log_txns,
        g.final_nodes
    );
    println!("{}", out.join("manifest.json").display());
    Ok(())
}
