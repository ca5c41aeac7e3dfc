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
step "cargo package -p zkformat (the library as a crates.io crate: metadata, contents, builds alone)"
cargo package -p zkformat --allow-dirty --quiet
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
step "Debian package: build, install, try, remove"
# The release build of the three tools is most of this step's time. As root only (dpkg -i).
if [ "$(id -u)" = 0 ]; then
    deb_start=$SECONDS
    cargo run -q -p zkformat-packaging          # man pages + completions into packaging/generated/
    # --fast: lighter xz (the same files; the default level spends ~40 s of CPU on the -dbgsym
    # package). stdout: the paths of the .ddeb and the .deb.
    deb="$(cargo deb -p zkformat-packaging --fast | grep '\.deb$')"
    (
        trap 'dpkg -r zkformat-tools >/dev/null' EXIT
        dpkg -i "$deb" >/dev/null
        /usr/bin/zkfilter --help | grep '^Usage: zkfilter' >/dev/null
        [ -f /usr/share/man/man1/zkdump.1.gz ] \
            || { echo "no man page installed: does /etc/dpkg/dpkg.cfg.d/ exclude /usr/share/man?"; exit 1; }
        MANPAGER=cat man zkdump | grep 'zkdump-verify(1)' >/dev/null
        MANPAGER=cat man zkbackup-restore | grep -- '--dry-run' >/dev/null
        bash -ec 'source /usr/share/bash-completion/completions/zkdump
                  complete -p zkdump | grep -- "-F _zkdump" >/dev/null
                  COMP_WORDS=(zkdump ver); COMP_CWORD=1; _zkdump zkdump ver zkdump
                  [ "${COMPREPLY[*]}" = verify ]'
        test -f /usr/share/zsh/vendor-completions/_zkbackup
        test -f /usr/share/fish/vendor_completions.d/zkfilter.fish
        echo "$(basename "$deb"): installed, zkfilter --help, man zkdump, bash completion: ok"
    )
    if dpkg-query -W zkformat-tools >/dev/null 2>&1; then
        echo "zkformat-tools is still known to dpkg after dpkg -r"
        exit 1
    fi
    echo "package step: $((SECONDS - deb_start)) s"
else
    echo "skipped: needs root (dpkg -i)"
fi
step "real ZooKeeper servers (pytest)"
python3 -m pytest -q -p no:cacheprovider tests
step "Python package: maturin wheel, fresh venv, pytest (python/tests)"
# The dev profile reuses what `cargo build` above compiled (a release wheel would compile the
# whole dependency tree again: ~4 min on 2 cores); the tests check behaviour, not speed
# (benches/python_iter.py measures speed on a release wheel).
py_start=$SECONDS
rm -rf target/py-ci
(cd python && python3 -m maturin build --profile dev --quiet --out ../target/py-ci/wheels)
python3 -m venv target/py-ci/venv
target/py-ci/venv/bin/pip install -q --disable-pip-version-check target/py-ci/wheels/zkformat-*.whl \
    "pytest==${PYTEST_VERSION:-8.3.5}" "kazoo==${KAZOO_VERSION:-2.10.0}"
ZKDUMP="$PWD/target/debug/zkdump" target/py-ci/venv/bin/pytest -q -p no:cacheprovider python/tests
echo "python package step: $((SECONDS - py_start)) s"
