"""Hot backups of a LIVE ZooKeeper data dir (3.8 and 3.9) under a steady write load, restored on
fresh servers of the same version and checked write by write.

The load (backuplib.Load) records the zxid of every acknowledged write. For each backup:

* lastZxid >= the zxid of every write acknowledged before `create` started;
* the archive matches the manifest and zkdump (files, sizes, sha256, exact copies of the live
  files, logs cut after their last complete entry, firstZxid/lastZxid = what the files hold);
* `zkfilter datadir data.tar.gz` + a fresh server serves every write with zxid <= lastZxid with
  its data, no write after it, no ephemeral node and no session from the backup.

Each version's server is started once for the module and keeps running (and writing) while the
backups are taken.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from backuplib import (BACKUPS, READY, Load, ZkServer, backup_id_from,
                       check_archive_against_manifest, check_restored, explain, hexint,
                       list_json, show, zkbackup, zkbackup_popen, zxid_of_name)

BACKUPS_PER_RUN = 3


def wait_for(cond, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module", params=["3.8", "3.9"])
def live(request, tmp_path_factory):
    version = request.param
    base = tmp_path_factory.mktemp(f"live-{version}")
    data = base / "data"
    srv = ZkServer(version, data, snap_count=50, max_session_timeout=60000).start()
    load = None
    try:
        load = Load(srv).start()
        v2 = data / "version-2"
        wait_for(lambda: len(list(v2.glob("snapshot.*"))) >= 4, 60, "4 snapshots")
        yield {"version": version, "srv": srv, "load": load, "data": data}
    finally:
        if load is not None:
            load.stop()
        srv.stop()


def take_backup(store, live, label: str, tmp_path: Path, env=None) -> dict:
    load = live["load"]
    t0 = time.monotonic()
    acked = load.acked_max_zxid(t0)
    p = zkbackup(store, "create", f"--label={label}", str(live["data"]), env=env)
    assert p.returncode == 0, explain(p)
    bid = backup_id_from(p, label)
    man = show(store, bid)
    assert man["status"] == READY, man
    assert man["source"]["kind"] == "datadir", man["source"]
    if live["version"] == "3.9":    # 3.9 snapshots have a last-zxid section: no doubt there
        assert man["zookeeperVersion"].startswith("3.9"), man["zookeeperVersion"]
    last = hexint(man["lastZxid"])
    assert last >= acked, \
        f"lastZxid {hex(last)} < {hex(acked)}, a write acknowledged before `create` started"
    facts = check_archive_against_manifest(store, bid, man, tmp_path, live["data"] / "version-2")
    archive = tmp_path / f"{bid}.tar.gz"
    archive.write_bytes(facts["archive"])
    p = zkbackup(store, "verify", bid)
    assert p.returncode == 0, explain(p)
    return {"id": bid, "manifest": man, "last": last, "acked": acked, "archive": archive,
            "elapsed": time.monotonic() - t0}


def test_hot_backups_of_a_live_datadir_restore_every_acknowledged_write(live, store, tmp_path):
    load, version = live["load"], live["version"]
    load.resume()
    taken = []
    for i in range(BACKUPS_PER_RUN):
        n = load.count()
        wait_for(lambda: load.count() >= n + 150, 60, "150 more writes")   # logs/snapshots roll
        taken.append(take_backup(store, live, f"hot-{version}", tmp_path))
    lasts = [t["last"] for t in taken]
    assert lasts == sorted(lasts) and len(set(lasts)) == len(lasts), lasts
    assert sorted(e["id"] for e in list_json(store, f"hot-{version}")) == sorted(t["id"] for t in taken)
    load.pause()           # every in-flight write acknowledged and recorded
    try:
        for t in taken:
            check_restored(version, t["archive"], t["last"], load, tmp_path)
    finally:
        load.resume()


def test_log_purged_mid_copy_on_a_live_server(live, local_store, tmp_path):
    """While `create` pauses before copying (ZKBACKUP_TEST_PAUSE_MS), ZooKeeper's purge
    (PurgeTxnLog with snapRetainCount=3) runs once three newer snapshots exist: every snapshot
    but the newest three, and every log before the one the oldest kept snapshot needs, are
    deleted - so the files `create` chose are gone. zkbackup must plan again from a fresh listing:
    a correct READY backup. (A clear error with no READY backup is reported as a failure too, as
    the fresh listing is complete.)"""
    load, version, data = live["load"], live["version"], live["data"]
    v2 = data / "version-2"
    load.resume()
    snaps_at_start = {p.name for p in v2.glob("snapshot.*")}
    t0 = time.monotonic()
    acked = load.acked_max_zxid(t0)
    proc = zkbackup_popen(local_store, "create", f"--label=purge-{version}", str(data),
                          env={"ZKBACKUP_TEST_PAUSE_MS": "1500"})
    wait_for(lambda: list((local_store.root / BACKUPS).glob("*/lease.json")), 10, "lease.json")
    time.sleep(0.3)
    wait_for(lambda: len({p.name for p in v2.glob("snapshot.*")} - snaps_at_start) >= 4, 20,
             "four new snapshots")
    assert proc.poll() is None, "create ended before the purge"
    snaps = sorted(v2.glob("snapshot.*"), key=lambda p: zxid_of_name(p.name))
    oldest_kept = snaps[-3]
    logs = sorted(v2.glob("log.*"), key=lambda p: zxid_of_name(p.name))
    needed = max((l for l in logs if zxid_of_name(l.name) <= zxid_of_name(oldest_kept.name) + 1),
                 key=lambda l: zxid_of_name(l.name))
    purged = snaps[:-3] + [l for l in logs if zxid_of_name(l.name) < zxid_of_name(needed.name)]
    for f in purged:
        f.unlink()
    out, err = proc.communicate(timeout=180)
    if proc.returncode == 0:
        bid = out.strip()
        man = show(local_store, bid)
        assert man["status"] == READY
        last = hexint(man["lastZxid"])
        assert last >= acked, (hex(last), hex(acked))
        facts = check_archive_against_manifest(local_store, bid, man, tmp_path, v2)
        archive = tmp_path / "purge.tar.gz"
        archive.write_bytes(facts["archive"])
        load.pause()
        try:
            check_restored(version, archive, last, load, tmp_path)
        finally:
            load.resume()
    else:
        assert proc.returncode in (1, 2), f"exit {proc.returncode}\n{out}\n{err}"
        names = {f.name for f in purged}
        assert any(n in err for n in names) or "purge" in err.lower() or "vanish" in err.lower() \
            or "disappear" in err.lower() or "no longer" in err.lower(), \
            f"not a clear error (exit {proc.returncode}):\n{err}"
        for e in list_json(local_store, f"purge-{version}"):
            assert e["status"] != READY, e
        pytest.fail(f"create did not retry from a fresh listing after a purge (the contract: "
                    f"retry, then a correct backup); exit {proc.returncode}:\n{err[:1500]}\npurged {len(purged)} files, the newest: "
                    f"{sorted((f.name for f in purged), key=zxid_of_name)[-4:]}")
