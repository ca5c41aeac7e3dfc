#!/usr/bin/env python3
"""Write a real ZooKeeper txn log of at least --mb MiB for benches/python_iter.py.

Starts a real ZooKeeper (3.8 by default, through tests/harness/zkharness.py) with a snapCount
high enough that the log never rolls, then sends creates and setData calls through kazoo's async
API (a bounded number in flight) until the server's log file holds --mb MiB of txns, stops the
server and copies the largest log to OUT (default target/pybench/log.<zxid>).

    python3 benches/python_gen_log.py [--mb 64] [--version 3.8] [--out target/pybench]

The output is kept out of git (target/). About 3 minutes on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

from zkharness import ZkServer  # noqa: E402


def log_bytes(version2: Path) -> int:
    """Size of the largest log (16 KiB preallocation: about the size of its txns)."""
    logs = sorted(version2.glob("log.*"), key=lambda p: p.stat().st_size)
    return logs[-1].stat().st_size if logs else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=64, help="log size in MiB (default 64)")
    ap.add_argument("--version", default="3.8", help="ZooKeeper version (3.8 or 3.9)")
    ap.add_argument("--out", default=str(ROOT / "target" / "pybench"), help="output folder")
    ap.add_argument("--inflight", type=int, default=2000, help="async calls in flight")
    args = ap.parse_args()
    target = args.mb * 1024 * 1024
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pybench-", dir=out))
    data = work / "data"
    payload = (b"0123456789abcdef" * 7)[:100]
    t0 = time.monotonic()
    # preAllocSize 16 KiB (the harness default): the file's size is about the txns' size.
    with ZkServer(args.version, data, snap_count=100_000_000, prealloc_kb=16, heap="1g") as srv:
        zk = srv.client(timeout=30)
        zk.ensure_path("/bench")
        parents = [f"/bench/p{i:03d}" for i in range(100)]
        for p in parents:
            zk.ensure_path(p)
        n = 0
        pending = []
        created = []
        version2 = data / "version-2"
        while True:
            if n % 20000 == 0 and n:
                written = log_bytes(version2)
                print(f"  {n} calls, log {written / 2**20:.1f} MiB", flush=True)
                if written >= target:
                    break
            if n % 3 == 2 and created:
                path = created[(n * 7919) % len(created)]
                pending.append(zk.set_async(path, payload))
            else:
                path = f"{parents[n % len(parents)]}/node-{n:09d}"
                created.append(path)
                pending.append(zk.create_async(path, payload))
            n += 1
            if len(pending) >= args.inflight:
                for a in pending:
                    a.get(timeout=60)
                pending.clear()
        for a in pending:
            a.get(timeout=60)
        zk.stop()
        zk.close()
    logs = sorted(version2.glob("log.*"), key=lambda p: p.stat().st_size)
    big = logs[-1]
    dest = out / big.name
    shutil.copyfile(big, dest)
    shutil.rmtree(work)
    print(f"wrote {dest} ({dest.stat().st_size / 2**20:.1f} MiB file) in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
