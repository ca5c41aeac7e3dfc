"""zkformat's writers against real servers: a snapshot of a tree built in code and a txn log
written by TxnLogWriter (with TxnDigests computed by zkformat) are loaded by ZooKeeper 3.8 and
3.9, which then serve exactly the expected tree, stats included, and report no digest mismatch
and no checksum problem. The data dir comes from `zkformat/examples/build_datadir.rs`."""

from __future__ import annotations

import json
import subprocess

import pytest

from zkharness import ZkServer, capture_tree, installed_versions
from conftest import ROOT, tree_by_path

EXAMPLE = ROOT / "target" / "debug" / "examples" / "build_datadir"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not EXAMPLE.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "zkformat", "--example", "build_datadir"], cwd=ROOT, check=True)
    out = tmp_path_factory.mktemp("built")
    subprocess.run([str(EXAMPLE), str(out / "data")], check=True, capture_output=True)
    return out / "data"


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_server_loads_what_our_writers_wrote(built, version, tmp_path):
    if version not in installed_versions():
        pytest.fail(f"ZooKeeper {version} is not installed (run scripts/install-deps.sh)")
    import shutil
    data = tmp_path / "data"
    shutil.copytree(built, data)
    expected = json.loads((data / "expected-tree.json").read_text())
    with ZkServer(version, data, jvm_flags=["-Dzookeeper.extendedTypesEnabled=true"]) as srv:
        zk = srv.client(auth_data=[("digest", "ops:pw")])
        served = tree_by_path(capture_tree(zk))
        log = srv.log_text()
        zxid = srv.four_letter("srvr")
    exp = tree_by_path(expected["nodes"])
    # The server rewrites /zookeeper/config for itself at start-up.
    for t in (served, exp):
        t.pop("/zookeeper/config", None)
    assert sorted(served) == sorted(exp)
    for path in exp:
        assert served[path] == exp[path], path
    # The server continues from our last zxid (the test's own session took the next one).
    served_zxid = int(next(l for l in zxid.splitlines() if l.startswith("Zxid:")).split()[1], 16)
    assert int(expected["lastZxid"], 16) < served_zxid <= int(expected["lastZxid"], 16) + 2, zxid
    assert "Digests are not matching" not in log and "digest mismatch" not in log.lower(), log[-3000:]
    assert "CRC" not in log, log[-3000:]
