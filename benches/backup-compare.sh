#!/usr/bin/env bash
# zkbackup create against cp + sha256sum on the same data dir (page cache warm), as ratios.
#   benches/backup-compare.sh [DATADIR] [RUNS]
# Default DATADIR: benches/generated/backup/datadir, made by gen-inputs (256 MiB of log, a
# 200,000-node snapshot). Prints the median of RUNS runs of each, and peak memory of zkbackup.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dd="${1:-benches/generated/backup/datadir}"
runs="${2:-5}"
if [ ! -d "$dd" ]; then
    cargo build -q --release -p zkformat-benches --bin gen-inputs
    ./target/release/gen-inputs --log-mb 256 --nodes 200000 --out "$(dirname "$dd")"
fi
cargo build -q --release -p zkbackup
bin=./target/release/zkbackup
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat "$dd"/version-2/* > /dev/null
bytes=$(du -sb "$dd" | cut -f1)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n1; }
cp_times=(); for _ in $(seq "$runs"); do
    rm -rf "$tmp/cp"
    cp_times+=("$(t sh -c "cp -r '$dd' '$tmp/cp' && sha256sum '$tmp'/cp/version-2/* > /dev/null" | cut -d' ' -f1)")
done
cp_med=$(printf '%s\n' "${cp_times[@]}" | median)
for level in 1 0; do
    times=(); mem=()
    for _ in $(seq "$runs"); do
        rm -rf "$tmp/store"
        out=$(t "$bin" --store "$tmp/store" create --label bench -q --gzip-level "$level" "$dd")
        times+=("${out%% *}"); mem+=("${out##* }")
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    peak=$(printf '%s\n' "${mem[@]}" | sort -n | tail -n1)
    stored=$(du -sb "$tmp/store" | cut -f1)
    awk -v b="$bytes" -v c="$cp_med" -v z="$med" -v l="$level" -v m="$peak" -v s="$stored" 'BEGIN {
        printf "gzip level %s: zkbackup %.2f s (%.0f MB/s), cp+sha256sum %.2f s (%.0f MB/s): %.0f%% of cp+sha256sum; peak RSS %.1f MiB; stored %.0f MiB of %.0f MiB\n",
            l, z, b/z/1e6, c, b/c/1e6, 100*c/z, m/1024, s/1048576, b/1048576 }'
done
