#!/usr/bin/env python3
"""Iterate every txn of a ZooKeeper txn log from Python: the `zkformat` package against a plain
`struct`-based pure-Python reader (the baseline), side by side in one run.

    python3 benches/python_iter.py LOG [--runs 5]

Both readers go through the same consumer loop, which touches `zxid`, `op` and `path` of every
txn. The baseline (`read_log` below) is the reader a Python backup script would carry: the file
read into memory once, then per entry `struct.unpack_from` on the frame (checksum, length), the
txn header (clientId, cxid, zxid, time, type) and, for the ops that start with a path (create,
create2, createContainer, createTTL, delete, deleteContainer, setData, setACL, reconfig), the
path string, decoded to `str`; then the end-of-record byte. It checks no checksum and decodes no
other field, so it does less than the package (which verifies every entry's Adler32 and decodes
the whole record); it is the fair lower bound of a pure-Python reader, not a strawman.

The log should be a real one; `benches/python_gen_log.py` writes a 64 MiB log with a real
ZooKeeper server (kept under target/, outside git). Prints a table and the ratio; the figures
are in benches/README.md ("Python package").
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import struct
import sys
import time

FRAME = struct.Struct(">qi")  # Adler32 checksum (long), payload length (int)
TXN_HEADER = struct.Struct(">qiqqi")  # clientId, cxid, zxid, time, type
LENGTH = struct.Struct(">i")
FILE_HEADER = struct.Struct(">4sIq")  # magic "ZKLG", version, dbid

OP_NAMES = {
    1: "create", 2: "delete", 5: "setData", 7: "setACL", 13: "check", 14: "multi",
    15: "create2", 16: "reconfig", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    -10: "createSession", -11: "closeSession", -1: "error",
}
PATH_OPS = frozenset((1, 2, 5, 7, 15, 16, 19, 20, 21))


class Txn:
    """One txn of the baseline reader."""

    __slots__ = ("zxid", "session", "cxid", "time", "op", "path")

    def __init__(self, zxid, session, cxid, time, op, path):
        self.zxid = zxid
        self.session = session
        self.cxid = cxid
        self.time = time
        self.op = op
        self.path = path


def read_log_plain(path: str):
    """Yields a Txn for every entry of a txn log: the plain reader (file reads, `struct.unpack`)."""
    with open(path, "rb") as f:
        magic, _version, _dbid = struct.unpack(">4sIq", f.read(16))
        if magic != b"ZKLG":
            raise ValueError(f"{path}: not a txn log (magic {magic!r})")
        while True:
            frame = f.read(12)
            if len(frame) < 12:
                break
            _crc, length = struct.unpack(">qi", frame)
            if length <= 0:
                break  # zero padding
            txn = f.read(length)
            if len(txn) < length:
                break  # torn last entry
            session, cxid, zxid, t, op = struct.unpack(">qiqqi", txn[:32])
            txn_path = None
            if op in PATH_OPS:
                (plen,) = struct.unpack(">i", txn[32:36])
                txn_path = txn[36:36 + plen].decode("utf-8", "replace")
            if f.read(1) != b"B":  # end-of-record byte
                break
            yield Txn(zxid, session, cxid, t, OP_NAMES.get(op, op), txn_path)


def read_log(path: str):
    """Yields a Txn for every entry of a txn log: the tuned reader (one buffer, precompiled
    `struct.Struct`s, `unpack_from` at offsets, names bound to locals)."""
    with open(path, "rb") as f:
        buf = f.read()
    magic, _version, _dbid = FILE_HEADER.unpack_from(buf, 0)
    if magic != b"ZKLG":
        raise ValueError(f"{path}: not a txn log (magic {magic!r})")
    pos = FILE_HEADER.size
    end = len(buf)
    frame = FRAME.unpack_from
    header = TXN_HEADER.unpack_from
    length = LENGTH.unpack_from
    names = OP_NAMES
    path_ops = PATH_OPS
    while pos + 12 <= end:
        _crc, n = frame(buf, pos)
        if n <= 0 or pos + 13 + n > end:
            break  # zero padding, or a torn last entry
        p = pos + 12
        session, cxid, zxid, t, op = header(buf, p)
        txn_path = None
        if op in path_ops:
            (plen,) = length(buf, p + 32)
            txn_path = buf[p + 36:p + 36 + plen].decode("utf-8", "replace")
        if buf[p + n] != 0x42:  # end-of-record byte 'B'
            break
        pos = p + n + 1
        yield Txn(zxid, session, cxid, t, names.get(op, op), txn_path)


def consume(txns) -> tuple[int, int, int]:
    """The consumer loop both readers go through: touches zxid, op and path of every txn."""
    n = 0
    last = 0
    paths = 0
    for t in txns:
        last = t.zxid
        if t.op == "create" and t.path is not None:
            paths += 1
        n += 1
    return n, last, paths


def timed(fn) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call. The CPU time is the figure:
    both readers run on this one thread, and on a shared machine the wall time also counts
    the time other processes hold the cores."""
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="a txn log (log.<zxid>)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline-only", action="store_true")
    args = ap.parse_args()
    size = os.path.getsize(args.log)
    readers = {
        "pure Python, plain (file reads, struct.unpack)": lambda: consume(read_log_plain(args.log)),
        "pure Python, tuned (one buffer, Struct.unpack_from)": lambda: consume(read_log(args.log)),
    }
    # The consumer loop alone, over objects made beforehand: what any reader costs at least.
    ready = list(read_log(args.log))
    readers["floor: the consumer loop alone (objects made beforehand)"] = lambda: consume(ready)
    version = "not loaded"
    if not args.baseline_only:
        import zkformat  # the package under test

        version = zkformat.__version__
        readers["zkformat (package)"] = lambda: consume(zkformat.open(args.log))
    # Warm the page cache and check that both readers see the same txns.
    results = {name: fn() for name, fn in readers.items()}
    results = {k: v for k, v in results.items() if not k.startswith("floor")}
    if len(set(results.values())) != 1:
        print(f"readers disagree: {results}", file=sys.stderr)
        return 1
    n = next(iter(results.values()))[0]
    cpu: dict[str, list[float]] = {name: [] for name in readers}
    wall: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.runs):  # interleaved, so a drift of the machine hits every reader
        for name, fn in readers.items():
            c, w = timed(fn)
            cpu[name].append(c)
            wall[name].append(w)
    print(f"{args.log}: {size / 2**20:.1f} MiB, {n:,} txns; medians of {args.runs} runs, CPU time "
          f"(Python {sys.version.split()[0]}, zkformat {version})")
    print("| reader | CPU (median) | CPU (min) | wall (median) | txns/s (CPU) | ns/txn (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    med = {}
    for name in readers:
        med[name] = statistics.median(cpu[name])
        print(f"| {name} | {med[name]:.3f} s | {min(cpu[name]):.3f} s | "
              f"{statistics.median(wall[name]):.3f} s | {n / med[name]:,.0f} | "
              f"{med[name] / n * 1e9:.0f} |")
    if "zkformat (package)" in med:
        pkg = med["zkformat (package)"]
        for name, m in med.items():
            if name.startswith("pure Python"):
                print(f"ratio: {name} / package = {m / pkg:.1f}x")
    floor = med["floor: the consumer loop alone (objects made beforehand)"]
    for name, m in med.items():
        if name.startswith("pure Python"):
            print(f"ceiling of any reader's ratio against {name}: {m / floor:.1f}x "
                  "(its time / the consumer loop's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
