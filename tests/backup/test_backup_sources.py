"""zkbackup on awkward data dirs, all written by a real ZooKeeper 3.8 (snapCount 50, so there are
many logs and snapshots): a missing middle log, a snapshot still being written, a log purged while
`create` copies, a separate dataLogDir given by --log-dir or by a zoo.cfg.

"Correct" means: the backup's files, replayed (zkdump diff --zxid), give the same tree as the
original data dir replayed to the backup's lastZxid, and lastZxid is where the files end.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from backuplib import (BACKUPS, ERROR, READY, ZKDUMP, ZkServer, backup_id_from,
                       check_archive_against_manifest, create_ok, explain, hexes, hexint,
                       list_json, log_txn_zxids, run_tool, show, zkbackup, zkbackup_popen,
                       zxid_of_name)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A stopped 3.8 server's data dir with ≥ 6 logs and snapshots, sessions left open with
    ephemerals, and txns after the newest snapshot."""
    base = tmp_path_factory.mktemp("written")
    data = base / "data"
    srv = ZkServer("3.8", data, snap_count=50, max_session_timeout=60000).start()
    try:
        zk = srv.client()
        holder = srv.client()
        holder.create("/eph-holder", b"x", ephemeral=True)
        lock = holder.Lock("/locks/a", "holder")
        assert lock.acquire(timeout=10)
        for i in range(500):
            zk.create(f"/n/{i:04d}", b"v%d" % i, makepath=True)
            if i % 3 == 0:
                zk.set(f"/n/{i:04d}", b"w%d" % i)
            if i % 7 == 0 and i:
                zk.delete(f"/n/{i - 1:04d}")
        v2 = data / "version-2"
        deadline = time.monotonic() + 20
        # A few more txns after the newest snapshot (the tail of the last log).
        for j in range(10):
            zk.create(f"/tail/{j}", b"t", makepath=True)
        while time.monotonic() < deadline:
            snaps = sorted(v2.glob("snapshot.*"), key=lambda p: zxid_of_name(p.name))
            logs = sorted(v2.glob("log.*"), key=lambda p: zxid_of_name(p.name))
            last_log_zx, _ = log_txn_zxids(logs[-1])
            if last_log_zx and last_log_zx[-1] > zxid_of_name(snaps[-1].name):
                break
            zk.create("/tail/more-", b"t", sequence=True)
    finally:
        srv.stop(close_clients=False)
    logs = sorted(v2.glob("log.*"), key=lambda p: zxid_of_name(p.name))
    snaps = sorted(v2.glob("snapshot.*"), key=lambda p: zxid_of_name(p.name))
    assert len(logs) >= 6 and len(snaps) >= 6, (logs, snaps)
    return data


def copy_datadir(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def files(datadir: Path, prefix: str) -> list[Path]:
    return sorted((datadir / "version-2").glob(prefix + ".*"), key=lambda p: zxid_of_name(p.name))


def last_txn(datadir: Path) -> int:
    return log_txn_zxids(files(datadir, "log")[-1])[0][-1]


def assert_same_tree(backup_dir: Path, original: Path, zxid: int) -> None:
    p = run_tool(ZKDUMP, "diff", "--json", backup_dir, original, "--zxid", hex(zxid), check=False)
    assert p.returncode == 0, f"the backup replayed to {hex(zxid)} differs from the data dir:\n" + \
        p.stdout[-3000:] + p.stderr[-2000:]


def error_backup(store, label: str) -> dict:
    es = list_json(store, label)
    assert len(es) == 1, es
    man = show(store, es[0]["id"])
    return man


def test_missing_middle_log_is_an_error_naming_the_zxids(store, written, tmp_path):
    """Only an older snapshot is left and a log between it and the newest log is gone: exit 1,
    a STATUS_ERROR backup whose error (and stderr) name the missing zxids."""
    dd = copy_datadir(written, tmp_path / "dd")
    snaps = files(dd, "snapshot")
    keep = snaps[2]                       # an older snapshot (not snapshot.0)
    for s in snaps[3:]:
        s.unlink()
    logs = files(dd, "log")
    start = max(i for i, l in enumerate(logs) if zxid_of_name(l.name) <= zxid_of_name(keep.name) + 1)
    after = logs[start:]
    assert len(after) >= 3, (keep, after)
    gone = after[1]
    nxt = after[2]
    gone.unlink()
    lo, hi = zxid_of_name(gone.name), zxid_of_name(nxt.name) - 1
    state = store.state()
    p = zkbackup(store, "create", "--label", "gap", str(dd))
    assert p.returncode == 1, explain(p)
    assert {lo, hi} <= hexes(p.stderr), \
        f"stderr should name the missing zxids {hex(lo)}..{hex(hi)}\n" + explain(p)
    man = error_backup(store, "gap")
    assert man["status"] == ERROR, man
    assert {lo, hi} <= hexes(man["error"] or ""), \
        f"the manifest's error should name the missing zxids {hex(lo)}..{hex(hi)}: {man['error']!r}"
    assert store.state() != state, "an ERROR backup is recorded"
    p = zkbackup(store, "verify", man["id"])
    assert p.returncode != 0, explain(p)


def test_partial_snapshot_is_passed_over(store, written, tmp_path):
    """A snapshot being written (the first half of a real one, named for a later zxid) is passed
    over: the backup is READY, built on the previous snapshot, says so, and is correct."""
    dd = copy_datadir(written, tmp_path / "dd")
    snaps = files(dd, "snapshot")
    prev = snaps[-1]
    z = last_txn(dd)
    assert z > zxid_of_name(prev.name)
    partial = prev.with_name(f"snapshot.{z:x}")
    partial.write_bytes(prev.read_bytes()[: prev.stat().st_size // 2])
    p = zkbackup(store, "create", "--label", "partial", str(dd))
    assert p.returncode == 0, explain(p)
    bid = backup_id_from(p, "partial")
    man = show(store, bid)
    assert man["status"] == READY, man
    names = [Path(f["name"]).name for f in man["files"]]
    assert prev.name in names and partial.name not in names, names
    said = p.stderr + json.dumps(man)
    assert partial.name in said, \
        f"stderr or the manifest should say {partial.name} was passed over\n" + explain(p)
    facts = check_archive_against_manifest(store, bid, man, tmp_path, dd / "version-2")
    assert hexint(man["lastZxid"]) == z, man
    assert_same_tree(facts["datadir"], written, z)


def test_log_purged_mid_copy_is_never_a_ready_backup_missing_data(local_store, written, tmp_path):
    """The first log `create` chose is deleted while it pauses before copying
    (ZKBACKUP_TEST_PAUSE_MS): after a fresh listing the data dir has a gap, so the result is a
    clear error (naming the log or its zxids), or - if zkbackup still got the whole log - a
    correct READY backup; never a READY backup missing data."""
    dd = copy_datadir(written, tmp_path / "dd")
    snap = files(dd, "snapshot")[-1]
    logs = files(dd, "log")
    first = max((l for l in logs if zxid_of_name(l.name) <= zxid_of_name(snap.name) + 1),
                key=lambda l: zxid_of_name(l.name))
    first_zx, _ = log_txn_zxids(first)
    z = last_txn(dd)
    original = copy_datadir(dd, tmp_path / "original")
    proc = zkbackup_popen(local_store, "create", "--label", "purged", str(dd),
                          env={"ZKBACKUP_TEST_PAUSE_MS": "1500"})
    backups = local_store.root / BACKUPS
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not list(backups.glob("*/lease.json")):
        time.sleep(0.02)
    assert list(backups.glob("*/lease.json")), "no lease.json appeared"
    time.sleep(0.4)
    assert proc.poll() is None, "create ended before the purge"
    first.unlink()
    out, err = proc.communicate(timeout=120)
    rc = proc.returncode
    es = list_json(local_store, "purged")
    print(f"purged {first.name} mid-copy: exit {rc}\n{err}")
    if rc == 0:
        man = show(local_store, out.strip())
        assert man["status"] == READY
        facts = check_archive_against_manifest(local_store, out.strip(), man, tmp_path)
        assert_same_tree(facts["datadir"], original, hexint(man["lastZxid"]))
        assert hexint(man["lastZxid"]) == z
    else:
        assert rc in (1, 2), f"exit {rc}\n{out}\n{err}"
        assert first.name in err or {first_zx[0], first_zx[-1]} & hexes(err), \
            f"the error should name {first.name} or its zxids:\n{err}"
        for e in es:
            assert e["status"] != READY, es
        if rc == 2:
            assert not es, f"exit 2 means nothing stored: {es}"


def test_separate_log_dir_by_flag_and_by_config(local_store, written, tmp_path):
    """A server with dataLogDir: `create DATADIR --log-dir DIR` and `create --config zoo.cfg`
    both give READY, correct backups of the same files."""
    snaps_dir = copy_datadir(written, tmp_path / "snaps")
    logs_dir = tmp_path / "txnlogs"
    (logs_dir / "version-2").mkdir(parents=True)
    for l in files(snaps_dir, "log"):
        shutil.move(str(l), logs_dir / "version-2" / l.name)
    z = last_txn(written)
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"tickTime=2000\ndataDir={snaps_dir}\ndataLogDir={logs_dir}\nclientPort=2181\n")
    b1 = create_ok(local_store, "logdir", str(snaps_dir), "--log-dir", str(logs_dir))
    b2 = create_ok(local_store, "config", "--config", str(cfg))
    m1, m2 = show(local_store, b1), show(local_store, b2)
    for bid, man in ((b1, m1), (b2, m2)):
        assert man["status"] == READY and man["source"]["kind"] == "datadir", man
        assert hexint(man["lastZxid"]) == z, man
        facts = check_archive_against_manifest(local_store, bid, man, tmp_path)
        assert_same_tree(facts["datadir"], written, z)
    assert [f["sha256"] for f in m1["files"]] == [f["sha256"] for f in m2["files"]]
