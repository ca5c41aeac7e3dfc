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
step "real ZooKeeper servers (pytest)"
python3 -m pytest -q -p no:cacheprovider tests
