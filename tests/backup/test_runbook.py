"""The README's "Restore runbook" for DC/OS masters, run as written (modulo paths and ports) on a
real 3-member ZooKeeper 3.8 ensemble laid out as DC/OS masters (zkharness layout="dcos": dataDir
<member>/exhibitor/zookeeper/snapshot, dataLogDir …/transactions; myid written at every start,
as Exhibitor does). The ensemble is started once for the module; the fixture runs the steps and
records what it saw, the tests check them. The other runbook steps are run by
test_restore_ensemble.py (`restore --config`, `status --wait`), test_restore_admin_ensemble.py
(3.9 admin), test_backup_sources.py (`create --config`) and test_backup_admin.py (`create
--admin --auth @FILE`).

Before the loss: clients hold a kazoo Lock (A holds, B waits) and a Party; the served tree is
captured and, with nothing written in between, the backup taken on member 1 while it serves
(`zkbackup create --label nightly SNAPDIR --log-dir TXNDIR`, then `list nightly`, `show ID`);
more writes follow; the tree is captured again and the ensemble is lost (kill -9), and
`dcos-zk backup` (emulated after dcos/dcos packages/exhibitor/extra/dcos_zk_backup.py: a tar of
<exhibitor>/zookeeper as ./zookeeper, without myid) is taken of member 1's files. Then three
restores, each followed by starting every member and `zkbackup status --servers … --wait 120`:

* `zkbackup restore ID -o SNAPDIR --log-dir TXNDIR --drop-prefix /app/tmp` on each member (after
  a `--dry-run` that changes nothing, and one with `--to-zxid`);
* `zkbackup export ID -o zk.tar.gz --layout dcos`, then `dcos-zk restore zk.tar.gz` on each
  member (emulated the same way: the old zookeeper/ copied aside and deleted, the tar extracted
  into <exhibitor>);
* "Data dirs without zkbackup": `zkfilter datadir zk-backup.tar.gz -o zk-clean --report
  zk-report.json` on the dcos-zk backup as it is (a split data dir: snapshot/ and transactions/;
  the extract-by-hand form, `tar -xzf zk-backup.tar.gz -C zk-backup` then `zkfilter datadir
  zk-backup/zookeeper/snapshot --log-dir zk-backup/zookeeper/transactions`, must write the same
  bytes), then on each member `mv` the data dir's and the log dir's version-2 aside and `cp -a
  zk-clean/version-2` into the data dir.

Each time every member serves the backed-up persistent tree exactly (data, ACL, served stats),
with no ephemeral node, and a new sequential node gets a number above every one handed out before.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from backuplib import (READY, ZKFILTER, LocalStore, create_ok, explain, seq,
                       served_without_ephemerals, show, tree_diff, zkbackup)
from ensemblelib import dir_state, kazoo_client, srvr_zxid, stop_quietly, wait_for
from zkharness import ZkEnsemble, capture_tree, installed_versions

AUTH = [("digest", "ops:pw")]
LOCK, PARTY = "/app/lock", "/app/party"


def client(hosts: str, timeout: float = 10.0):
    return kazoo_client(hosts, timeout, AUTH)


def dcos_zk_backup(exhibitor: Path, backup: Path, tmp: Path) -> None:
    """`dcos-zk backup BACKUP` with ZooKeeper stopped (dcos_zk_backup.backup_zookeeper): copies
    <exhibitor>/zookeeper, tars the copy as ./zookeeper without myid and zookeeper.out."""
    copy = tmp / "zookeeper"
    shutil.copytree(exhibitor / "zookeeper", copy)

    def keep(ti: tarfile.TarInfo):
        return None if "myid" in ti.name or "zookeeper.out" in ti.name else ti
    with tarfile.open(name=str(backup), mode="x:gz") as tar:
        tar.add(name=str(copy), arcname="./zookeeper", filter=keep)
    shutil.rmtree(copy)


def dcos_zk_restore(exhibitor: Path, backup: Path, tmp: Path) -> None:
    """`dcos-zk restore BACKUP` with ZooKeeper stopped (dcos_zk_backup.restore_zookeeper): the
    current <exhibitor>/zookeeper copied aside and deleted, the archive extracted into
    <exhibitor> (no check of what it holds), the copy deleted."""
    zookeeper_dir = exhibitor / "zookeeper"
    aside = tmp / "zookeeper"
    shutil.copytree(zookeeper_dir, aside)
    shutil.rmtree(zookeeper_dir)
    with tarfile.open(name=str(backup), mode="r:gz") as tar:
        tar.extractall(path=str(exhibitor))
    shutil.rmtree(aside)


def run(*cmd) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, explain(p)
    return p


@pytest.fixture(scope="module")
def dcos(tmp_path_factory, zkbackup_bin):
    if "3.8" not in installed_versions():
        pytest.fail("ZooKeeper 3.8 is not installed (run scripts/install-deps.sh)")
    base = tmp_path_factory.mktemp("runbook-dcos")
    store = LocalStore(base / "backups")
    ens = ZkEnsemble("3.8", base / "masters", layout="dcos")
    res: dict = {"ens": ens, "store": store, "timings": {}}
    clients: list = []
    t_start = time.monotonic()

    def serve_and_capture(name: str) -> None:
        """Starts every member, runs the runbook's status --wait, captures each member's tree."""
        t = time.monotonic()
        for m in ens.members:
            m.start(wait=False)
        res[f"{name}_status"] = zkbackup(None, "status", "--servers", ens.hosts, "--wait", "120",
                                         timeout=180)
        res["timings"][f"{name}: start to serving"] = time.monotonic() - t
        trees = {}
        for m in ens.members:
            zk = client(m.hosts)
            try:
                zk.sync("/")
                trees[m.myid] = {n["path"]: n for n in capture_tree(zk)}
            finally:
                stop_quietly([zk])
        res[f"{name}_trees"] = trees
        zk = client(ens.hosts)     # a new contender, once every member's tree is captured
        try:
            res[f"{name}_new_seq"] = zk.create(LOCK + "/fresh-", b"", sequence=True, ephemeral=True)
        finally:
            stop_quietly([zk])
        for m in ens.members:
            m.stop()

    try:
        ens.start()
        res["timings"]["ensemble up"] = time.monotonic() - t_start
        setup = client(ens.hosts)
        clients.append(setup)
        from kazoo.security import make_digest_acl
        setup.create("/app/config", b"v=1", makepath=True)
        setup.set("/app/config", b"v=2")
        setup.create("/app/secret", b"s3cret", acl=[make_digest_acl("ops", "pw", all=True)])
        for i in range(3):
            setup.create("/app/jobs/job-", b"%d" % i, sequence=True, makepath=True)
            setup.create(f"/app/tmp/t-{i}", b"transient", makepath=True)
        a, b = client(ens.hosts), client(ens.hosts)
        clients += [a, b]
        for _ in range(2):
            with a.Lock(LOCK, "A"):
                pass
        lock_a = a.Lock(LOCK, "A")
        assert lock_a.acquire(timeout=10)
        lock_b = b.Lock(LOCK, "B")
        waiter = threading.Thread(target=lambda: lock_b.acquire(timeout=120), daemon=True)
        waiter.start()
        wait_for(lambda: len(lock_a.contenders()) == 2, 10, "2 lock contenders")
        a.Party(PARTY, "A").join()
        setup.sync(LOCK)
        res["max_seq"] = max([seq(c) for c in setup.get_children(LOCK)] +
                             [seq(c) for c in setup.get_children("/app/jobs")])

        # The served tree, then the backup on member 1 while it serves.
        ports = [m.port for m in ens.members]
        wait_for(lambda: len({srvr_zxid(p) for p in ports}) == 1, 10, "members at the same zxid")
        z0 = srvr_zxid(ports[0])
        res["before"] = capture_tree(setup)
        assert {srvr_zxid(p) for p in ports} == {z0}, "something was written during the capture"
        m1 = ens.members[0]
        bid = create_ok(store, "nightly", m1.datadir, "--log-dir", m1.log_dir)
        res["bid"] = bid
        res["list"] = zkbackup(store, "list", "nightly")
        res["show"] = show(store, bid)

        # More writes; the tree at the loss; the loss; dcos-zk backup of member 1.
        setup.set("/app/config", b"v=after")
        setup.create("/after/n", b"after", makepath=True)
        setup.create("/app/jobs/job-", b"after", sequence=True)
        wait_for(lambda: len({srvr_zxid(p) for p in ports}) == 1, 10, "members at the same zxid")
        res["at_loss"] = capture_tree(setup)
        for m in ens.members:
            m.kill9()
        lock_b.cancel()
        stop_quietly(clients)
        clients.clear()
        zk_backup = base / "zk-backup.tar.gz"
        dcos_zk_backup(m1.exhibitor_dir, zk_backup, base / "tmp-dcos-zk-backup")
        res["dcos_zk_backup_names"] = tarfile.open(zk_backup).getnames()

        # 1. zkbackup restore -o SNAPDIR --log-dir TXNDIR on each member (a dry run first).
        t = time.monotonic()
        res["dry"] = []
        res["restores"] = []
        for m in ens.members:
            st = (dir_state(m.datadir), dir_state(m.log_dir))
            p = zkbackup(store, "restore", bid, "-o", m.datadir, "--log-dir", m.log_dir,
                         "--drop-prefix", "/app/tmp", "--dry-run")
            res["dry"].append((p, st == (dir_state(m.datadir), dir_state(m.log_dir))))
            res["restores"].append(zkbackup(store, "restore", bid, "-o", m.datadir, "--log-dir",
                                            m.log_dir, "--drop-prefix", "/app/tmp"))
        st = (dir_state(m1.datadir), dir_state(m1.log_dir))
        res["dry_to_zxid"] = zkbackup(store, "restore", bid, "-o", m1.datadir, "--log-dir",
                                      m1.log_dir, "--to-zxid", hex(z0), "--dry-run")
        res["dry_to_zxid_unchanged"] = st == (dir_state(m1.datadir), dir_state(m1.log_dir))
        res["after_restore_dirs"] = [(sorted(p.name for p in m.datadir.iterdir()),
                                      sorted(p.name for p in m.log_dir.iterdir()))
                                     for m in ens.members]
        res["timings"]["restore -o --log-dir x3"] = time.monotonic() - t
        serve_and_capture("restore")

        # 2. zkbackup export --layout dcos, dcos-zk restore on each member.
        t = time.monotonic()
        zk_tar = base / "zk.tar.gz"
        res["export"] = zkbackup(store, "export", bid, "-o", zk_tar, "--layout", "dcos")
        res["export_names"] = tarfile.open(zk_tar).getnames()
        for m in ens.members:
            dcos_zk_restore(m.exhibitor_dir, zk_tar, base / f"tmp-dcos-zk-restore-{m.myid}")
        res["after_dcos_restore"] = [sorted(p.relative_to(m.exhibitor_dir).as_posix()
                                            for p in m.exhibitor_dir.rglob("*"))
                                     for m in ens.members]
        res["timings"]["export + dcos-zk restore x3"] = time.monotonic() - t
        serve_and_capture("dcos")

        # 3. Without zkbackup: zkfilter datadir on the dcos-zk backup as it is (its data files
        # are in two folders, snapshot/ and transactions/: a split data dir), version-2 replaced.
        # The extract-by-hand form (--log-dir) must write the same bytes.
        clean, report = base / "zk-clean", base / "zk-report.json"
        res["zkfilter_tar"] = run(ZKFILTER, "datadir", zk_backup, "-o", clean, "--report", report)
        unpacked, by_hand = base / "zk-backup", base / "zk-clean-by-hand"
        run("mkdir", unpacked)
        run("tar", "-xzf", zk_backup, "-C", unpacked)
        run(ZKFILTER, "datadir", unpacked / "zookeeper/snapshot", "--log-dir",
            unpacked / "zookeeper/transactions", "-o", by_hand)
        res["clean_state"], res["by_hand_state"] = dir_state(clean), dir_state(by_hand)
        res["report"] = json.loads(report.read_text())
        for m in ens.members:
            run("mv", m.datadir / "version-2", m.datadir / "version-2.old")
            run("mv", m.log_dir / "version-2", m.log_dir / "version-2.old")
            run("cp", "-a", clean / "version-2", m.datadir / "")
        serve_and_capture("zkfilter")
        yield res
    finally:
        stop_quietly(clients)
        ens.stop()
        res["timings"]["total"] = time.monotonic() - t_start
        print("\nrunbook (DC/OS) timings: " +
              ", ".join(f"{k}={v:.1f}s" for k, v in res["timings"].items()))


def check_served(res, name: str, expected: dict[str, dict]) -> None:
    st = res[f"{name}_status"]
    assert st.returncode == 0, explain(st)
    expected = dict(expected)
    expected.pop("/zookeeper/config", None)
    assert {"/app/config", "/app/secret", LOCK, PARTY} <= set(expected)
    for myid, got in res[f"{name}_trees"].items():
        got = dict(got)
        got.pop("/zookeeper/config", None)
        ephemeral = [p for p, n in got.items() if n["stat"]["ephemeralOwner"]]
        assert not ephemeral, (myid, ephemeral)
        problems = tree_diff(expected, got)
        assert not problems, f"{name}: member {myid}:\n" + "\n".join(problems[:20])
    assert seq(res[f"{name}_new_seq"]) > res["max_seq"], (res[f"{name}_new_seq"], res["max_seq"])


def test_backup_of_a_serving_master(dcos):
    """The zkbackup section's DC/OS commands: create with the data dir and --log-dir while the
    master serves, list, show (what a restore drops)."""
    lst = dcos["list"]
    assert lst.returncode == 0 and dcos["bid"] in lst.stdout and READY in lst.stdout, explain(lst)
    man = dcos["show"]
    groups = {(g["parent"], g["recipe"]): g["count"] for g in man["ephemeralParents"]}
    assert groups.get((LOCK, "lock")) == 2 and groups.get((PARTY, "party")) == 1, groups


def test_restore_with_data_and_log_dir(dcos):
    for p, unchanged in dcos["dry"]:
        assert p.returncode == 0, explain(p)
        assert unchanged, "a dry run changed the member's folders"
        assert "dry run" in p.stderr, explain(p)
    p = dcos["dry_to_zxid"]
    assert p.returncode == 0 and dcos["dry_to_zxid_unchanged"], explain(p)
    for p in dcos["restores"]:
        assert p.returncode == 0, explain(p)
    for data, logs in dcos["after_restore_dirs"]:
        assert "myid" in data and "version-2" in data, data
        assert any(n.startswith("version-2.before-restore-") for n in data), data
        assert any(n.startswith("version-2.before-restore-") for n in logs), logs
    check_served(dcos, "restore", served_without_ephemerals(dcos["before"], ["/app/tmp"]))


def test_dcos_export_restored_by_dcos_zk(dcos):
    x = dcos["export"]
    assert x.returncode == 0, explain(x)
    names = dcos["export_names"]
    assert "zookeeper/transactions/version-2" in [n.rstrip("/") for n in names], names
    snaps = [n for n in names if re.fullmatch(r"zookeeper/snapshot/version-2/snapshot\.[0-9a-f]+", n)]
    assert len(snaps) == 1, names
    assert not [n for n in names if n.endswith("myid")], names
    for f in ("acceptedEpoch", "currentEpoch"):   # the fence's epoch: a quorum forms
        assert f"zookeeper/snapshot/version-2/{f}" in names, names
    # dcos-zk restore left exactly the exported tree (myid comes back when the member starts,
    # as Exhibitor writes it).
    for tree in dcos["after_dcos_restore"]:
        assert "zookeeper/snapshot/version-2" in tree and "zookeeper/transactions/version-2" in tree
        assert not [p for p in tree if "before-restore" in p or p.endswith("myid")], tree
    check_served(dcos, "dcos", served_without_ephemerals(dcos["before"]))


def test_dcos_zk_backup_filtered_with_zkfilter(dcos):
    # The tar as it is: a split data dir (snapshot/ and transactions/), read as the data dir and
    # its log dir, said so; the same bytes as the extract-by-hand form with --log-dir.
    names = dcos["dcos_zk_backup_names"]
    assert any(n.startswith("./zookeeper/transactions/version-2/log.") for n in names), names
    assert any(n.startswith("./zookeeper/snapshot/version-2/snapshot.") for n in names), names
    assert not [n for n in names if n.endswith("myid")], names
    t = dcos["zkfilter_tar"]
    assert ("archive holds a split data dir: snapshots in ./zookeeper/snapshot/version-2, logs in "
            "./zookeeper/transactions/version-2") in t.stderr, explain(t)
    assert any(n.startswith("version-2/snapshot.") for n in dcos["clean_state"]), dcos["clean_state"]
    assert dcos["clean_state"] == dcos["by_hand_state"]
    rep = dcos["report"]
    assert rep["details"]["splitDataDir"] == {"snapshots": "./zookeeper/snapshot/version-2",
                                              "logs": "./zookeeper/transactions/version-2"}, rep["details"]
    assert rep["dropped"]["ephemeral"]["count"] >= 3, rep["dropped"]
    assert any(g["recipe"] == "lock" for g in rep["ephemeralGroups"]), rep["ephemeralGroups"]
    check_served(dcos, "zkfilter", served_without_ephemerals(dcos["at_loss"]))
