"""With a real ZooKeeper 3.8 server: a kazoo client writes, the server stops, and the package
reads the data dir and finds what was written (txns in the logs, the replayed tree with every
stat as the server served it, the sessions report); the filtered data dir loads on a fresh
server. Skipped when ZooKeeper 3.8 is not installed (scripts/install-deps.sh installs it)."""

from __future__ import annotations

import pytest
import zkformat

zkharness = pytest.importorskip("zkharness")
kazoo = pytest.importorskip("kazoo")

from kazoo.security import make_digest_acl  # noqa: E402

pytestmark = pytest.mark.skipif("3.8" not in zkharness.installed_versions(),
                                reason="ZooKeeper 3.8 not installed")


def served(node: zkformat.Node) -> dict:
    st = node.stat()
    st["cversion"] = 2 * node.cversion - node.numChildren
    return {"path": node.path, "data": node.data, "stat": st,
            "acl": sorted((a.perms, a.scheme, a.id) for a in node.acl)}


def test_kazoo_writes_package_reads(tmp_path):
    data = tmp_path / "data"
    acl = make_digest_acl("ops", "pw", all=True)
    with zkharness.ZkServer("3.8", data, snap_count=40) as srv:
        zk = srv.client()
        zk.add_auth("digest", "ops:pw")
        zk.create("/pyt", b"root of the python test")
        zk.create("/pyt/config", b'{"replicas": 3}', acl=[acl])
        for i in range(60):  # enough txns for a snapshot and a new log (snapCount 40)
            zk.create("/pyt/items/item-", str(i).encode(), sequence=True, makepath=True)
        zk.set("/pyt/config", b'{"replicas": 5}')
        zk.delete("/pyt/items/item-0000000000")
        tx = zk.transaction()
        tx.create("/pyt/multi-a", b"a")
        tx.create("/pyt/multi-b", b"b")
        tx.commit()
        holder = srv.client()
        holder.create("/pyt/lock", b"")
        holder.create("/pyt/lock/owner-", b"me", ephemeral=True, sequence=True)
        served_tree = {n["path"]: n for n in zkharness.capture_tree(zk, "/pyt")}
        last_zxid = zk.exists("/pyt/lock").mzxid
        srv.stop(close_clients=False)  # the holder's session stays open in the data dir

    dd = zkformat.DataDir(data)
    tree = dd.replay()
    assert tree.zxid >= last_zxid
    cfg = tree.get("/pyt/config")
    assert cfg.data == b'{"replicas": 5}' and cfg.version == 1
    assert [(a.scheme, a.id, a.perm) for a in cfg.acl] == [("digest", acl.id.id, "cdrwa")]
    items = tree.children("/pyt/items")
    assert len(items) == 59 and items[0] == "item-0000000001"
    assert tree.get("/pyt/items/item-0000000000") is None
    owner = [n for n in tree.walk("/pyt/lock") if n.nodeType == "ephemeral"]
    assert len(owner) == 1 and owner[0].data == b"me"
    # every node, every stat, as the server served it
    for path, want in served_tree.items():
        n = tree.get(path)
        assert n is not None, path
        got = served(n)
        assert got["data"] == (None if want["data_b64"] is None else
                               __import__("base64").b64decode(want["data_b64"]))
        assert got["stat"] == want["stat"], path
        assert got["acl"] == sorted((a["perms"], a["scheme"], a["id"]) for a in want["acl"])

    # the txns are in the logs, in zxid order
    txns = [t for p in sorted((data / "version-2").glob("log.*")) for t in zkformat.open(p)]
    assert [t.zxid for t in txns] == sorted(t.zxid for t in txns)
    creates = {t.path: t for t in txns if t.op in ("create", "create2")}
    assert creates["/pyt/config"].data == b'{"replicas": 3}'
    assert creates["/pyt/config"].acl[0].scheme == "digest"
    sets = [t for t in txns if t.op == "setData" and t.path == "/pyt/config"]
    assert sets[0].data == b'{"replicas": 5}' and sets[0].version == 1
    multi = [t for t in txns if t.op == "multi"]
    assert [(o.op, o.path, o.data) for o in multi[0].ops] == [
        ("create", "/pyt/multi-a", b"a"), ("create", "/pyt/multi-b", b"b")] or [
        (o.op, o.path) for o in multi[0].ops] == [("create2", "/pyt/multi-a"), ("create2", "/pyt/multi-b")]
    eph = [t for t in txns if t.path and t.path.startswith("/pyt/lock/owner-")]
    assert eph[0].ephemeral is True
    assert [zkformat.open(p).end.clean for p in sorted((data / "version-2").glob("log.*"))]
    assert list((data / "version-2").glob("snapshot.*"))

    # the restore-safety report names the holder's session and its lock
    report = dd.sessions()
    live = [o for o in report.owners if o.ephemerals]
    assert len(live) == 1 and live[0].live
    assert live[0].groups[0]["parent"] == "/pyt/lock"
    assert not [f for f in zkformat.verify(data) if f.severity in ("problem", "unreadable")]

    # filtered, it loads on a fresh server without the ephemeral
    out = tmp_path / "restored"
    rep = zkformat.filter_datadir(data, out)
    assert rep.dropped["ephemeral"]["count"] == 1
    with zkharness.ZkServer("3.8", out) as srv2:
        zk2 = srv2.client()
        zk2.add_auth("digest", "ops:pw")
        assert zk2.get("/pyt/config")[0] == b'{"replicas": 5}'
        assert zk2.get_children("/pyt/lock") == []
        assert len(zk2.get_children("/pyt/items")) == 59
