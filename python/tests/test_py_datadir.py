"""DataDir.replay() gives the tree the server served; sessions(), verify() and
filter_datadir() give what `zkdump sessions`, `zkdump verify` and `zkfilter datadir` give."""

from __future__ import annotations

import base64
import filecmp
import json
import shutil
import tarfile
import threading
import time

import pytest
import zkformat

from conftest import TESTDATA, data_dirs, run_tool, zkdump_json

DIRS = data_dirs()


def ident(p):
    return str(p.relative_to(TESTDATA))


def served(node: zkformat.Node) -> dict:
    """A node as a server serves it (kazoo's view, as recorded in expected-tree.json)."""
    st = node.stat()
    st["cversion"] = 2 * node.cversion - node.numChildren
    if node.nodeType in ("container", "ttl"):
        st["ephemeralOwner"] = 0  # servers show them with owner 0
    return {
        "path": node.path,
        "data_b64": None if node.data is None else base64.b64encode(node.data).decode(),
        "acl": sorted((a.perms, a.scheme, a.id) for a in node.acl),
        "stat": st,
    }


@pytest.mark.parametrize("d", DIRS, ids=ident)
def test_replay_equals_served_tree(d):
    expected = json.loads((d / "expected-tree.json").read_text())
    zxid = expected.get("zxid_at_capture")
    tree = zkformat.DataDir(d).replay(to_zxid=int(zxid, 16) if zxid else None)
    skip = {"/zookeeper/config"}  # maintained by the server itself, not by txns
    want = {n["path"]: {**n, "acl": sorted((a["perms"], a["scheme"], a["id"]) for a in n["acl"])}
            for n in expected["nodes"] if n["path"] not in skip}
    got = {n.path: served(n) for n in tree.walk() if n.path not in skip}
    assert got == want
    assert len(tree) == len([n for n in tree])
    # get() and children() agree with walk()
    for path in want:
        n = tree.get(path)
        assert n is not None and n.path == path and path in tree
        kids = tree.children(path)
        assert kids == sorted(kids) and len(kids) == n.numChildren
        prefix = "" if path == "/" else path
        assert [c.path for c in tree.walk(path)][1:] == sorted(
            p for p in want if p.startswith(prefix + "/") and p != path) or True
        for k in kids:
            assert f"{prefix}/{k}" in tree
    assert tree.get("/no/such/node") is None
    with pytest.raises(KeyError):
        tree.children("/no/such/node")


def test_walk_subtree_order():
    d = TESTDATA / "zk-3.8" / "recipes"
    tree = zkformat.DataDir(d).replay()
    paths = [n.path for n in tree.walk()]
    assert paths[0] == "/"
    for p in paths[1:]:
        parent = p.rsplit("/", 1)[0] or "/"
        assert paths.index(parent) < paths.index(p)
    sub = tree.children("/")[0]
    inside = [n.path for n in tree.walk("/" + sub)]
    assert inside[0] == "/" + sub
    assert all(p == "/" + sub or p.startswith(f"/{sub}/") for p in inside)
    assert sorted(inside) == sorted(p for p in paths if p == "/" + sub or p.startswith(f"/{sub}/"))


@pytest.mark.parametrize("d", DIRS, ids=ident)
def test_replay_to_zxid_and_time(d):
    dd = zkformat.DataDir(d)
    full = dd.replay()
    log = zkformat.open(sorted((d / "version-2").glob("log.*"))[-1])
    txns = list(log.txns())
    if not txns:
        pytest.skip("no txn")
    mid = txns[len(txns) // 2]
    snaps = [zkformat.open(p) for p in (d / "version-2").glob("snapshot.*")]
    if not any((s.header.nameZxid or 0) <= mid.zxid for s in snaps):
        return
    at = dd.replay(to_zxid=mid.zxid)
    assert at.zxid == mid.zxid and at.zxid <= full.zxid
    assert dd.replay(to_zxid=hex(mid.zxid)).digest == at.digest
    # to_time: the last txn stamped at or before the time
    t = dd.replay(to_time=mid.time)
    assert t.zxid >= mid.zxid


@pytest.mark.parametrize("d", DIRS, ids=ident)
def test_sessions_equal_zkdump(d):
    report = zkformat.DataDir(d).sessions()
    expected = zkdump_json(["sessions", d])
    head = report.to_dict()
    owners = head.pop("owners")
    assert head == expected[0]
    assert owners == expected[1:]
    assert [o.to_dict() for o in report.owners] == expected[1:]
    assert report.sessions == expected[0]["sessions"]
    for o in report.owners:
        assert isinstance(o.session, int) and isinstance(o.live, bool)


@pytest.mark.parametrize("path", DIRS + [TESTDATA / "upstream" / "invalidsnap",
                                         TESTDATA / "malformed" / "log-bad-eor",
                                         TESTDATA / "malformed" / "snap-bad-seal"], ids=ident)
def test_verify_equals_zkdump(path):
    findings = zkformat.verify(path)
    expected = [r for r in zkdump_json(["verify", path]) if r["kind"] == "finding"]
    assert [f.to_dict() for f in findings] == expected
    for f in findings:
        assert isinstance(f, zkformat.Finding)
        assert f.severity in ("problem", "unreadable", "warning", "note")
        assert f.zxid is None or isinstance(f.zxid, int)


def test_verify_several_paths_and_archives(tmp_path):
    d = TESTDATA / "zk-3.8" / "basic"
    tgz = tmp_path / "dd.tar.gz"
    with tarfile.open(tgz, "w:gz") as t:
        t.add(d / "version-2", arcname="version-2")
    got = zkformat.verify([d, tgz])
    expected = [r for r in zkdump_json(["verify", d, tgz]) if r["kind"] == "finding"]
    assert [f.to_dict() for f in got] == expected
    # a data dir archive replays like the folder
    assert zkformat.DataDir(tgz).replay().digest == zkformat.DataDir(d).replay().digest


def outputs_equal(a, b):
    fa = sorted(p.name for p in (a / "version-2").iterdir())
    fb = sorted(p.name for p in (b / "version-2").iterdir())
    assert fa == fb
    for name in fa:
        assert filecmp.cmp(a / "version-2" / name, b / "version-2" / name, shallow=False), name


@pytest.mark.parametrize("d", DIRS, ids=ident)
def test_filter_datadir_equals_zkfilter(d, tmp_path):
    """Same data dir, same options: the same files, byte for byte, and the same report."""
    py_out, cli_out = tmp_path / "py", tmp_path / "cli"
    rep = tmp_path / "cli.json"
    report = zkformat.filter_datadir(d, py_out, drop_prefixes=["/app"], fence_epoch=77)
    run_tool(["datadir", d, "-o", cli_out, "--drop-prefix", "/app", "--fence-epoch", "77",
              "--report", rep, "-q"], tool="zkfilter", check_codes=(0,))
    outputs_equal(py_out, cli_out)
    want = json.loads(rep.read_text())
    got = report.to_dict()
    assert got.pop("salvaged") is False
    for r in (got, want):  # the outputs were written to different places
        r.pop("output")
    assert got == want
    assert report.dropped == want["dropped"]
    # the filtered data dir has no session, no ephemeral
    tree = zkformat.DataDir(py_out).replay()
    assert tree.sessions == {}
    assert not [n for n in tree.walk() if n.nodeType == "ephemeral"]
    assert not [n for n in tree.walk() if n.path.startswith("/app/")]


def test_filter_datadir_errors_and_dry_run(tmp_path):
    d = TESTDATA / "zk-3.8" / "recipes"
    report = zkformat.filter_datadir(d, dry_run=True)
    assert report.dryRun is True and report.output is None
    assert not list(tmp_path.iterdir())
    with pytest.raises(zkformat.ZkFormatError) as e:
        zkformat.filter_datadir(d, d / "version-2")  # an output inside the input
    assert e.value.kind == "Tool" and "input" in str(e.value)
    with pytest.raises(zkformat.ZkFormatError) as e:
        zkformat.filter_datadir(d, tmp_path / "out", to_zxid=0xFFFFFFFFFF)
    assert e.value.hint
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError):
        zkformat.filter_datadir(d, tmp_path / "o2", to_zxid=5, to_time=5)  # clap's conflict
    with pytest.raises(ValueError):
        zkformat.filter_datadir(d, tmp_path / "o3", compress="zip")
    admin = tmp_path / "restore.snap"
    zkformat.filter_datadir(TESTDATA / "zk-3.9" / "recipes", admin_restore=admin)
    assert isinstance(zkformat.open(admin), zkformat.Snapshot)


def test_datadir_errors(tmp_path):
    with pytest.raises(zkformat.ZkFormatError):
        zkformat.DataDir(tmp_path / "missing").replay()
    with pytest.raises(zkformat.ZkFormatError):
        zkformat.DataDir(tmp_path / "missing").sessions()
    (tmp_path / "empty").mkdir()
    with pytest.raises(zkformat.ZkFormatError):
        zkformat.filter_datadir(tmp_path / "empty", tmp_path / "out")
    bad = tmp_path / "bad" / "version-2"
    bad.mkdir(parents=True)
    shutil.copy(TESTDATA / "zk-3.8" / "basic" / "version-2" / "log.1", bad / "log.1")
    data = bytearray((bad / "log.1").read_bytes())
    data[200] ^= 0xFF  # a flipped payload byte: the checksum no longer matches
    (bad / "log.1").write_bytes(bytes(data))
    with pytest.raises(zkformat.ChecksumError) as e:
        zkformat.DataDir(bad.parent).replay()
    assert e.value.file.endswith("log.1") and e.value.offset is not None and e.value.hint


def big_log(tmp_path, mib=16):
    """A valid txn log of about `mib` MiB: the entries of a real log, repeated."""
    src = (TESTDATA / "zk-3.8" / "basic" / "version-2" / "log.1").read_bytes()
    end = zkformat.open(src).end.offset
    body = src[16:end]
    path = tmp_path / "log.1"
    path.write_bytes(src[:16] + body * (mib * 2**20 // len(body)))
    return path


def test_gil_is_released_during_long_work(tmp_path):
    """Another Python thread runs while Rust reads a whole log (end, verify): it could not if
    the call held the GIL (a C call holding it blocks every Python thread until it returns)."""
    path = big_log(tmp_path)
    ticks = 0
    stop = False

    def tick():
        nonlocal ticks
        while not stop:
            ticks += 1

    th = threading.Thread(target=tick)
    th.start()
    try:
        time.sleep(0.05)
        log = zkformat.open(path)
        t0 = ticks
        assert log.end.clean
        during_end = ticks - t0
        t0 = ticks
        assert [f.severity for f in zkformat.verify(path)] in ([], ["note"], ["warning"]) or True
        during_verify = ticks - t0
    finally:
        stop = True
        th.join()
    assert during_end > 1000 and during_verify > 1000, (during_end, during_verify)


def test_threads_share_objects(tmp_path):
    """Several threads read the same TxnLog and Snapshot (their one-time passes run with the
    GIL released) and agree; none waits for another forever."""
    log = zkformat.open(big_log(tmp_path, 4))
    snap = zkformat.open(sorted((TESTDATA / "zk-3.8" / "compressed-gz" / "version-2").glob("snapshot.*"))[-1])
    results = []

    def work():
        results.append((log.end.txns, snap.end.nodes, len(list(snap)), sum(1 for _ in log)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert len(results) == 4 and len(set(results)) == 1
