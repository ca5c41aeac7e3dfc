#!/usr/bin/env bash
# scripts/contract-before-after.sh OLD_BIN_DIR NEW_BIN_DIR
#
# The cases issue 11 reported, run against two builds of zkfilter/zkdump (e.g. the main of the
# day the issue was filed, 6c38a80, and today's), on fresh copies of a real data dir each time.
# For each case it prints the exit status and whether the contract held: the inputs
# byte-identical afterwards (every file hashed before and after) and what the case expects
# (a refusal leaves no output; a read of `-` reads standard input). A case "holds" only when
# all of its checks pass. Exit status: 0 when every case holds with NEW_BIN_DIR.
#
#   git worktree add /tmp/old 6c38a80 && (cd /tmp/old && cargo build -q -p zkfilter)
#   scripts/contract-before-after.sh /tmp/old/target/debug target/debug
set -uo pipefail
cd "$(dirname "$0")/.."
OLD=$(cd "$1" && pwd) NEW=$(cd "$2" && pwd)
SRC=$PWD/testdata/zk-3.8/recipes
WORK=$(mktemp -d "${TMPDIR:-/tmp}/contract.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

hash_tree() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) 2>/dev/null; }

# case NAME EXPECT CMD...: EXPECT is "refuse" (non-zero exit, no output left), "ok" (exit 0)
# or "stdin" (exit 0 and the output names what came from standard input). In CMD, $BIN is
# the build under test, $D a fresh copy of the data dir, $O an output path that must not be
# left behind by a refusal.
declare -a names results_old results_new
run_case() {
    local bin=$1 expect=$2 cmd=$3 setup=$4
    local t; t=$(mktemp -d "$WORK/case.XXXXXX")
    cp -a "$SRC" "$t/D"
    (cd "$t" && eval "$setup") >/dev/null 2>&1
    local before; before=$(hash_tree "$t/D")
    local st=0
    (cd "$t" && BIN=$bin D=$t/D O=$t/out eval "$cmd") >"$t/stdout" 2>"$t/stderr" </dev/null || st=$?
    local after; after=$(hash_tree "$t/D" 2>/dev/null)
    local held=yes why=""
    [ "$before" = "$after" ] || { held=no; why="input changed"; }
    case $expect in
        refuse)
            [ "$st" != 0 ] || { held=no; why="${why:+$why, }exit 0"; }
            { [ -e "$t/out" ] || [ -e "$t/-" ]; } && { held=no; why="${why:+$why, }output left"; } ;;
        ok) [ "$st" = 0 ] || { held=no; why="${why:+$why, }exit $st"; } ;;
        stdin) { [ "$st" = 0 ] && grep -q "problem" "$t/stdout"; } || { held=no; why="${why:+$why, }exit $st, stdin not read"; } ;;
    esac
    echo "exit $st, ${held}${why:+ ($why)}"
    rm -rf "$t"
}

add() { # NAME EXPECT CMD SETUP
    names+=("$1")
    results_old+=("$(run_case "$OLD" "$2" "$3" "${4:-:}")")
    results_new+=("$(run_case "$NEW" "$2" "$3" "${4:-:}")")
}

add "datadir D -o D --force (output = input)" refuse \
    '$BIN/zkfilter datadir "$D" -o "$D" --force'
add "datadir D/version-2 -o D --force (input inside output)" refuse \
    '$BIN/zkfilter datadir "$D/version-2" -o "$D" --force'
add "datadir D -o symlink-to-D --force" refuse \
    'ln -s "$D" link; $BIN/zkfilter datadir "$D" -o link --force'
add "log L -o - --report - (two outputs on stdout)" refuse \
    '$BIN/zkfilter log "$D/version-2/log.1" -o - --report - > "$O"; s=$?; [ $s = 0 ] || rm -f "$O"; exit $s'
add "snapshot S -o out --report /proc/none/r.json (unwritable report)" refuse \
    '$BIN/zkfilter snapshot "$D/version-2/snapshot.33" -o "$O" --report /proc/none/r.json'
add "datadir --to-zxid before the first snapshot" refuse \
    '$BIN/zkfilter datadir "$D" --to-zxid 0x5 -o "$O"' \
    'rm D/version-2/snapshot.0'
add "datadir of logs without a snapshot they follow" refuse \
    '$BIN/zkfilter datadir "$D" -o "$O"' \
    'rm D/version-2/snapshot.* D/version-2/log.1'
add "datadir D -o - (no folder named -)" refuse \
    '$BIN/zkfilter datadir "$D" -o -'
add "datadir --target-version 3.4 --compress snappy" refuse \
    '$BIN/zkfilter datadir "$D" -o "$O" --target-version 3.4 --compress snappy'
add "datadir --target-version 3.10" refuse \
    '$BIN/zkfilter datadir "$D" -o "$O" --target-version 3.10'
add "zkdump verify of an empty folder" refuse \
    'mkdir empty; $BIN/zkdump verify empty'
add "zkdump verify - (a tar of a data dir on stdin)" stdin \
    'tar -C "$D" -c . | $BIN/zkdump verify -'

printf '| case | before (%s) | after (%s) |\n|---|---|---|\n' "$(basename "$(dirname "$OLD")")/$(basename "$OLD")" "$(basename "$(dirname "$NEW")")/$(basename "$NEW")"
fails=0
for i in "${!names[@]}"; do
    printf '| %s | %s | %s |\n' "${names[$i]}" "${results_old[$i]}" "${results_new[$i]}"
    case ${results_new[$i]} in *", yes"*) ;; *) fails=$((fails + 1)) ;; esac
done
exit $((fails > 0))
