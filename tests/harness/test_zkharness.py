"""Smoke tests for zkharness: each installed ZooKeeper starts, serves, stops, and its own
tools read what it wrote. Versions whose jars are missing are skipped (run
scripts/install-deps.sh)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import zkharness as zh  # noqa: E402

INSTALLED = zh.installed_versions()


@pytest.mark.parametrize("version", zh.VERSIONS)
def test_server_roundtrip(version, tmp_path):
    if version not in INSTALLED:
        pytest.skip(f"ZooKeeper {version} not installed")
    datadir = tmp_path / "data"
    with zh.ZkServer(version, datadir, snap_count=10) as srv:
        assert srv.pid and srv.port
        zk = srv.client()
        for i in range(15):
            zk.create(f"/n{i}", b"v%d" % i)
        zk.create("/nulldata", None)
        tree = {n["path"]: n for n in zh.capture_tree(zk)}
        assert tree["/n3"]["data_b64"] == "djM="
        assert tree["/nulldata"]["data_b64"] is None
        assert tree["/"]["stat"]["numChildren"] == 17   # 15 + nulldata + zookeeper
    assert not srv.running()
    assert "Creating new log file" in srv.log_text()

    v2 = datadir / "version-2"
    logs = sorted(p for p in v2.iterdir() if p.name.startswith("log."))
    snaps = sorted(p for p in v2.iterdir() if p.name.startswith("snapshot."))
    assert logs and snaps
    r = zh.java_tool(version, "org.apache.zookeeper.server.persistence.TxnLogToolkit",
                     ["-d", str(logs[0])])
    assert r.returncode == 0 and "EOF reached after" in r.stdout, r.stderr
    r = zh.java_tool(version, "org.apache.zookeeper.server.SnapshotFormatter", [str(snaps[-1])])
    assert r.returncode == 0 and "Session Details" in r.stdout, r.stderr


def test_kill9_leaves_data(tmp_path):
    if "3.8" not in INSTALLED:
        pytest.skip("ZooKeeper 3.8 not installed")
    srv = zh.ZkServer("3.8", tmp_path / "d").start()
    try:
        srv.client().create("/crash", b"x")
    finally:
        srv.kill9()
    assert not srv.running()
    with zh.ZkServer("3.8", tmp_path / "d") as again:
        assert again.client().get("/crash")[0] == b"x"
