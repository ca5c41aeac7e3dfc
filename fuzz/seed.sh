#!/usr/bin/env bash
# Copies the small real files of testdata/ into fuzz/corpus/<target>/ (git-ignored).
#   logs       -> txnlog, txnlog_stream, filter (with a policy byte in front)
#   snapshots  -> snapshot (plain, .gz, .snappy), filter
#   payloads   -> jute_records (each txn-log entry's payload, cut out by python3)
#   malformed  -> every target that reads files
#   regressions/<target>/ (fixed fuzzing findings) -> that target
set -euo pipefail
cd "$(dirname "$0")"
td=../testdata
max=65536
mkdir -p corpus/{jute_records,txnlog,txnlog_stream,snapshot,writer_roundtrip,filter}
n=0
while IFS= read -r -d '' f; do
  size=$(stat -c %s "$f")
  [ "$size" -le "$max" ] || continue
  name=$(echo "${f#$td/}" | tr '/' '_')
  case "$(basename "$f")" in
    log.*)
      cp "$f" "corpus/txnlog/$name"; cp "$f" "corpus/txnlog_stream/$name"
      for bits in 0 3 7; do { printf "\\x0$bits"; cat "$f"; } > "corpus/filter/$bits-$name"; done ;;
    snapshot.*)
      cp "$f" "corpus/snapshot/$name"
      for bits in 0 3; do { printf "\\x0$bits"; cat "$f"; } > "corpus/filter/$bits-$name"; done ;;
    *)
      for t in txnlog txnlog_stream snapshot; do cp "$f" "corpus/$t/$name"; done ;;
  esac
  head -c 4096 "$f" > "corpus/writer_roundtrip/$name"
  n=$((n + 1))
done < <(find "$td/zk-3.4" "$td/zk-3.8" "$td/zk-3.9" "$td/upstream" "$td/malformed" -type f \
          \( -name 'log.*' -o -name 'snapshot.*' -o -path '*/malformed/*' \) \
          ! -name '*.md' ! -name '*.py' -print0 2>/dev/null)
python3 - "$td" <<'PY'
import os, struct, sys
td = sys.argv[1]
out = "corpus/jute_records"
k = 0
for root, _, files in os.walk(td):
    for f in sorted(files):
        if not f.startswith("log."):
            continue
        d = open(os.path.join(root, f), "rb").read()
        o = 16
        while o + 12 <= len(d) and k < 2000:
            ln = struct.unpack(">i", d[o + 8:o + 12])[0]
            if ln <= 0 or o + 13 + ln > len(d):
                break
            open(f"{out}/{k:05d}", "wb").write(d[o + 12:o + 12 + ln])
            k += 1
            o += 13 + ln
print(f"{k} txn payloads")
PY
# Fixed fuzzing findings (regressions/<target>/) join their target's corpus.
for t in jute_records txnlog txnlog_stream snapshot writer_roundtrip filter; do
  for f in regressions/"$t"/*; do
    [ -f "$f" ] && cp "$f" "corpus/$t/regression-$(basename "$f")"
  done
done
echo "$n files copied"
