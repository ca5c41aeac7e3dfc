"""zkfilter against real ZooKeeper servers: the "back in time" problem, end to end.

Every test here writes data with a real server, filters it with the `zkfilter` binary and starts
a fresh real server (3.8 and 3.9, and 3.4 for 3.4 data) on the result, then reads the tree back
through kazoo.  See tests/harness/zkharness.py for how servers are run (127.0.0.1, free ports,
stopped by PID).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from zkharness import ZkServer, capture_tree, installed_versions
from conftest import ZKFILTER, ZKDUMP, served_without_ephemerals, tree_by_path

LOCK = "/app/locks/orders"
AUTH = {"auth_data": [("digest", "ops:pw")]}


def zkfilter(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(ZKFILTER), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"zkfilter {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p


def dump_counts(srv: ZkServer) -> tuple[set[int], int]:
    """(session ids the server tracks, number of sessions with ephemerals), from the `dump`
    four-letter word."""
    text = srv.four_letter("dump")
    sessions: set[int] = set()
    ephem = None
    in_tracker = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("SessionTracker dump"):
            in_tracker = True
        elif line.startswith("Sessions with Ephemerals ("):
            in_tracker = False
            ephem = int(line.split("(")[1].split(")")[0])
        elif in_tracker and line.startswith("0x"):
            sessions.add(int(line, 16))
    assert ephem is not None, text
    return sessions, ephem


def contend_for_lock(srv: ZkServer) -> dict:
    """Three clients contend for a kazoo Lock: A acquires and releases, B acquires, C waits.
    Also writes persistent data with ACLs, a sequential series and a transient prefix."""
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

    setup = srv.client(timeout=30)
    setup.ensure_path("/app/config")
    setup.set("/app/config", b"v=1")
    setup.create("/app/secret", b"s3cret", acl=[make_digest_acl("ops", "pw", all=True)])
    for i in range(3):
        setup.create("/app/jobs/job-", b"%d" % i, sequence=True, makepath=True)
    setup.ensure_path("/app/tmp/cache")
    setup.create("/app/tmp/cache/entry", b"transient")
    setup.set_acls("/app/config", OPEN_ACL_UNSAFE)

    a, b, c = (srv.client(timeout=30) for _ in range(3))
    lock_a = a.Lock(LOCK, "A")
    assert lock_a.acquire(timeout=10)
    lock_b, lock_c = b.Lock(LOCK, "B"), c.Lock(LOCK, "C")
    got = {}
    threads = [threading.Thread(target=lambda lk=lk, n=n: got.__setitem__(n, lk.acquire(timeout=60)), daemon=True)
               for n, lk in (("B", lock_b), ("C", lock_c))]
    threads[0].start()
    deadline = time.monotonic() + 10
    while len(lock_a.contenders()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    threads[1].start()
    while len(lock_a.contenders()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_a.contenders() == ["A", "B", "C"], lock_a.contenders()
    lock_a.release()
    threads[0].join(10)
    assert got.get("B") is True and lock_b.is_acquired
    children = setup.get_children(LOCK)
    seqs = [int(ch[-10:]) for ch in children]
    setup.stop()
    setup.close()
    return {"holder": "B", "lock_children": sorted(children), "max_seq": max(seqs)}


def assemble_filtered(backup: Path, dest: Path) -> Path:
    """Filters the snapshot ZooKeeper would restore from and the logs after it, one file at a
    time (`zkfilter snapshot`, `zkfilter log --snapshot`), into a new data dir."""
    src = backup / "version-2"
    zxid_of = lambda p: int(p.name.split(".")[1], 16)  # noqa: E731
    # The newest snapshot ZooKeeper would take: a server killed while writing one leaves it
    # empty or cut (ZooKeeper's cheap check: plain snapshots end with 00 00 00 01 '/').
    def complete(p: Path) -> bool:
        b = p.read_bytes()
        return len(b) >= 10 and b[-5:] == b"\x00\x00\x00\x01/"
    snaps = sorted((p for p in src.iterdir() if p.name.startswith("snapshot.") and complete(p)),
                   key=zxid_of)
    snap = snaps[-1]
    logs = sorted((p for p in src.iterdir() if p.name.startswith("log.")), key=zxid_of)
    start = max((l for l in logs if zxid_of(l) <= zxid_of(snap)), key=zxid_of)
    out = dest / "version-2"
    out.mkdir(parents=True)
    zkfilter("snapshot", str(snap), "-o", str(out / snap.name))
    earlier: list[str] = []
    for l in logs:
        if zxid_of(l) >= zxid_of(start):
            # The logs before this one: an ephemeral created there and deleted here is known.
            after = [a for e in earlier for a in ("--after", e)]
            zkfilter("log", str(l), "-o", str(out / l.name), "--snapshot", str(snap), *after)
            earlier.append(str(l))
    return dest


def capture(srv: ZkServer) -> list[dict]:
    zk = srv.client(timeout=30, **AUTH)
    try:
        return capture_tree(zk)
    finally:
        zk.stop()
        zk.close()


@pytest.fixture(scope="module", params=["sigkill", "clean-stop"])
def backed_up(request, tmp_path_factory):
    """A 3.8 server with a contended lock, then a copy of its data dir taken after the server
    was killed (SIGKILL) or stopped cleanly with the sessions still open."""
    base = tmp_path_factory.mktemp(f"backup-{request.param}")
    data = base / "live"
    srv = ZkServer("3.8", data, snap_count=25, tick_time=2000, max_session_timeout=60000).start()
    try:
        info = contend_for_lock(srv)
        before = capture(srv)
    finally:
        if request.param == "sigkill":
            srv.kill9()
        else:
            srv.stop(close_clients=False)
    backup = base / "backup"
    shutil.copytree(data, backup)
    return {"mode": request.param, "backup": backup, "before": before, **info}


def test_without_zkfilter_the_stale_lock_comes_back(backed_up, tmp_path):
    """The problem is real: a plain copy of the data dir brings B's lock node (and C's waiting
    node) back, owned by sessions whose clients are long gone."""
    plain = tmp_path / "plain"
    shutil.copytree(backed_up["backup"], plain)
    with ZkServer("3.8", plain) as srv:
        zk = srv.client(**AUTH)
        children = sorted(zk.get_children(LOCK))
        owners = [zk.exists(f"{LOCK}/{ch}").ephemeralOwner for ch in children]
        sessions, with_ephemerals = dump_counts(srv)
    assert children == backed_up["lock_children"], "the stale lock nodes came back"
    assert all(o != 0 for o in owners)
    assert with_ephemerals >= 2


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_filtered_datadir_restores_cleanly(backed_up, tmp_path, version):
    if version not in installed_versions():
        pytest.fail(f"ZooKeeper {version} is not installed (run scripts/install-deps.sh)")
    out = tmp_path / "restored"
    report = tmp_path / "report.json"
    zkfilter("datadir", str(backed_up["backup"]), "-o", str(out), "--drop-prefix", "/app/tmp",
             "--report", str(report))
    rep = json.loads(report.read_text())
    assert rep["dropped"]["ephemeral"]["count"] >= 2
    assert {g["recipe"] for g in rep["ephemeralGroups"]} >= {"lock"}
    assert any(s["openAtEnd"] for s in rep["sessions"])
    # The output is a data dir with one snapshot and the epochs (when the input had them).
    files = sorted(p.name for p in (out / "version-2").iterdir())
    assert len([f for f in files if f.startswith("snapshot.")]) == 1, files

    expected = served_without_ephemerals(backed_up["before"], drop_prefixes=["/app/tmp"])
    with ZkServer(version, out) as srv:
        zk = srv.client(**AUTH)
        after = capture_tree(zk)
        sessions, with_ephemerals = dump_counts(srv)
        assert with_ephemerals == 0
        # No session came back from the backup: the only one is this test's own client.
        assert sessions == {zk.client_id[0]}, sessions
        assert not sessions & {int(x["id"], 16) for x in rep["sessions"]}
        # A new sequential child gets a number higher than any the parent ever handed out.
        new = zk.create(LOCK + "/fresh-", b"", sequence=True)
        assert int(new[-10:]) > backed_up["max_seq"]
        log = srv.log_text()
    got = tree_by_path(after)  # captured before "fresh-" was created
    exp = tree_by_path(expected)
    # /zookeeper/config is rewritten by a server for itself at start-up.
    for t in (got, exp):
        t.pop("/zookeeper/config", None)
    assert sorted(got) == sorted(exp)
    for path in exp:
        assert got[path] == exp[path], path
    assert "Digests are not matching" not in log
    assert "CRC" not in log or "CRC check failed" not in log


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_filtered_log_and_snapshot_load_without_digest_or_checksum_errors(backed_up, tmp_path, version):
    """`zkfilter snapshot` + `zkfilter log --snapshot` on the files ZooKeeper would restore,
    assembled into a data dir: 3.8 and 3.9 servers load it with no digest mismatch and no checksum
    error, and serves the same tree as `zkfilter datadir`'s output."""
    out = assemble_filtered(backed_up["backup"], tmp_path / "assembled")
    whole = tmp_path / "whole"
    zkfilter("datadir", str(backed_up["backup"]), "-o", str(whole))
    with ZkServer(version, out) as srv:
        zk = srv.client(**AUTH)
        assembled = capture_tree(zk)
        log = srv.log_text()
        _, with_ephemerals = dump_counts(srv)
    with ZkServer(version, whole) as srv:
        zk = srv.client(**AUTH)
        reference = capture_tree(zk)
    assert with_ephemerals == 0
    assert "Digests are not matching" not in log, log[-3000:]
    assert "digest mismatch" not in log.lower(), log[-3000:]
    assert "CRC check failed" not in log and "CRC corruption" not in log
    a, r = tree_by_path(assembled), tree_by_path(reference)
    for t in (a, r):
        t.pop("/zookeeper/config", None)
    assert a == r


def test_admin_restore_stream_is_accepted_by_39(backed_up, tmp_path):
    """`--admin-restore` writes the stream ZooKeeper 3.9's admin `restore` command accepts."""
    if "3.9" not in installed_versions():
        pytest.fail("ZooKeeper 3.9 is not installed (run scripts/install-deps.sh)")
    stream = tmp_path / "restore.snap"
    zkfilter("datadir", str(backed_up["backup"]), "--admin-restore", str(stream))
    expected = served_without_ephemerals(backed_up["before"])
    with ZkServer("3.9", tmp_path / "fresh", admin=True,
                  jvm_flags=["-Dzookeeper.admin.rateLimiterIntervalInMS=1"]) as srv:
        res = srv.admin_restore(stream.read_bytes())
        assert res.get("error") in (None, "", "null"), res
        zk = srv.client(**AUTH)
        after = tree_by_path(capture_tree(zk))
        _, with_ephemerals = dump_counts(srv)
    assert with_ephemerals == 0
    exp = tree_by_path(expected)
    for t in (after, exp):
        t.pop("/zookeeper/config", None)
    assert sorted(after) == sorted(exp)
    for p in exp:
        assert after[p]["data_b64"] == exp[p]["data_b64"], p
        assert after[p]["acl"] == exp[p]["acl"], p
        assert after[p]["stat"]["czxid"] == exp[p]["stat"]["czxid"], p


def test_34_data_stays_loadable_by_34(tmp_path):
    if "3.4" not in installed_versions():
        pytest.fail("ZooKeeper 3.4 is not installed (run scripts/install-deps.sh)")
    data = tmp_path / "live"
    srv = ZkServer("3.4", data, snap_count=20, max_session_timeout=60000).start()
    try:
        contend_for_lock(srv)
        before = capture(srv)
    finally:
        srv.kill9()
    out = tmp_path / "restored"
    zkfilter("datadir", str(data), "-o", str(out))
    assembled = assemble_filtered(data, tmp_path / "assembled")
    exp = tree_by_path(served_without_ephemerals(before))
    for restored in (out, assembled):
        with ZkServer("3.4", restored) as srv:
            zk = srv.client(**AUTH)
            after = tree_by_path(capture_tree(zk))
            _, with_ephemerals = dump_counts(srv)
            log = srv.log_text()
        assert with_ephemerals == 0, restored
        assert sorted(after) == sorted(exp), restored
        for p in exp:
            assert after[p] == exp[p], (restored, p)
        assert "CRC check failed" not in log


def test_dry_run_writes_nothing_and_reports(backed_up, tmp_path):
    out = tmp_path / "never"
    p = zkfilter("datadir", str(backed_up["backup"]), "-o", str(out), "--dry-run", "--report", "-")
    assert not out.exists()
    rep = json.loads(p.stdout)
    assert rep["dryRun"] is True
    assert rep["dropped"]["ephemeral"]["count"] >= 2
    # An earlier output is not replaced without --force.
    (out / "version-2").mkdir(parents=True)
    (out / "version-2" / "snapshot.5").write_bytes(b"earlier")
    p = zkfilter("datadir", str(backed_up["backup"]), "-o", str(out), check=False)
    assert p.returncode == 2 and "--force" in p.stderr
    assert [f.name for f in out.rglob("*")] == ["version-2", "snapshot.5"]
    assert (out / "version-2" / "snapshot.5").read_bytes() == b"earlier"
