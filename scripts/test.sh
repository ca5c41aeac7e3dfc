#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, Rust tests (unit, golden, property, oracle),
# the fuzz targets' seed tests, and the real-server tests (pytest + kazoo + ZooKeeper 3.4/3.8/3.9).
# Needs what scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
step "cargo build"
cargo build --workspace --all-targets
step "cargo test"
cargo test --workspace
if [ -f fuzz/Cargo.toml ]; then
    step "fuzz targets: seed tests"
    cargo test --manifest-path fuzz/Cargo.toml
fi
if [ -f fuzz/Cargo.toml ] && command -v cargo-fuzz >/dev/null 2>&1; then
    step "fuzz targets: build all, run each briefly on the seeds"
    bash fuzz/seed.sh >/dev/null
    (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build)
    mkdir -p target
    for t in $(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list); do
        if ! (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -- -max_total_time="${FUZZ_SECONDS:-15}" \
                -dict=zk.dict -max_len=65536 -print_final_stats=1 > "../target/fuzz-$t.log" 2>&1); then
            tail -n 40 "target/fuzz-$t.log"
            echo "fuzz target $t failed"
            exit 1
        fi
        grep -E 'stat::number_of_executed_units' "target/fuzz-$t.log" | sed "s/^/$t: /"
    done
fi
step "real ZooKeeper servers (pytest)"
python3 -m pytest -q -p no:cacheprovider tests
