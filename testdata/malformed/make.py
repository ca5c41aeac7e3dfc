#!/usr/bin/env python3
"""Derives every damaged file in testdata/malformed/ from a real file in testdata/.

Deterministic: run it again and it writes the same bytes (gzip is written with mtime 0). Each
case is one documented edit of one real file; the table it prints (and README.md) gives the
source, the edit and what zkformat reports (checked by zkformat/tests/malformed.rs).

    python3 testdata/malformed/make.py          # rewrite the files and README.md
    python3 testdata/malformed/make.py --check  # fail if a committed file differs
"""

import gzip
import hashlib
import io
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TD = os.path.dirname(HERE)

# Sources. The upstream fixtures are byte-identical copies of ZooKeeper's own test data and
# never change; the 3.9 files were written by a real ZooKeeper 3.9 server (testdata/generate).
LOG = "upstream/invalidsnap/version-2/log.1"  # 3.x server log, V0 creates with ACLs
SNAP = "upstream/buffersize/snapshot/version-2/snapshot.2"  # 3.4 snapshot: 1 session, 1 ACL entry
SNAP39 = "zk-3.9/basic/version-2/snapshot.0"  # 3.9 snapshot with digest + lastZxid sections
GZ = "zk-3.9/compressed-gz/version-2/snapshot.24.gz"  # written by ZooKeeper 3.9 (gz)
SNAPPY = "zk-3.9/compressed-snappy/version-2/snapshot.13.snappy"  # written by ZooKeeper 3.9 (snappy)

LOG_ENTRIES = 6  # log cases start from the header and the first 6 entries of LOG
MAX_LEN = 2_097_150  # ZooKeeper's default jute.maxbuffer + extrasize


def read(rel):
    with open(os.path.join(TD, rel), "rb") as f:
        return f.read()


def adler32(b):
    return zlib.adler32(b) & 0xFFFFFFFF


def log_entries(d):
    """(offset, payload length) of each framed entry, stopping at padding or the end."""
    out, o = [], 16
    while o + 12 <= len(d):
        ln = struct.unpack(">i", d[o + 8:o + 12])[0]
        if ln <= 0 or o + 13 + ln > len(d):
            break
        out.append((o, ln))
        o += 13 + ln
    return out


def log_base():
    d = read(LOG)
    e = log_entries(d)[:LOG_ENTRIES]
    end = e[-1][0] + 13 + e[-1][1]
    return bytearray(d[:end]), e


def snap_layout(d):
    """Offsets in a plain snapshot: ACL count, first ACL list count, nodes, terminator, seals."""
    lay = {}
    o = 16
    n = struct.unpack(">i", d[o:o + 4])[0]
    o += 4 + 12 * max(n, 0)
    lay["acl_cache_count"] = o
    m = struct.unpack(">i", d[o:o + 4])[0]
    o += 4
    for i in range(max(m, 0)):
        if i == 0:
            lay["first_acl_list_count"] = o + 8
        c = struct.unpack(">i", d[o + 8:o + 12])[0]
        o += 12
        for _ in range(c):
            o += 4
            for _ in range(2):
                ln = struct.unpack(">i", d[o:o + 4])[0]
                o += 4 + ln
    nodes = []
    while True:
        ln = struct.unpack(">i", d[o:o + 4])[0]
        if d[o + 4:o + 4 + ln] == b"/":
            lay["terminator"] = o
            break
        nodes.append(o)
        o += 4 + ln
        dl = struct.unpack(">i", d[o:o + 4])[0]
        o += 4 + max(dl, 0) + 8 + 60
    lay["nodes"] = nodes
    lay["seal1"] = lay["terminator"] + 5
    lay["seal2"] = lay["seal1"] + 13 + 20
    return lay


def put_i32(b, at, v):
    b[at:at + 4] = struct.pack(">i", v)


def refresh_checksum(b, entry_offset, length):
    """Recomputes an entry's Adler32 so that only the edited field is wrong."""
    payload = bytes(b[entry_offset + 12:entry_offset + 12 + length])
    b[entry_offset:entry_offset + 8] = struct.pack(">q", adler32(payload))


def gzip_bytes(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as g:
        g.write(data)
    return buf.getvalue()


CASES = []


def case(name, source, edit, expect):
    def wrap(fn):
        CASES.append((name, source, edit, expect, fn))
        return fn

    return wrap


# ---- txn logs ----


@case("log-bad-magic", LOG, f"first {LOG_ENTRIES} entries; byte 0 'Z' -> 'X'", "BadMagic at 0")
def _():
    b, _ = log_base()
    b[0] = ord("X")
    return b


@case("log-version-99", LOG, f"first {LOG_ENTRIES} entries; header version 2 -> 99",
      "no error: like ZooKeeper, the version is ignored (reported in the header); end Eof")
def _():
    b, _ = log_base()
    put_i32(b, 4, 99)
    return b


@case("log-truncated-header", LOG, "first 10 bytes", "Truncated at 8 (the dbid)")
def _():
    return read(LOG)[:10]


@case("log-torn-final-entry", LOG, f"first {LOG_ENTRIES} entries; last entry cut in the middle",
      "no error: 5 entries, end Torn at the 6th entry (ZooKeeper: end of this file)")
def _():
    b, e = log_base()
    o, ln = e[-1]
    return b[:o + 12 + ln // 2]


@case("log-flipped-payload", LOG, f"first {LOG_ENTRIES} entries; 3rd entry's payload byte 40 xor 0x01",
      "ChecksumMismatch at the 3rd entry")
def _():
    b, e = log_base()
    b[e[2][0] + 12 + 40] ^= 0x01
    return b


@case("log-bad-eor", LOG, f"first {LOG_ENTRIES} entries; 3rd entry's end-of-record 'B' -> 'X'",
      "no error: 2 entries, end PartialRecord {found: 0x58} at the 3rd entry (ZooKeeper: 'Last transaction was partial')")
def _():
    b, e = log_base()
    o, ln = e[2]
    b[o + 12 + ln] = ord("X")
    return b


for _v in (-1, -2):

    @case(f"log-length-minus{-_v}", LOG, f"first {LOG_ENTRIES} entries; 3rd entry's length -> {_v}",
          "LengthOutOfRange at the 3rd entry + 8 (ZooKeeper: 'Unreasonable length' / null dereference for -1)")
    def _(v=_v):
        b, e = log_base()
        put_i32(b, e[2][0] + 8, v)
        return b


@case("log-length-over-limit", LOG, f"first {LOG_ENTRIES} entries; 3rd entry's length -> {MAX_LEN + 1}",
      "LengthOutOfRange at the 3rd entry + 8")
def _():
    b, e = log_base()
    put_i32(b, e[2][0] + 8, MAX_LEN + 1)
    return b


@case("log-acl-count-max", LOG,
      f"first {LOG_ENTRIES} entries; 2nd entry (create /0) ACL vector count -> 2^31-1, entry Adler32 recomputed",
      "entries read; the 2nd entry's record() fails with CountOutOfRange at the count")
def _():
    b, e = log_base()
    o, ln = e[1]
    p = o + 12 + 32
    p += 4 + struct.unpack(">i", b[p:p + 4])[0]  # path
    p += 4 + max(struct.unpack(">i", b[p:p + 4])[0], 0)  # data
    put_i32(b, p, 0x7FFFFFFF)
    refresh_checksum(b, o, ln)
    return b


@case("log-trailing-garbage", LOG, f"first {LOG_ENTRIES} entries; 7 bytes 'garbage' appended",
      "no error: 6 entries, end Torn with 7 trailing non-zero bytes")
def _():
    b, _ = log_base()
    return bytes(b) + b"garbage"


# ---- snapshots ----


@case("snap-bad-magic", SNAP, "byte 0 'Z' -> 'X'", "BadMagic at 0")
def _():
    b = bytearray(read(SNAP))
    b[0] = ord("X")
    return b


@case("snap-version-99", SNAP, "header version 2 -> 99, seal #1 recomputed",
      "no error: the version is ignored, as by ZooKeeper")
def _():
    b = bytearray(read(SNAP))
    put_i32(b, 4, 99)
    s = snap_layout(b)["seal1"]
    b[s:s + 8] = struct.pack(">q", adler32(bytes(b[:s])))
    return b


@case("snap-truncated-header", SNAP, "first 10 bytes", "Truncated at 0")
def _():
    return read(SNAP)[:10]


@case("snap-acl-count-max", SNAP, "ACL cache entry 1: vector count -> 2^31-1",
      "CountOutOfRange at the count")
def _():
    b = bytearray(read(SNAP))
    put_i32(b, snap_layout(b)["first_acl_list_count"], 0x7FFFFFFF)
    return b


@case("snap-acl-null", SNAP, "ACL cache entry 1: vector count -> -1 (null)",
      "UnexpectedNull at the count (ZooKeeper: RuntimeException)")
def _():
    b = bytearray(read(SNAP))
    put_i32(b, snap_layout(b)["first_acl_list_count"], -1)
    return b


@case("snap-path-length-minus2", SNAP, "2nd node's path length -> -2", "LengthOutOfRange at the length")
def _():
    b = bytearray(read(SNAP))
    put_i32(b, snap_layout(b)["nodes"][1], -2)
    return b


@case("snap-data-length-over-limit", SNAP, f"2nd node's data length -> {MAX_LEN + 1}",
      "LengthOutOfRange at the length")
def _():
    b = bytearray(read(SNAP))
    n = snap_layout(b)["nodes"][1]
    pl = struct.unpack(">i", b[n:n + 4])[0]
    put_i32(b, n + 4 + pl, MAX_LEN + 1)
    return b


@case("snap-missing-terminator", SNAP, "cut before the tree terminator '/' (no terminator, no seal)",
      "Truncated at the end of the file (ZooKeeper's snapshot.83f fixture is a real case)")
def _():
    d = read(SNAP)
    return d[:snap_layout(d)["terminator"]]


@case("snap-bad-seal", SNAP, "seal #1 value: last byte xor 0x01", "SealMismatch {index: 1} at seal #1")
def _():
    b = bytearray(read(SNAP))
    b[snap_layout(b)["seal1"] + 7] ^= 0x01
    return b


@case("snap-bad-seal2", SNAP39, "seal #2 (after the digest section) value: last byte xor 0x01",
      "SealMismatch {index: 2} at seal #2")
def _():
    b = bytearray(read(SNAP39))
    b[snap_layout(b)["seal2"] + 7] ^= 0x01
    return b


@case("snap-trailing-garbage", SNAP39, "7 bytes 'garbage' appended",
      "BadSnapshotTail at the end of seal #1 (61 bytes follow it: not 0, 21, 33 or 54)")
def _():
    return read(SNAP39) + b"garbage"


# ---- compressed snapshots ----


@case("gz-truncated.gz", GZ, "first half of the file", "Decompression (unexpected end of the gzip stream)")
def _():
    d = read(GZ)
    return d[:len(d) // 2]


@case("gz-corrupt.gz", GZ, "byte at len/2 xor 0xff (inside the deflate data)",
      "the damaged deflate data inflates to garbage before gzip's CRC is reached: LengthOutOfRange (node data) at 1021")
def _():
    b = bytearray(read(GZ))
    b[len(b) // 2] ^= 0xFF
    return b


@case("snappy-truncated.snappy", SNAPPY, "first len-10 bytes (cut inside the first chunk)",
      "Decompression (snappy stream truncated)")
def _():
    d = read(SNAPPY)
    return d[:len(d) - 10]


@case("snappy-corrupt.snappy", SNAPPY, "first chunk's declared length -> 0x7fffffff",
      "Decompression (chunk length out of range), nothing allocated from it")
def _():
    b = bytearray(read(SNAPPY))
    put_i32(b, 16, 0x7FFFFFFF)
    return b


@case("snappy-block-bomb.snappy", SNAPPY,
      "first chunk replaced by a 6-byte block claiming 64 MiB of output",
      "Decompression, without allocating 64 MiB")
def _():
    d = read(SNAPPY)
    block = bytes([0x80, 0x80, 0x80, 0x20]) + b"\x00\x00"  # varint 64 MiB, then junk
    return d[:16] + struct.pack(">i", len(block)) + block


@case("gz-bomb.gz", SNAP, "header + session count 2^31-1 of the source, then 48 MiB of zeros, gzipped (level 9)",
      "with Limits::max_decompressed = 16 MiB: Decompression; with the default: Truncated inside the sessions")
def _():
    d = read(SNAP)
    plain = bytearray(d[:20])
    put_i32(plain, 16, 0x7FFFFFFF)
    return gzip_bytes(bytes(plain) + bytes(48 << 20))


def main():
    check = "--check" in sys.argv
    rows = []
    bad = 0
    for name, source, edit, expect, fn in CASES:
        data = bytes(fn())
        path = os.path.join(HERE, name)
        if check:
            with open(path, "rb") as f:
                if f.read() != data:
                    print(f"DIFFERS: {name}")
                    bad += 1
        else:
            with open(path, "wb") as f:
                f.write(data)
        src_hash = hashlib.sha256(read(source)).hexdigest()[:16]
        rows.append(f"| `{name}` | {len(data)} | `{source}` (sha256 {src_hash}…) | {edit} | {expect} |")
    if check:
        sys.exit(1 if bad else 0)
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(README_HEAD)
        f.write("\n".join(rows))
        f.write("\n")
        f.write(README_TAIL)
    print("\n".join(rows))


README_HEAD = """# Malformed files

Every file here is a real file from `testdata/` with one documented edit, made by `make.py`
(deterministic; `python3 testdata/malformed/make.py --check` verifies the committed bytes).
`zkformat/tests/malformed.rs` checks, for each file, the exact `ErrorKind` and offset (or how
the log ends), that slice and streaming readers agree, and that nothing panics;
`zkformat/tests/alloc_bound.rs` checks that reading any of them allocates at most a small
multiple of its size plus a fixed read-buffer allowance. Offsets are absolute byte offsets in the
(decompressed) stream. Exact offsets are in `malformed.rs`; the column below says what they are.

About the header's version field: ZooKeeper reads the version (and dbid) of a txn log or
snapshot header and ignores it; only the magic is checked. zkformat does the same: a file
with version 99 reads normally and the header's `version` field tells the caller (zkdump shows
it). So "unsupported version" is not an error, and the `*-version-99` cases document that.

| file | bytes | source | edit | expected |
|---|---:|---|---|---|
"""

README_TAIL = """
Regression cases found by fuzzing are added to `make.py` (or, for inputs that are not a simple
edit of a real file, kept as unit tests beside the code they exercise).
"""

if __name__ == "__main__":
    main()
