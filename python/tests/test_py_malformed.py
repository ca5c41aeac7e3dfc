"""Malformed inputs raise ZkFormatError subclasses, never crash the interpreter: every defect of
testdata/malformed/, empty input, random bytes, and every truncation and many byte flips of real
files. Each read runs to its end (records(), iteration, end, properties)."""

from __future__ import annotations

import gzip
import io
import json
import random
import struct

import pytest
import zkformat

from conftest import TESTDATA, run_tool

MALFORMED = sorted(p for p in (TESTDATA / "malformed").iterdir()
                   if p.is_file() and p.suffix not in (".md", ".py") and p.name != "gz-bomb.gz")
REAL = [TESTDATA / "zk-3.8" / "multi" / "version-2" / "log.1",
        TESTDATA / "zk-3.9" / "recipes" / "version-2",
        TESTDATA / "zk-3.8" / "compressed-gz" / "version-2",
        TESTDATA / "zk-3.8" / "compressed-snappy" / "version-2"]


def real_files():
    out = []
    for p in REAL:
        out += sorted(p.glob("snapshot.*")) + sorted(p.glob("log.*")) if p.is_dir() else [p]
    return out


def read_all(src, **kw):
    """Opens and reads everything; returns the error that stopped it (a ZkFormatError) or None.
    Any other exception fails the test."""
    try:
        f = zkformat.open(src, **kw)
    except zkformat.ZkFormatError as e:
        check_error(e)
        return e
    err = None
    for it in (lambda: list(f), lambda: list(f.records())):
        try:
            for r in it():
                r.to_dict()
        except zkformat.ZkFormatError as e:
            check_error(e)
            err = e
    f.end.to_dict()
    f.header.to_dict()
    if isinstance(f, zkformat.Snapshot):
        f.sessions, f.acl_entries, f.acl_cache, f.seals, f.digest, f.last_zxid
    else:
        for strict in (True, False):
            try:
                for t in f.txns(strict=strict):
                    t.to_dict(data=True), t.ops, t.acl, t.data, t.paths2Delete
            except zkformat.ZkFormatError as e:
                check_error(e)
    return err


def check_error(e):
    assert isinstance(e, zkformat.ZkFormatError)
    assert type(e) is not zkformat.ZkFormatError or e.kind in ("Io", "Tool"), type(e)
    assert e.file is not None and e.hint and e.kind
    assert e.offset is None or isinstance(e.offset, int)
    assert e.zxid is None or isinstance(e.zxid, int)
    assert str(e)


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_files(path):
    """Read to the end without a crash; what is read is what zkdump prints, and the package
    raises exactly when zkdump stops with an error."""
    read_all(path)
    r = run_tool(["--json", path])
    expected = [json.loads(l) for l in r.stdout.splitlines()]
    try:
        f = zkformat.open(path)
    except zkformat.ZkFormatError as e:
        # zkdump prints nothing, or (a snapshot whose first item cannot be read) only the end
        # record with the error.
        assert expected == [] or [x["kind"] for x in expected] == ["end"] and expected[0]["error"]
        assert r.returncode == 2
        assert e.file == str(path) and str(e) in r.stderr
        return
    got, err = [], None
    try:
        for rec in f.records():
            got.append(rec.to_dict())
    except zkformat.ZkFormatError as e:
        err = e
    assert got == expected
    assert (err is not None) == (r.returncode == 2)
    assert [x.to_dict() for x in zkformat.verify(path)] == [
        x for x in (json.loads(l) for l in run_tool(["verify", "--json", path]).stdout.splitlines())
        if x["kind"] == "finding"]


def test_gzip_bomb():
    """A gzip stream of zeros claiming 2^31-1 sessions (as testdata/malformed/gz-bomb.gz, which
    holds 48 MiB of zeros: too slow for an unoptimised test build; tests/ and zkfilter/tests
    read it): read in Rust until the stream ends inside the sessions, as zkdump does, without
    making the session records."""
    head = b"ZKSN" + struct.pack(">iqi", 2, -1, 0x7FFFFFFF)
    bomb = gzip.compress(head + bytes(2 * 2**20), 9)
    f = zkformat.open(bomb)
    with pytest.raises(zkformat.TruncatedError) as e:
        list(f)
    assert e.value.kind == "Truncated" and e.value.offset > 2 * 2**20
    assert f.end.error["offset"] == e.value.offset and not f.end.complete
    expected = [json.loads(l) for l in run_tool(["--json", "-"], input=bomb).stdout.splitlines()]
    assert expected[-1] == f.end.to_dict()


def test_specific_error_classes():
    m = TESTDATA / "malformed"
    with pytest.raises(zkformat.UnknownFormatError):
        zkformat.open(m / "log-bad-magic")
    with pytest.raises(zkformat.TruncatedError):
        zkformat.open(m / "log-truncated-header")
    with pytest.raises(zkformat.ChecksumError) as e:
        list(zkformat.open(m / "snap-bad-seal"))
    assert e.value.kind == "SealMismatch" and e.value.offset > 0
    with pytest.raises(zkformat.DecompressionError):
        list(zkformat.open(m / "gz-truncated.gz"))
    with pytest.raises(zkformat.DecompressionError):
        list(zkformat.open(m / "snappy-corrupt.snappy"))
    with pytest.raises(zkformat.CorruptError) as e:
        list(zkformat.open(m / "log-length-over-limit"))
    assert e.value.kind == "LengthOutOfRange"
    log = zkformat.open(m / "log-flipped-payload")
    with pytest.raises(zkformat.ChecksumError) as e:
        list(log.txns(strict=True))
    assert e.value.zxid is not None and e.value.offset is not None
    assert not all(t.checksumOk for t in log)  # lenient: yielded, marked
    assert log.end.checksumErrors == 1


def test_empty_and_random_inputs():
    with pytest.raises(zkformat.UnknownFormatError) as e:
        zkformat.open(b"")
    assert "empty" in e.value.hint
    rng = random.Random(15)
    for n in (1, 3, 15, 16, 17, 100, 4096):
        for _ in range(20):
            data = bytes(rng.getrandbits(8) for _ in range(n))
            read_all(data)
            read_all(b"ZKLG" + data)
            read_all(b"ZKSN" + data)
            read_all(b"\x1f\x8b" + data)
            read_all(b"\x82SNAPPY\x00" + data)


@pytest.mark.parametrize("path", real_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_truncations_and_flips(path):
    data = path.read_bytes()
    rng = random.Random(len(data))
    cuts = sorted({*range(0, min(len(data), 40)), *rng.sample(range(len(data)), min(len(data), 60))})
    for n in cuts:
        read_all(data[:n])
    for _ in range(60):
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        read_all(bytes(b))


def test_inputs_of_every_kind(tmp_path):
    path = TESTDATA / "zk-3.8" / "basic" / "version-2" / "log.1"
    data = path.read_bytes()
    a = [t.to_dict() for t in zkformat.open(path)]
    assert [t.to_dict() for t in zkformat.open(data)] == a
    assert [t.to_dict() for t in zkformat.open(bytearray(data))] == a
    assert [t.to_dict() for t in zkformat.open(memoryview(data))] == a
    assert [t.to_dict() for t in zkformat.open(io.BytesIO(data))] == a
    with open(path, "rb") as f:
        log = zkformat.open(f)
        assert log.name == str(path)
        assert [t.to_dict() for t in log] == a
    assert zkformat.open(data).header.file == "-"
    assert zkformat.open(data, name="x/log.1").header.nameZxid == 1
    with pytest.raises(FileNotFoundError):
        zkformat.open(tmp_path / "missing")
    with pytest.raises(TypeError):
        zkformat.open(12)
    with pytest.raises(TypeError):  # a text file object
        zkformat.open(io.StringIO("ZKLG"))


def test_legacy_files_are_refused():
    """Pre-3.0 "version 1" files (ZooKeeper's upgrade fixtures) are refused, as zkdump does."""
    for p in sorted((TESTDATA / "upstream" / "upgrade").glob("*.*")):
        if p.suffix == ".md":
            continue
        with pytest.raises(zkformat.UnknownFormatError) as e:
            zkformat.open(p)
        assert "version 1" in e.value.hint or "UpgradeMain" in e.value.hint
