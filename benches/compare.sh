#!/usr/bin/env bash
# benches/compare.sh — time zkdump/zkfilter against Apache ZooKeeper's own tools on the same
# large inputs, in one run, and print a Markdown table (medians, ratios, peak RSS).
#
# Usage:
#   benches/compare.sh            # full: >= 1 GiB txn log, 1,000,000-node snapshot, data dir of both
#   benches/compare.sh --quick    # 64 MiB log, 100,000 nodes (a few minutes)
#   benches/compare.sh --real DIR # a data dir written by a real server (benches/real_datadir.py):
#                                 # its log with the most entries, its newest snapshot, the whole dir;
#                                 # ZooKeeper's tools and server of the version that wrote it
#   options: --runs N (default 3), --java-runs N (default = --runs), --heap SIZE (JVM -Xmx,
#            default 4g), --out FILE (also write the table there), --regen (regenerate inputs)
#
# Inputs are generated (once) by `gen-inputs` into benches/generated/{full,quick}/ (gitignored):
# datadir/version-2/snapshot.<Z> + log.<Z+1>, written by zkformat's writers seeded with the op mix
# of the real logs in testdata/ (see benches/README.md). Every tool reads those same files.
#
# What is compared (page cache warm: each input is read once before timing; stdout to /dev/null):
#   * dump of the log:      `zkdump LOG`        vs TxnLogToolkit -d (3.8)  and LogFormatter (3.4)
#   * verify of the log:    `zkdump verify LOG` vs TxnLogToolkit -d (it checks every CRC too)
#   * dump of the snapshot: `zkdump SNAP`       vs SnapshotFormatter (3.8)
#   * data dir load:        `zkfilter datadir DIR -o NEW` (replay, filter, write a new snapshot)
#                           vs a ZooKeeper 3.8 server started on (a hard-linked copy of) DIR, timed
#                           until it answers `srvr` on 127.0.0.1 (benches/zk_startup.py)
#   * ours only: `zkdump verify DIR`, `zkfilter log` stdin -> stdout (stdin redirected from the
#     file, and through a pipe from `cat`), `zkfilter snapshot`.
# Wall time is measured around each command alone; peak RSS comes from one more run under GNU time.
# Requires: a release build (done here), java, ZooKeeper installed (scripts/install-deps.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=full RUNS=3 JAVA_RUNS= HEAP=4g OUT= REGEN=0 REAL= ZKV=3.8
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --real) REAL=$(cd "$2" && pwd); MODE=real; shift ;;
    --runs) RUNS=$2; shift ;;
    --java-runs) JAVA_RUNS=$2; shift ;;
    --heap) HEAP=$2; shift ;;
    --out) OUT=$2; shift ;;
    --regen) REGEN=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
JAVA_RUNS=${JAVA_RUNS:-$RUNS}
if [ "$MODE" = quick ]; then LOG_MB=64 NODES=100000; else LOG_MB=1024 NODES=1000000; fi
GEN=$ROOT/benches/generated/$MODE
TMP=$(mktemp -d "${TMPDIR:-/tmp}/zkcompare.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

echo "building (release)..." >&2
cargo build --release -q -p zkfilter -p zkformat-benches --bins
BIN=$ROOT/target/release
if [ -n "$REAL" ]; then
  # A real server's data dir: every figure is taken from the files themselves.
  GEN=$REAL
  DIR=$REAL/datadir
  ZKV=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['zookeeper'])" "$REAL/manifest.json")
  read -r LOG SNAP LOG_BYTES DIR_BYTES RESTORE_BYTES <<<"$(python3 - "$DIR/version-2" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, "benches")
from real_datadir import _used
v2 = Path(sys.argv[1])
logs = sorted(v2.glob("log.*"), key=lambda p: int(p.name[4:], 16))
snaps = sorted(v2.glob("snapshot.*"), key=lambda p: int(p.name.split(".")[1], 16))
used = {p: _used(p) for p in logs}
log = max(logs, key=lambda p: used[p])
newest = snaps[-1]
z = int(newest.name.split(".")[1], 16)
# The restore reads the newest snapshot and the logs from the one holding zxid z + 1 on.
start = max([p for p in logs if int(p.name[4:], 16) <= z + 1] or logs[:1], key=lambda p: int(p.name[4:], 16))
after = [p for p in logs if int(p.name[4:], 16) >= int(start.name[4:], 16)]
print(log, newest, used[log], sum(p.stat().st_size for p in logs + snaps),
      newest.stat().st_size + sum(used[p] for p in after))
PYEOF
)"
  SNAP_BYTES=$(stat -c %s "$SNAP")
  NODES_IN=$("$BIN/zkdump" summary --json "$SNAP" | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['nodes'])")
  TXNS=$("$BIN/zkdump" summary --json "$LOG" | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['txns'])")
else
  if [ "$REGEN" = 1 ] || [ ! -f "$GEN/manifest.json" ]; then
    echo "generating inputs: $LOG_MB MiB of log, $NODES nodes -> $GEN" >&2
    "$BIN/gen-inputs" --log-mb "$LOG_MB" --nodes "$NODES" --out "$GEN" >/dev/null
  fi
  LOG=$(ls "$GEN"/datadir/version-2/log.*)
  SNAP=$(ls "$GEN"/datadir/version-2/snapshot.*)
  DIR=$GEN/datadir
  LOG_BYTES=$(stat -c %s "$LOG")
  SNAP_BYTES=$(stat -c %s "$SNAP")
  DIR_BYTES=$((LOG_BYTES + SNAP_BYTES))
  RESTORE_BYTES=$DIR_BYTES
  NODES_IN=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['snapshotNodes'])" "$GEN/manifest.json")
  TXNS=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['logTxns'])" "$GEN/manifest.json")
fi

cp_of() { python3 -c "import sys; sys.path.insert(0, '$ROOT/tests/harness'); import zkharness; print(zkharness.classpath('$1'))"; }
CPZK=$(cp_of "$ZKV")
CP34=$(cp_of 3.4 2>/dev/null || true)
L4J=$TMP/log4j.properties
printf 'log4j.rootLogger=WARN, E\nlog4j.appender.E=org.apache.log4j.ConsoleAppender\nlog4j.appender.E.Target=System.err\nlog4j.appender.E.layout=org.apache.log4j.PatternLayout\n' >"$L4J"
JAVA=(java "-Xmx$HEAP" "-Dlog4j.configuration=file:$L4J")

# Warm the page cache.
if [ -n "$REAL" ]; then cat "$DIR"/version-2/* >/dev/null; fi
cat "$LOG" "$SNAP" >/dev/null   # last, so the two single-file inputs are the hottest

# run NAME N CMD... : runs CMD once under GNU time for its peak RSS, then N times timed
# (stdout to /dev/null, stdin from $RUN_STDIN when set); records "seconds maxrss_kb status" per
# timed run in $TMP/NAME.runs. benches/timed.py spawns the command itself: no `sh -c`, `time` or
# `date` process inside the timed interval (on 14-20 ms runs they were a sixth to a quarter of
# the figure).
run() {
  local name=$1 n=$2; shift 2
  rss_of "$name" "$@"
  for _ in $(seq "$n"); do run_once "$name" "$@"; done
}

# rss_of NAME CMD... : starts NAME's record with the peak RSS of one run under GNU time.
rss_of() {
  local name=$1; shift
  : >"$TMP/$name.runs"
  rm -rf "$TMP/out"
  python3 "$ROOT/benches/timed.py" --rss --stdin "${RUN_STDIN:-/dev/null}" \
    --stderr "$TMP/$name.err" "$@" | awk '{print $2}' >"$TMP/$name.rss"
}

# run_once NAME CMD... : one timed run, recorded with NAME's peak RSS.
run_once() {
  local name=$1; shift
  rm -rf "$TMP/out"
  python3 "$ROOT/benches/timed.py" --stdin "${RUN_STDIN:-/dev/null}" --stderr "$TMP/$name.err" \
    "$@" | awk -v rss="$(cat "$TMP/$name.rss")" '{print $1, rss, $3}' >>"$TMP/$name.runs"
  echo "  $name: $(tail -1 "$TMP/$name.runs")" >&2
}

# zk_start NAME N: a ZooKeeper $ZKV server's start-up on the data dir, N times.
zk_start() {
  local name=$1 n=$2
  : >"$TMP/$name.runs"
  for _ in $(seq "$n"); do
    local j st=0
    j=$(TMPDIR=$TMP python3 "$ROOT/benches/zk_startup.py" --version "$ZKV" --heap "$HEAP" "$DIR") || st=$?
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['seconds'], d['maxrss_kb'] or 0, sys.argv[2])" "${j:-{\"seconds\":0,\"maxrss_kb\":0\}}" "$st" >>"$TMP/$name.runs"
    echo "  $name: $(tail -1 "$TMP/$name.runs") ($j)" >&2
  done
}

med() { # median seconds, median RSS (MiB), failures
  python3 - "$TMP/$1.runs" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
secs = [float(r[0]) for r in rows]; rss = [int(r[1]) for r in rows]
fails = sum(1 for r in rows if r[2] != "0")
print(f"{statistics.median(secs):.3f} {statistics.median(rss) / 1024:.0f} {fails}")
EOF
}

echo "fuzzer processes while measuring: $(pgrep -fc fuzz || true)" >&2
echo "dump of the log" >&2
run ours_dump_log "$RUNS" "$BIN/zkdump" "$LOG"
run zk_dump_log "$JAVA_RUNS" "${JAVA[@]}" -cp "$CPZK" org.apache.zookeeper.server.persistence.TxnLogToolkit -d "$LOG"
if [ -n "$CP34" ]; then
  run zk34_logformatter "$JAVA_RUNS" "${JAVA[@]}" -cp "$CP34" org.apache.zookeeper.server.LogFormatter "$LOG"
fi
echo "verify" >&2
run ours_verify_log "$RUNS" "$BIN/zkdump" verify "$LOG"
# Two cores and one alternate run by run: their ratio is a target, and the machine's speed
# drifts from minute to minute (two blocks of runs one after the other measured the drift too).
rss_of ours_verify_dir "$BIN/zkdump" verify "$DIR"
rss_of ours_verify_dir_1core taskset -c 0 "$BIN/zkdump" verify "$DIR"
for _ in $(seq "$RUNS"); do
  run_once ours_verify_dir "$BIN/zkdump" verify "$DIR"
  run_once ours_verify_dir_1core taskset -c 0 "$BIN/zkdump" verify "$DIR"
done
echo "dump of the snapshot" >&2
run ours_dump_snap "$RUNS" "$BIN/zkdump" "$SNAP"
run zk_dump_snap "$JAVA_RUNS" "${JAVA[@]}" -cp "$CPZK" org.apache.zookeeper.server.SnapshotFormatter "$SNAP"
echo "filters" >&2
RUN_STDIN=$LOG run ours_filter_log "$RUNS" "$BIN/zkfilter" log --quiet - -o -
run ours_filter_log_pipe "$RUNS" sh -c "cat \"$LOG\" | \"$BIN/zkfilter\" log --quiet - -o -"
run ours_filter_snap "$RUNS" "$BIN/zkfilter" snapshot --quiet "$SNAP" -o "$TMP/out"
echo "data dir" >&2
run ours_datadir "$RUNS" "$BIN/zkfilter" datadir --quiet "$DIR" -o "$TMP/out"
zk_start zk_datadir "$JAVA_RUNS"

table() {
  local cpu mem
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
  if [ -n "$REAL" ]; then
    echo "Inputs (real $ZKV server, $REAL): txn log $(basename "$LOG") ($TXNS txns, $(numfmt --to=iec "$LOG_BYTES") of entries in a $(numfmt --to=iec "$(stat -c %s "$LOG")") file), snapshot $(basename "$SNAP") ($(numfmt --to=iec "$SNAP_BYTES"), $NODES_IN nodes), data dir of $(ls "$DIR/version-2" | wc -l) files ($(numfmt --to=iec "$DIR_BYTES"); a restore reads $(numfmt --to=iec "$RESTORE_BYTES") of it). Log throughput counts bytes of entries."
  else
    echo "Inputs ($MODE): txn log $(numfmt --to=iec "$LOG_BYTES") ($TXNS txns), snapshot $(numfmt --to=iec "$SNAP_BYTES") ($NODES_IN nodes), data dir = both."
  fi
  echo "Machine: $(nproc) cores, $cpu, $mem; JVM $(java -version 2>&1 | head -1 | cut -d'"' -f2) -Xmx$HEAP;"\
       "runs: ours $RUNS, ZooKeeper $JAVA_RUNS; fuzzers running at the end: $(pgrep -fc fuzz || true)."
  echo
  echo "| task | ours (median) | ours peak RSS | ZooKeeper tool | ZooKeeper (median) | ZK peak RSS | speedup | ours throughput |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|"
  row() { # label ours zk zklabel bytes
    local o z
    read -r os orss of <<<"$(med "$2")"
    local zs=- zrss=- sp=- zf=0
    if [ -n "$3" ] && [ -s "$TMP/$3.runs" ]; then
      read -r zs zrss zf <<<"$(med "$3")"
      sp=$(python3 -c "print(f'{$zs/$os:.1f}x')")
      zrss="$zrss MiB"; zs="$zs s"
      [ "$zf" != 0 ] && zs="$zs ($zf failed)"
    fi
    local tp
    tp=$(python3 -c "print(f'{$5/$os/1e9:.2f} GB/s')")
    [ "$of" != 0 ] && os="$os ($of failed)"
    echo "| $1 | $os s | $orss MiB | $4 | $zs | $zrss | $sp | $tp |"
  }
  row "dump txn log (text)" ours_dump_log zk_dump_log "TxnLogToolkit -d ($ZKV)" "$LOG_BYTES"
  if [ -n "$CP34" ]; then
    row "dump txn log (text), vs 3.4" ours_dump_log zk34_logformatter "LogFormatter (3.4)" "$LOG_BYTES"
  fi
  row "verify txn log" ours_verify_log zk_dump_log "TxnLogToolkit -d ($ZKV)" "$LOG_BYTES"
  row "dump snapshot (text)" ours_dump_snap zk_dump_snap "SnapshotFormatter ($ZKV)" "$SNAP_BYTES"
  row "zkfilter datadir vs server start-up load" ours_datadir zk_datadir "ZooKeeperServerMain $ZKV until srvr" "$RESTORE_BYTES"
  row "zkdump verify DATADIR (replay + digests)" ours_verify_dir "" "" "$DIR_BYTES"
  row "zkdump verify DATADIR on one core (taskset -c 0)" ours_verify_dir_1core "" "" "$DIR_BYTES"
  echo
  python3 -c "import sys; print(f'verify DATADIR: 2 cores are {float(sys.argv[1])/float(sys.argv[2]):.2f}x one core')" \
    "$(med ours_verify_dir_1core | cut -d' ' -f1)" "$(med ours_verify_dir | cut -d' ' -f1)"
  row "zkfilter log (stdin -> stdout)" ours_filter_log "" "" "$LOG_BYTES"
  row "zkfilter log (cat LOG | zkfilter log)" ours_filter_log_pipe "" "" "$LOG_BYTES"
  row "zkfilter snapshot" ours_filter_snap "" "" "$SNAP_BYTES"
}
table | tee "${OUT:-/dev/null}"
