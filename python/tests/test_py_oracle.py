"""Every record, and every field of every txn and node, equals what `zkdump --json` prints for
the same file: every txn log and snapshot under testdata/ (real ZooKeeper 3.4, 3.8 and 3.9
files, and ZooKeeper's own fixtures)."""

from __future__ import annotations

import base64

import pytest
import zkformat

from conftest import TESTDATA, data_files, run_tool, zkdump_json

LOGS = data_files("log")
SNAPSHOTS = data_files("snapshot")


def ident(p):
    return str(p.relative_to(TESTDATA))


def records(f):
    """Every record of f.records(), and the error that ended it (or None)."""
    out = []
    try:
        for r in f.records():
            out.append(r)
    except zkformat.ZkFormatError as e:
        return out, e
    return out, None


def as_dict(r, data):
    if isinstance(r, (zkformat.Txn, zkformat.Node)):
        return r.to_dict(data=data)
    return r.to_dict()


def signed(hex_str):
    v = int(hex_str, 16)
    return v - (1 << 64) if v >= 1 << 63 else v


HEX = {"zxid", "session", "digest", "ephemeralOwner", "czxid", "mzxid", "pzxid"}


def check_value(obj, key, want):
    """getattr(obj, key) is the Python value of the JSON value `want`."""
    got = getattr(obj, key)
    where = f"{type(obj).__name__}.{key}"
    if key in HEX:
        assert got == (None if want is None else signed(want)), where
    elif key == "acl":
        assert (None if got is None else [a.to_dict() for a in got]) == want, where
        if got is not None:
            assert all(isinstance(a, zkformat.ACL) for a in got)
    elif key == "data":
        if want is None:
            assert got is None, where
        elif "text" in want:
            assert got == want["text"].encode(), where
        elif "hex" in want:
            assert got == bytes.fromhex(want["hex"]), where
        else:
            assert got == base64.b64decode(want["base64"]), where
    elif key == "ops":
        assert len(got) == len(want), where
        for sub, w in zip(got, want):
            assert sub.to_dict(data=True) == w
            for k, v in w.items():
                check_value(sub, k, v)
    else:
        assert got == want, where


@pytest.mark.parametrize("path", LOGS + SNAPSHOTS, ids=ident)
def test_records_equal_zkdump(path):
    """records() is zkdump's JSON Lines output, record for record (with and without --data)."""
    for data in (False, True):
        expected = zkdump_json((["--data"] if data else []) + [path])
        got, err = records(zkformat.open(str(path)))
        assert [as_dict(r, data) for r in got] == expected
        # zkdump stops with an error (exit 2) exactly when the package raises.
        assert (err is not None) == (expected[-1]["error"] is not None)
        if err is not None:
            assert err.offset == expected[-1]["error"]["offset"]
            assert err.hint == expected[-1]["error"]["hint"]
    # base64 for non-UTF-8 data, as zkdump --data-format base64
    expected = zkdump_json(["--data", "--data-format", "base64", path])
    got, _ = records(zkformat.open(str(path)))
    assert [r.to_dict(data=True, data_format="base64") if isinstance(r, (zkformat.Txn, zkformat.Node))
            else r.to_dict() for r in got] == expected


@pytest.mark.parametrize("path", LOGS, ids=ident)
def test_every_txn_field(path):
    """Every field of every txn, read as an attribute, is the JSON value (ids as ints, data as
    bytes, ACLs as ACL objects); iterating the log gives the same txns as records()."""
    expected = [r for r in zkdump_json(["--data", path]) if r["kind"] in ("txn", "txnError")]
    log = zkformat.open(path)
    got = []
    try:
        for t in log:
            got.append(t)
    except zkformat.ZkFormatError:
        pass
    assert len(got) == len(expected)
    for t, want in zip(got, expected):
        assert isinstance(t, zkformat.Txn)
        for k, v in want.items():
            check_value(t, k, v)
        if t.kind == "txn":
            assert t.error is None and t.errorOffset is None
    assert log.end.to_dict() == zkdump_json([path])[-1]
    assert log.header.to_dict() == zkdump_json([path])[0]


@pytest.mark.parametrize("path", SNAPSHOTS, ids=ident)
def test_every_node_field(path):
    """Every field of every node; the sessions, ACL cache, seals, digest and end properties."""
    expected = zkdump_json(["--data", path])
    snap = zkformat.open(path)
    assert isinstance(snap, zkformat.Snapshot)
    nodes = []
    try:
        for n in snap:
            nodes.append(n)
    except zkformat.ZkFormatError:
        pass
    want_nodes = [r for r in expected if r["kind"] == "node"]
    assert len(nodes) == len(want_nodes)
    for n, want in zip(nodes, want_nodes):
        for k, v in want.items():
            if k != "kind":
                check_value(n, k, v)
    by_kind = lambda k: [r for r in expected if r["kind"] == k]  # noqa: E731
    assert [s.to_dict() for s in snap.sessions] == by_kind("session")
    assert [(s.session, s.timeout) for s in snap.sessions] == [
        (signed(r["session"]), r["timeout"]) for r in by_kind("session")]
    assert [a.to_dict() for a in snap.acl_entries] == by_kind("acl")
    assert {k: [a.to_dict() for a in v] for k, v in snap.acl_cache.items()} == {
        r["key"]: r["acl"] for r in by_kind("acl")}
    assert [s.to_dict() for s in snap.seals] == by_kind("seal")
    digest = by_kind("digest")
    assert (snap.digest.to_dict() if snap.digest else None) == (digest[0] if digest else None)
    if digest:
        assert snap.digest.digest == signed(digest[0]["digest"])
        assert snap.digest.check == digest[0]["check"]
    last = by_kind("lastZxid")
    assert snap.last_zxid == (signed(last[0]["zxid"]) if last else None)
    assert snap.end.to_dict() == expected[-1]
    assert snap.header.to_dict() == expected[0]


def test_covers_every_real_file():
    """The lists above hold every real log and snapshot (guards against an empty glob)."""
    assert len(LOGS) >= 60 and len(SNAPSHOTS) >= 50
    ops = set()
    for p in LOGS:
        try:
            for t in zkformat.open(p):
                ops.add(t.op)
        except zkformat.ZkFormatError:
            pass
    for op in ("create", "create2", "createContainer", "createTTL", "delete", "setData", "setACL",
               "multi", "createSession", "closeSession", "error", "reconfig"):
        assert op in ops, op


def test_compressed_snapshots_are_covered():
    kinds = {zkformat.open(p).header.compression for p in SNAPSHOTS}
    assert kinds == {"none", "gzip", "snappy"}
    run_tool(["--version"], check_codes=(0,))


@pytest.mark.parametrize("path", LOGS, ids=ident)
def test_txn_selection_equals_zkdump_options(path):
    """txns(from_zxid=, to_zxid=, session=, path_prefix=, ops=) selects what zkdump's
    --from-zxid/--to-zxid/--session/--path-prefix/--op select."""
    everything = [t for t in zkdump_json([path]) if t["kind"] in ("txn", "txnError")]
    if not everything:
        return
    mid = everything[len(everything) // 2]
    sess = mid["session"]
    path_of = next((t["path"] for t in everything if t.get("path", "/").count("/") >= 2), "/")
    prefix = path_of.rsplit("/", 1)[0]
    cases = [
        ({"from_zxid": mid["zxid"]}, ["--from-zxid", mid["zxid"]]),
        ({"to_zxid": int(mid["zxid"], 16)}, ["--to-zxid", mid["zxid"]]),
        ({"session": sess}, ["--session", sess]),
        ({"path_prefix": prefix}, ["--path-prefix", prefix]),
        ({"ops": ["create", "setData"]}, ["--op", "create,setData"]),
        ({"ops": ["multi", "closeSession"], "session": int(sess, 16)},
         ["--op", "multi,closeSession", "--session", sess]),
    ]
    log = zkformat.open(path)
    for kw, flags in cases:
        want = [t for t in zkdump_json(flags + [path]) if t["kind"] in ("txn", "txnError")]
        got = []
        try:
            for t in log.txns(**kw):
                got.append(t.to_dict())
        except zkformat.ZkFormatError:
            pass
        assert got == want, (kw, flags)
    with pytest.raises(ValueError):
        log.txns(ops=["nosuchop"])
