"""`zkbackup restore ID --admin URL1,URL2,URL3 --auth …` on a RUNNING 3-member ZooKeeper 3.9
ensemble (issue 13: "the same through --admin on a running 3.9 ensemble"), and what ZooKeeper's
admin `restore` does on a quorum. The ensemble (admin server on every member, a superDigest user,
`zookeeper.admin.rateLimiterIntervalInMS=1000` so that phase 2 may restore again) is started once
for the module; the fixture runs the story and records what it saw, the tests check its parts.

1. Clients take turns on a kazoo `Lock`; A holds it while B and C wait, B leads an `Election`, A
   and C are a `Party`; the served tree is captured and a hot backup taken (`zkbackup create` of
   member 1's data dir) with nothing written in between; then more writes.
2. A restore while a client writes (client ports not blocked) is refused before any member is
   touched (exit 2). The root ACL is locked to the superuser and the restore is tried with a
   wrong password: exit 2, a clear message, every member's served tree and zxid unchanged.
3. `zkbackup restore ID --admin U1,U2,U3 --auth @FILE` (the runbook's command): exit 0; every
   member serves the backup's persistent tree exactly (data, ACL, served stats), at the same zxid;
   no ephemeral node and no session of the backup.
   The clients of before the restore (A holding the lock, B and C stopped) are told their
   session expired at their next heartbeat.
4. ZooKeeper's limit until the leader restarts (read in its source, see the README's runbook):
   a session opened after the restore whose client dies keeps its lock node past its timeout
   (the leader's new session tracker is not started).
5. The members are restarted one at a time in the order zkbackup printed (followers first, the
   leader last), each followed by the runbook's `zkbackup status --servers … --wait 60` (exit 0,
   one leader): the dead session's lock node goes, every member serves the restored tree from
   its own data dir, and a new lock contender gets a sequence number above every one handed out
   up to the backup.
6. The runbook's by-hand commands (`curl` the members' `stat`, `zkfilter datadir … --admin-restore
   … --fence-zxid`, `curl` POST `restore` and GET `snapshot?streaming=false` on each member but
   one follower) restore again; that follower, restarted, serves its old data (nothing was
   saved); then the *leader* is restarted before the other follower, which serves its old data
   again too (its quorum peer rebuilds the server on the database it loaded at start), while the
   restarted leader keeps the restored state: the members disagree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time

import pytest

from backuplib import (BACKUPS, ZKFILTER, LocalStore, create_ok, explain, hexint, seq,
                       served_without_ephemerals, show, tree_diff, zkbackup)
from ensemblelib import (StateLog, kazoo_client, seed_app, srvr_zxid, stop_quietly, take_turns,
                         wait_for)
from zkharness import ZkEnsemble, capture_tree, installed_versions

PW = "EnsAdminPw-" + secrets.token_hex(6)
SUPER = [("digest", f"super:{PW}")]
LOCK, ELECTION, PARTY = "/app/lock", "/app/election", "/app/party"
DYING_TIMEOUT = 2.0       # the session timeout of the client that dies after the restore (s)


def digest(user: str, pw: str) -> str:
    return f"{user}:" + base64.b64encode(hashlib.sha1(f"{user}:{pw}".encode()).digest()).decode()


FLAGS = [f"-Dzookeeper.DigestAuthenticationProvider.superDigest={digest('super', PW)}",
         "-Dzookeeper.admin.rateLimiterIntervalInMS=1000"]


def client(hosts: str, timeout: float = 10.0, auth=SUPER):
    return kazoo_client(hosts, timeout, auth)


def settle(ports: list[int]) -> list[int]:
    """Waits until every member reports the same zxid twice 0.3 s apart (the closeSession of a
    client just stopped may still be on its way: zkbackup would rightly see it as a write during
    the restore); returns the zxids."""
    deadline = time.monotonic() + 15
    while True:
        z1 = [srvr_zxid(p) for p in ports]
        time.sleep(0.3)
        z2 = [srvr_zxid(p) for p in ports]
        if (len(set(z1)) == 1 and z1 == z2) or time.monotonic() > deadline:
            return z2
        time.sleep(0.1)


def served(member) -> dict[str, dict]:
    """What one member serves (its own client port), by path, without /zookeeper/config."""
    zk = client(member.hosts)
    try:
        zk.sync("/")
        tree = {n["path"]: n for n in capture_tree(zk)}
    finally:
        stop_quietly([zk])
    tree.pop("/zookeeper/config", None)
    return tree


def curl(*args: str) -> str:
    p = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, f"curl {' '.join(args)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


DYING = """
import sys, time
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[2]))
c.start(30)
lock = c.Lock(sys.argv[3], "dying")
assert lock.acquire(timeout=10)
print(lock.node, hex(c.client_id[0]), flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def adm(tmp_path_factory, zkbackup_bin):
    if "3.9" not in installed_versions():
        pytest.fail("ZooKeeper 3.9 is not installed (run scripts/install-deps.sh)")
    if shutil.which("curl") is None:
        pytest.fail("curl is missing: the runbook's by-hand commands use it")
    base = tmp_path_factory.mktemp("admin-ens")
    store = LocalStore(base / "store")
    ens = ZkEnsemble("3.9", base / "ens", admin=True, jvm_flags=FLAGS)
    urls = ",".join(f"http://127.0.0.1:{m.admin_port}" for m in ens.members)
    auth_file = base / "admin.auth"
    auth_file.write_text(f"digest:super:{PW}\n")
    auth_file.chmod(0o600)
    res: dict = {"ens": ens, "store": store, "urls": urls, "timings": {}}
    clients: list = []
    stop_recipes = threading.Event()
    dying = None
    t_start = time.monotonic()
    try:
        ens.start()
        res["timings"]["ensemble up"] = time.monotonic() - t_start
        setup = client(ens.hosts)
        clients.append(setup)
        seed_app(setup)

        # 1. Three clients take turns on the lock; then A holds it, B and C wait.
        a, b, c = (client(ens.hosts) for _ in range(3))
        clients += [a, b, c]
        res["old"] = {n: (zk, StateLog(zk), zk.client_id[0]) for n, zk in (("A", a), ("B", b), ("C", c))}
        seen = take_turns(((a, "A"), (b, "B"), (c, "C")), LOCK, 3)
        lock_a = a.Lock(LOCK, "A")
        assert lock_a.acquire(timeout=10)
        res["lock_a_node"] = lock_a.node
        waiting = []
        for zk, name in ((b, "B"), (c, "C")):
            lk = zk.Lock(LOCK, name)
            th = threading.Thread(target=lambda lk=lk: lk.acquire(timeout=120), daemon=True)
            th.start()
            waiting.append((lk, th))
        wait_for(lambda: len(lock_a.contenders()) == 3, 10, "3 lock contenders")
        el = b.Election(ELECTION, "B")
        threading.Thread(target=el.run, args=(stop_recipes.wait,), daemon=True).start()
        wait_for(lambda: "B" in el.contenders(), 10, "B in the election")
        for zk, name in ((a, "A"), (c, "C")):
            zk.Party(PARTY, name).join()
        setup.sync(LOCK)
        seen += [seq(ch) for ch in setup.get_children(LOCK)]
        res["max_lock_seq"] = max(seen)
        res["max_job_seq"] = max(seq(ch) for ch in setup.get_children("/app/jobs"))

        # The served tree, then the hot backup, with nothing written in between.
        ports = [m.port for m in ens.members]
        wait_for(lambda: len({srvr_zxid(p) for p in ports}) == 1, 10, "members at the same zxid")
        z0 = srvr_zxid(ports[0])
        before = capture_tree(setup)
        assert {srvr_zxid(p) for p in ports} == {z0}, "something was written during the capture"
        t = time.monotonic()
        bid = create_ok(store, "admens", ens.members[0].datadir)
        res["timings"]["create"] = time.monotonic() - t
        res.update(bid=bid, man=show(store, bid), before=before, capture_zxid=z0)
        res["ephemeral_owners"] = {n["stat"]["ephemeralOwner"] for n in before
                                   if n["stat"]["ephemeralOwner"]}
        # The clients are stopped (as blocked client ports would, the runbook's first step): B
        # and C give up waiting, B leaves the election. A still holds the lock, A and C are in
        # the party: passive sessions, which write nothing when they expire.
        stop_recipes.set()
        for lk, th in waiting:
            lk.cancel()
            th.join(15)
        # Writes after the backup: lost by the restore.
        setup.set("/app/config", b"v=after")
        for i in range(3):
            setup.create(f"/after/n-{i}", b"after", makepath=True)
            setup.create("/app/jobs/job-", b"after", sequence=True)

        # 2. Writes while zkbackup restores (the client ports not blocked): refused.
        stop_writes = threading.Event()

        def writer():
            i = 0
            while not stop_writes.is_set():
                setup.create(f"/after/w-{i}", b"during")
                i += 1
                time.sleep(0.01)
        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        try:
            res["busy"] = zkbackup(store, "restore", bid, "--admin", urls, "--auth", f"@{auth_file}")
        finally:
            stop_writes.set()
            wt.join(10)

        # The root locked to the superuser; a wrong password.
        from kazoo.security import ACL, Id, Permissions
        setup.set_acls("/", [ACL(Permissions.ALL, Id("digest", digest("super", PW)))])
        trees = {m.myid: served(m) for m in ens.members}   # (each capture is a session: txns)
        zx = settle(ports)
        res["bad"] = zkbackup(store, "restore", bid, "--admin", urls,
                              "--auth", "digest:super:wrong-" + secrets.token_hex(4))
        res["bad_before"] = (trees, zx)
        res["bad_after"] = ({}, [srvr_zxid(p) for p in ports])
        res["bad_after"][0].update({m.myid: served(m) for m in ens.members})

        # 3. The restore, as the runbook says.
        settle(ports)
        t = time.monotonic()
        res["good"] = zkbackup(store, "restore", bid, "--admin", urls, "--auth", f"@{auth_file}")
        res["timings"]["restore --admin"] = time.monotonic() - t
        res["restored_zxids"] = [srvr_zxid(p) for p in ports]
        res["restored_trees"] = {m.myid: served(m) for m in ens.members}
        leader = ens.leader()
        res["leader_at_restore"] = leader.myid if leader else None
        res["restored_dump"] = leader.four_letter("dump") if leader else ""

        # The sessions of before the restore: told they expired at their next heartbeat (the
        # members' new session trackers do not know them).
        res["old_lost"] = {}
        for n, (zk, log, sid) in res["old"].items():
            try:
                wait_for(lambda log=log: "LOST" in log.since(t), 15, f"{n} told its session expired")
                res["old_lost"][n] = next(w for w, s in log.events if w >= t and s == "LOST") - t
            except AssertionError:
                res["old_lost"][n] = None
        res["old_states"] = {n: log.since(t) for n, (_, log, _) in res["old"].items()}

        # 4. Until the leader restarts, a session of after the restore whose client dies keeps
        # its lock node: the leader's new session tracker is not started.
        dying = subprocess.Popen([sys.executable, "-c", DYING, ens.hosts, str(DYING_TIMEOUT), LOCK],
                                 stdout=subprocess.PIPE, text=True)
        line = dying.stdout.readline().split()
        assert line, "the dying client did not take the lock"
        res["dying_node"], res["dying_session"] = f"{LOCK}/{line[0]}", int(line[1], 16)
        dying.kill()
        dying.wait()
        t_dead = time.monotonic()
        time.sleep(3 * DYING_TIMEOUT + 1)
        res["dying_kept"] = (setup.exists(res["dying_node"]) is not None,
                             time.monotonic() - t_dead)

        # 5. The restarts, in the order zkbackup printed, each checked with `status --wait`.
        m = re.search(r"the followers first \(([^)]*)\), the leader last \(([^)]*)\)",
                      res["good"].stderr)
        assert m, explain(res["good"])
        order_urls = [u.strip() for u in (m.group(1) + "," + m.group(2)).split(",") if u.strip()]
        by_admin = {f"http://127.0.0.1:{mm.admin_port}": mm for mm in ens.members}
        order = [by_admin[u] for u in order_urls]
        res["order"] = [mm.myid for mm in order]
        res["restart_status"] = []
        t_restart = time.monotonic()
        res["t_restart"] = t_restart
        for mm in order:
            mm.stop(close_clients=False)
            mm.start()
            res["restart_status"].append(
                zkbackup(None, "status", "--servers", ens.hosts, "--wait", "60", timeout=120))
        res["timings"]["rolling restart"] = time.monotonic() - t_restart
        t = time.monotonic()
        try:
            wait_for(lambda: setup.exists(res["dying_node"]) is None, 15, "the dead lock node to go")
            res["dying_gone_after"] = time.monotonic() - t
        except AssertionError:
            res["dying_gone_after"] = None
        res["status"] = zkbackup(None, "status", "--json", "--servers", ens.hosts, "--wait", "60",
                                 timeout=120)
        res["after_trees"] = {mm.myid: served(mm) for mm in ens.members}
        leader = ens.leader()
        res["after_dump"] = leader.four_letter("dump") if leader else ""

        # A new lock contender, the lock recipe.
        x, y = client(ens.hosts), client(ens.hosts)
        clients += [x, y]
        from kazoo.exceptions import LockTimeout
        lx = x.Lock(LOCK, "X")
        assert lx.acquire(timeout=10)
        res["x_node"] = lx.node
        try:
            res["y_while_x"] = y.Lock(LOCK, "Y").acquire(timeout=1)
        except LockTimeout:
            res["y_while_x"] = False
        ly = y.Lock(LOCK, "Y")
        lx.release()
        res["y_after_x"] = ly.acquire(timeout=10)
        res["y_node"] = ly.node
        ly.release()
        res["new_job"] = x.create("/app/jobs/job-", b"new", sequence=True)
        stop_quietly([x, y])

        # 6. By hand, then the leader restarted first.
        settle(ports)
        setup.create("/app/marker", b"written after the first restore")
        top = 0
        for mm in ens.members:
            st = json.loads(curl(f"http://127.0.0.1:{mm.admin_port}/commands/stat"))
            top = max(top, st["server_stats"]["last_processed_zxid"])
        res["hand_top"] = top
        archive = store.root / BACKUPS / bid / "data.tar.gz"
        clean = base / "snap.clean"
        p = subprocess.run([str(ZKFILTER), "datadir", str(archive), "--admin-restore", str(clean),
                            "--fence-zxid", str(top)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, explain(p)
        hdr = f"Authorization: digest super:{PW}"
        res["hand_replies"] = []
        leader = ens.leader()
        unsaved = ens.followers()[0]      # restored, but not asked for a snapshot
        res["hand_leader"], res["hand_unsaved"] = leader.myid, unsaved.myid
        for mm in ens.members:
            url = f"http://127.0.0.1:{mm.admin_port}/commands"
            r = json.loads(curl("-X", "POST", "-H", hdr, "--data-binary", f"@{clean}",
                                f"{url}/restore"))
            if mm is not unsaved:
                curl("-H", hdr, "-o", "/dev/null", f"{url}/snapshot?streaming=false")
            res["hand_replies"].append(r)
        res["hand_marker"] = {mm.myid: served(mm).get("/app/marker") is not None for mm in ens.members}
        # The follower without a snapshot restarted: it loads its old files.
        unsaved.stop(close_clients=False)
        unsaved.start()
        ens.wait_serving(timeout=60)
        res["unsaved_marker"] = {mm.myid: served(mm).get("/app/marker") is not None
                                 for mm in ens.members}
        # The leader restarted before the other follower: an election on old databases.
        leader.stop(close_clients=False)
        leader.start()
        ens.wait_serving(timeout=60)
        res["early_election_marker"] = {mm.myid: served(mm).get("/app/marker") is not None
                                        for mm in ens.members}
        yield res
    finally:
        stop_recipes.set()
        if dying is not None and dying.poll() is None:
            dying.kill()
            dying.wait()
        stop_quietly(clients)
        ens.stop()
        res["timings"]["total"] = time.monotonic() - t_start
        print("\nadmin ensemble timings: " +
              ", ".join(f"{k}={v:.1f}s" for k, v in res["timings"].items()) +
              f"; old sessions told expired after {res.get('old_lost')}")


def tracked(dump: str) -> str:
    """The session tracker and ephemeral parts of a `dump` (not the list of connections, which
    names the sessions of clients still connected, valid or not)."""
    return dump.split("Connections dump")[0].lower()


def expected_tree(adm) -> dict[str, dict]:
    exp = served_without_ephemerals(adm["before"])
    exp.pop("/zookeeper/config", None)
    return exp


def test_wrong_password_is_refused_and_changes_nothing(adm):
    bad = adm["bad"]
    assert bad.returncode == 2, explain(bad)
    assert "not allowed (HTTP 403)" in bad.stderr or "authentication failed (HTTP 401)" in bad.stderr, \
        explain(bad)
    assert "restored before the failure: none" in bad.stderr, explain(bad)
    (trees0, zx0), (trees1, zx1) = adm["bad_before"], adm["bad_after"]
    assert zx0 == zx1, (zx0, zx1)
    for myid in trees0:
        assert not tree_diff(trees0[myid], trees1[myid]), (myid, tree_diff(trees0[myid], trees1[myid]))
    assert trees1[1]["/app/config"]["data_b64"] == base64.b64encode(b"v=after").decode()
    for p in (adm["bad"], adm["good"]):
        assert PW not in p.stdout + p.stderr


def test_writes_during_the_restore_stop_it(adm):
    busy = adm["busy"]
    assert busy.returncode == 2, explain(busy)
    assert "the ensemble took writes during the restore" in busy.stderr, explain(busy)
    assert "restored before the failure: none" in busy.stderr, explain(busy)


def test_restore_reaches_every_member_and_is_saved(adm):
    good, bid = adm["good"], adm["bid"]
    assert good.returncode == 0, explain(good)
    for u in adm["urls"].split(","):
        assert f"restored {bid} on {u} (last_zxid " in good.stderr, explain(good)
        assert f"{u} saved the restored state" in good.stderr, explain(good)
    zx = adm["restored_zxids"]
    assert len(set(zx)) == 1 and zx[0] is not None, zx
    # Written at the members' own zxid (the fence for a running ensemble), not the backup's.
    assert zx[0] > hexint(adm["man"]["lastZxid"]), (hex(zx[0]), adm["man"]["lastZxid"])
    assert f"at zxid {hex(zx[0])}, saved in each member's data dir" in good.stderr, explain(good)
    # The admin snapshot left the restored state in every member's data dir.
    for m in adm["ens"].members:
        assert (m.datadir / "version-2" / f"snapshot.{zx[0]:x}").exists(), \
            sorted(p.name for p in (m.datadir / "version-2").iterdir())


def test_every_member_serves_the_backup_without_its_sessions(adm):
    exp = expected_tree(adm)
    assert {"/app/config", "/app/secret", "/app/counter", LOCK, ELECTION, PARTY} <= set(exp)
    for myid, got in adm["restored_trees"].items():
        problems = tree_diff(exp, got)
        assert not problems, f"member {myid} right after the restore:\n" + "\n".join(problems[:20])
    dump = tracked(adm["restored_dump"])
    assert "sessions with ephemerals (0)" in dump, adm["restored_dump"]
    for owner in adm["ephemeral_owners"] | {sid for _, _, sid in adm["old"].values()}:
        assert f"0x{owner:x}" not in dump, (hex(owner), adm["restored_dump"])


def test_sessions_of_before_the_restore_are_expired(adm):
    """A (holding the lock), B and C (waiting for it, given up) had sessions at the backup and
    kept them until the restore: each is told its session expired at its next heartbeat."""
    for n, took in adm["old_lost"].items():
        assert took is not None, f"{n} was not told its session expired: {adm['old_states'][n]}"
        assert took < 15, (n, took)   # their session timeout is 10 s


def test_until_the_leader_restarts_a_dead_session_keeps_its_lock(adm):
    """ZooKeeper's limit after an admin restore (README runbook): the lock node of a session
    opened after the restore whose client died stays past its session timeout."""
    kept, after = adm["dying_kept"]
    assert kept, f"the dead client's lock node went within {after:.1f}s: has ZooKeeper fixed " \
                 "the admin restore's session tracker? Update the README runbook"


def test_rolling_restart_makes_it_durable(adm):
    assert len(adm["order"]) == 3 and adm["order"][-1] == adm["leader_at_restore"], adm["order"]
    for p in adm["restart_status"]:
        assert p.returncode == 0, explain(p)
    st = adm["status"]
    assert st.returncode == 0, explain(st)
    rows = json.loads(st.stdout)
    assert [r["code"] for r in rows] == [3, 3, 3] and sum(r["isLeader"] for r in rows) == 1, rows
    took = adm["dying_gone_after"]
    assert took is not None, "the dead client's lock node stayed after the restarts"
    # Every member serves the restored tree from its own data dir; only the lock's parent moved
    # (the dead contender came and went).
    exp = expected_tree(adm)
    w = adm["restored_zxids"][0]
    for myid, got in adm["after_trees"].items():
        late = {p for p, n in got.items()
                if max(n["stat"]["czxid"], n["stat"]["mzxid"], n["stat"]["pzxid"]) > w}
        assert late == {LOCK}, (myid, sorted(late))
        problems = tree_diff({p: n for p, n in exp.items() if p not in late},
                             {p: n for p, n in got.items() if p not in late})
        assert not problems, f"member {myid} after the restarts:\n" + "\n".join(problems[:20])
        assert got[LOCK]["stat"]["numChildren"] == 0
    dump = tracked(adm["after_dump"])
    for owner in adm["ephemeral_owners"] | {sid for _, _, sid in adm["old"].values()}:
        assert f"0x{owner:x}" not in dump, (hex(owner), adm["after_dump"])


def test_lock_after_restore(adm):
    assert seq(adm["x_node"]) > adm["max_lock_seq"], (adm["x_node"], adm["max_lock_seq"])
    assert adm["y_while_x"] is False
    assert adm["y_after_x"] is True and seq(adm["y_node"]) > seq(adm["x_node"])
    assert seq(adm["new_job"]) > adm["max_job_seq"], adm["new_job"]


def test_by_hand_restore_then_an_early_election_brings_the_old_data_back(adm):
    """The runbook's by-hand lines restore every member; then what its steps 2 and 3 prevent.
    /app/marker was written after the first restore and before this one: True where a member
    serves it again, i.e. serves its data of before this restore."""
    for r in adm["hand_replies"]:
        assert r.get("error") in (None, ""), r
        assert r["last_zxid"] == adm["hand_top"], (r, hex(adm["hand_top"]))
    assert adm["hand_marker"] == {1: False, 2: False, 3: False}, adm["hand_marker"]
    leader, unsaved = adm["hand_leader"], adm["hand_unsaved"]
    # Restarted without a snapshot after the restore: that member alone is back to its old data.
    assert adm["unsaved_marker"] == {m: m == unsaved for m in (1, 2, 3)}, \
        f"after the unsaved follower ({unsaved}) restarted: {adm['unsaved_marker']}"
    # The leader restarted first: the follower that did not restart serves its quorum peer's
    # database of before the restore again; the restarted leader loaded the restored state from
    # its data dir, and the sync after the election (at the same zxid) does not change it: the
    # members disagree.
    assert adm["early_election_marker"] == {m: m != leader for m in (1, 2, 3)}, \
        f"after the leader ({leader}) restarted first: {adm['early_election_marker']}; has " \
        "ZooKeeper fixed the admin restore on a quorum? Update the README runbook"
