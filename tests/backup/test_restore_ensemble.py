"""`zkbackup restore` against real ZooKeeper (3.8, and 3.9 for the ensemble): issue 13's
"Done means", end to end. Servers run on 127.0.0.1 only and are stopped by PID (zkharness).

* Standalone 3.8, the zxid fence (the cheap case, first): a kazoo client K that saw zxids past
  the backup outlives the server. Restored with `--no-fence`, the server refuses K ("Refusing
  session request" in its log) and K stays SUSPENDED for its whole session timeout; restored
  again from the same backup with the default fence, K is told its session expired (LOST) and
  works on a new session within its session timeout. So the fence is what fixes it.
* `--to-time` between two writes' mtimes: the restore holds the earlier write and not the later,
  and it says it stopped at the earlier write's acknowledged zxid.
* Refusals: a running member (exit 2, clear message, its data dir byte-identical), an unknown ID
  (exit 2), a stored archive with one flipped byte in the compressed data, and one in the gzip
  header that only the SHA-256 catches (exit 2, the stopped member's data untouched).
* A 3-member ensemble (3.8 and 3.9), the "back in time" story: kazoo clients take turns on a
  `Lock`, hold an `Election` and a `Party`; a hot backup of one member's data dir is taken while
  one client holds the lock; K writes past the backup, the leader is stopped, another wins, K
  writes in the new epoch; the ensemble is lost (kill -9). Restored with `--no-fence` on every
  member (`--config zoo.cfg`): `status --wait 30` exits 0 but K is refused. Restored with the
  fence: `status --wait 30` exits 0, K gets LOST and a new session within its session timeout,
  no node of any backup session is served, every persistent node equals what was served just
  before the backup (data, ACL, served stats), a new lock contender's sequence number is above
  every one handed out before the backup, and the lock recipe works.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backuplib import (LocalStore, create_ok, explain, hexint, seq, served_without_ephemerals,
                       show, tree_diff, zkbackup)
from ensemblelib import (StateLog, dir_state, kazoo_client, seed_app, srvr_zxid, stop_quietly,
                         take_turns, wait_for)
from zkharness import ZkEnsemble, ZkServer, capture_tree, installed_versions

AUTH = [("digest", "ops:pw")]
# ZooKeeper's refusal of a client that saw a later zxid (3.8: "Refusing session request for
# client …"; 3.9: "Refusing session(0x…) request for client …").
REFUSED = re.compile(r"Refusing session(\(0x[0-9a-fA-F]+\))? request for client")
K_TIMEOUT = 10.0          # K's session timeout (s); the ensemble's maxSessionTimeout is 20 ticks
LOCK, ELECTION, PARTY = "/app/lock", "/app/election", "/app/party"


def need(version: str) -> None:
    if version not in installed_versions():
        pytest.fail(f"ZooKeeper {version} is not installed (run scripts/install-deps.sh)")


# ---------------------------------------------------------------------------- helpers
class Member(ZkServer):
    """A standalone server that keeps its client port and zoo.cfg across restarts (the restore
    is told `--config <its zoo.cfg>`, and a client that outlives it reconnects to the same port)."""

    def _write_config(self) -> Path:
        keep = self.port
        path = super()._write_config()
        if keep is not None and keep != self.port:
            text = path.read_text().replace(f"clientPort={self.port}\n", f"clientPort={keep}\n")
            path.write_text(text)
            self.port = keep
        return path

    def start(self) -> "Member":  # type: ignore[override]
        assert not self.running(), "already running"
        self.proc = None
        super().start()
        return self

    @property
    def config(self) -> Path:
        return self.workdir / "zoo.cfg"


def log_size(srv: ZkServer) -> int:
    return srv.log_path.stat().st_size if srv.log_path and srv.log_path.exists() else 0


def log_since(srv: ZkServer, offset: int) -> str:
    return srv.log_path.read_bytes()[offset:].decode(errors="replace")


def client(hosts: str, timeout: float = K_TIMEOUT, auth=True, **kw):
    return kazoo_client(hosts, timeout, AUTH if auth else None, **kw)


def retry_op(fn, timeout: float = 30):
    """Runs a client op until it succeeds (the client may be reconnecting to another member)."""
    from kazoo.exceptions import ConnectionLoss, SessionExpiredError
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (ConnectionLoss, SessionExpiredError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def restore(store, bid: str, *args) -> subprocess.CompletedProcess:
    return zkbackup(store, "restore", bid, *args)


def restore_ok(store, bid: str, *args):
    p = restore(store, bid, *args)
    assert p.returncode == 0, explain(p)
    return p


def status_wait(hosts: str, seconds: int = 30):
    t = time.monotonic()
    p = zkbackup(None, "status", "--servers", hosts, "--wait", str(seconds), timeout=seconds + 30)
    return p, time.monotonic() - t


# ---------------------------------------------------------------------------- standalone: fence
@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_standalone_fence_expires_a_client_that_no_fence_locks_out(zkbackup_bin, tmp_path, version):
    need(version)
    store = LocalStore(tmp_path / "store")
    srv = Member(version, tmp_path / "data", workdir=tmp_path / "srv", snap_count=40).start()
    w = holder = k = None
    try:
        w = client(srv.hosts)
        w.ensure_path("/app/config")
        w.set("/app/config", b"v=1")
        for i in range(30):
            w.create(f"/app/items/i-{i:03d}", b"%d" % i, makepath=True)
        holder = client(srv.hosts)
        lk = holder.Lock(LOCK, "holder")
        assert lk.acquire(timeout=10)
        k = client(srv.hosts, timeout=K_TIMEOUT)
        k_states = StateLog(k)
        bid = create_ok(store, "solo", srv.datadir)
        last = hexint(show(store, bid)["lastZxid"])
        for i in range(10):
            k.create(f"/after/n-{i}", b"after the backup", makepath=True)
        k_seen = k.last_zxid
        k_session = k.client_id[0]
        assert k_seen > last, (hex(k_seen), hex(last))

        srv.kill9()                               # the server is lost; K lives on
        stop_quietly([w, holder])

        # --no-fence: the restored server is at the backup's last zxid, below what K saw.
        p = restore_ok(store, bid, "--config", srv.config, "--no-fence")
        assert "not fenced" in p.stderr, explain(p)
        off = log_size(srv)
        srv.start()
        t_up = time.monotonic()
        wait_for(lambda: REFUSED.search(log_since(srv, off)), K_TIMEOUT, "a refusal in the server log")
        # K is refused on every retry for longer than its session timeout: it never learns.
        time.sleep(max(0.0, t_up + K_TIMEOUT + 1 - time.monotonic()))
        refusals = len(REFUSED.findall(log_since(srv, off)))
        states = k_states.since(t_up)
        assert not k.connected and "LOST" not in states and "CONNECTED" not in states, \
            f"K should stay locked out without the fence: states {states}"
        assert refusals >= 2, refusals
        line = next(l for l in log_since(srv, off).splitlines() if REFUSED.search(l))
        assert f"0x{k_seen:x}" in line, (line, hex(k_seen))

        # The same backup, the same K, with the default fence.
        srv.kill9()
        p = restore_ok(store, bid, "--config", srv.config)
        assert "fenced" in p.stderr and "not fenced" not in p.stderr, explain(p)
        off = log_size(srv)
        t_fenced = time.monotonic()
        srv.start()
        t_up = time.monotonic()
        wait_for(lambda: k.connected and k.client_id[0] != k_session, K_TIMEOUT + 5,
                 "K on a new session")
        took = time.monotonic() - t_up
        assert k_states.first("LOST", t_fenced) is not None, \
            f"K was not told its session expired: {k_states.events}"
        assert took < K_TIMEOUT, f"K took {took:.1f}s to get a new session"
        assert k.get("/app/config")[0] == b"v=1"
        assert k.exists("/after") is None          # written after the backup
        assert k.get_children(LOCK) == []          # the holder's lock node did not come back
        assert not REFUSED.search(log_since(srv, off))
        z = srvr_zxid(srv.port)
        assert z is not None and z >> 32 > last >> 32, (hex(z), hex(last))
    finally:
        stop_quietly([c for c in (w, holder, k) if c is not None])
        srv.kill9()


# ---------------------------------------------------------------------------- --to-time
def test_to_time_lands_between_two_writes(zkbackup_bin, tmp_path):
    need("3.8")
    store = LocalStore(tmp_path / "store")
    srv = Member("3.8", tmp_path / "data", workdir=tmp_path / "srv").start()
    try:
        zk = client(srv.hosts)
        zk.ensure_path("/t")
        writes = []
        for i in range(8):
            path, st = zk.create(f"/t/w-{i}", b"write %d" % i, include_data=True)
            writes.append((path, st.czxid, st.mtime))
            time.sleep(0.03)
        # A setData too: its mzxid and mtime.
        st = zk.set("/t/w-0", b"rewritten")
        writes.append(("/t/w-0 (set)", st.mzxid, st.mtime))
        zk.stop()
        zk.close()
        bid = create_ok(store, "totime", srv.datadir)
    finally:
        srv.stop()
    i = 4
    (p_early, z_early, t_early), (p_late, z_late, t_late) = writes[i], writes[i + 1]
    assert t_late > t_early, writes
    cut = (t_early + t_late) // 2
    out = tmp_path / "member2"
    p = restore_ok(store, bid, "-o", out, "--to-time", str(cut))
    m = re.search(r"--to-time: the last txn at or before it is (0x[0-9a-fA-F]+)", p.stderr)
    assert m, explain(p)
    assert int(m.group(1), 16) == z_early, \
        f"--to-time {cut} chose {m.group(1)}, the write at {t_early} ms is {hex(z_early)}\n{explain(p)}"
    # The same point as RFC 3339 with an offset, exactly at the earlier write's mtime ("at or
    # before"), in a dry run: the same txn is chosen and nothing is written.
    iso = datetime.fromtimestamp(t_early / 1000, tz=timezone(timedelta(hours=2))) \
        .isoformat(timespec="milliseconds")
    dry = tmp_path / "member3"
    p = restore_ok(store, bid, "-o", dry, "--to-time", iso, "--dry-run")
    m = re.search(r"--to-time: the last txn at or before it is (0x[0-9a-fA-F]+)", p.stderr)
    assert m and int(m.group(1), 16) == z_early, explain(p)
    assert not dry.exists(), "a dry run wrote the member's data dir"
    with ZkServer("3.8", out) as check:
        zk = check.client()
        got = {f"/t/{c}": zk.get(f"/t/{c}") for c in zk.get_children("/t")}
    assert sorted(got) == [f"/t/w-{j}" for j in range(i + 1)], sorted(got)
    for path, z, t in writes[:i + 1]:
        data, st = got[path]
        assert data == b"write %s" % path[-1].encode() and st.czxid == z and st.mtime == t, path
    assert p_late not in got


# ---------------------------------------------------------------------------- refusals
def test_refusals_change_nothing(zkbackup_bin, tmp_path):
    need("3.8")
    store = LocalStore(tmp_path / "store")
    srv = Member("3.8", tmp_path / "data", workdir=tmp_path / "srv").start()
    try:
        zk = client(srv.hosts)
        for i in range(20):
            zk.create(f"/r/n-{i}", b"x" * 100, makepath=True)
        good = create_ok(store, "refuse", srv.datadir)
        bad = create_ok(store, "damaged", srv.datadir)
        altered = create_ok(store, "altered", srv.datadir)
        zk.stop()
        zk.close()
        time.sleep(0.5)
        # 1. Onto the running member.
        before = dir_state(srv.datadir)
        p = restore(store, good, "--config", srv.config)
        after = dir_state(srv.datadir)
        assert p.returncode == 2, explain(p)
        assert "looks alive" in p.stderr and "stop it first" in p.stderr, explain(p)
        assert str(srv.pid) in p.stderr or f"port {srv.port}" in p.stderr, explain(p)
        assert after == before, "the running member's data dir changed"
        p = restore(store, good, "-o", srv.datadir)
        assert p.returncode == 2 and "looks alive" in p.stderr, explain(p)
        assert dir_state(srv.datadir) == before
    finally:
        srv.stop()
    before = dir_state(srv.datadir)
    # 2. An unknown ID (well-formed).
    unknown = f"refuse-{uuid.uuid4()}"
    p = restore(store, unknown, "--config", srv.config)
    assert p.returncode == 2, explain(p)
    assert unknown in p.stderr, explain(p)
    assert dir_state(srv.datadir) == before
    # 3. One flipped byte in the stored archive.
    arc = store.root / "zkbackup/v1/backups" / bad / "data.tar.gz"
    raw = bytearray(arc.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    arc.write_bytes(bytes(raw))
    p = restore(store, bad, "--config", srv.config)
    assert p.returncode == 2, explain(p)
    assert "data.tar.gz" in p.stderr, explain(p)
    assert dir_state(srv.datadir) == before, "the member's data dir changed"
    # A flipped byte that gzip ignores (the header's MTIME): only the SHA-256 can tell.
    arc = store.root / "zkbackup/v1/backups" / altered / "data.tar.gz"
    raw = bytearray(arc.read_bytes())
    assert raw[:2] == b"\x1f\x8b", raw[:10]
    raw[4] ^= 0x01
    arc.write_bytes(bytes(raw))
    p = restore(store, altered, "--config", srv.config)
    assert p.returncode == 2, explain(p)
    assert "differ from the manifest" in p.stderr, explain(p)
    assert dir_state(srv.datadir) == before, "the member's data dir changed"
    # The good backup still restores onto the stopped member.
    restore_ok(store, good, "--config", srv.config)
    assert dir_state(srv.datadir) != before


# ---------------------------------------------------------------------------- the ensemble story
@pytest.fixture(scope="module", params=["3.8", "3.9"])
def story(request, tmp_path_factory, zkbackup_bin):
    """Runs the whole story once per version; the tests below check its parts."""
    version = request.param
    need(version)
    base = tmp_path_factory.mktemp(f"ens-{version}")
    store = LocalStore(base / "store")
    ens = ZkEnsemble(version, base / "ens")
    res: dict = {"version": version, "ens": ens, "store": store, "timings": {}}
    clients: list = []
    stop_recipes = threading.Event()
    t_start = time.monotonic()
    try:
        ens.start()
        res["timings"]["ensemble up"] = time.monotonic() - t_start
        setup = client(ens.hosts)
        clients.append(setup)
        seed_app(setup)

        # Three clients take turns on the lock, bumping the counter.
        a, b, c = (client(ens.hosts) for _ in range(3))
        clients += [a, b, c]
        seen_seqs = take_turns(((a, "A"), (b, "B"), (c, "C")), LOCK, 4)
        setup.sync("/app/counter")   # the clients may be served by different members
        assert setup.get("/app/counter")[0] == b"12"

        # A holds the lock; B and C wait for it.
        lock_a = a.Lock(LOCK, "A")
        assert lock_a.acquire(timeout=10)
        seen_seqs.append(seq(lock_a.node))
        for zk, name in ((b, "B"), (c, "C")):
            lk = zk.Lock(LOCK, name)
            threading.Thread(target=lambda lk=lk: lk.acquire(timeout=120), daemon=True).start()
        wait_for(lambda: len(lock_a.contenders()) == 3, 10, "3 lock contenders")
        # B leads an election that C waits in; A and C are a party.
        for zk, name in ((b, "B"), (c, "C")):
            el = zk.Election(ELECTION, name)
            threading.Thread(target=el.run, args=(stop_recipes.wait,), daemon=True).start()
            wait_for(lambda: name in el.contenders(), 10, f"{name} in the election")
        for zk, name in ((a, "A"), (c, "C")):
            zk.Party(PARTY, name).join()
        setup.sync(LOCK)
        seen_seqs += [seq(ch) for ch in setup.get_children(LOCK)]
        res["max_lock_seq"] = max(seen_seqs)
        res["max_job_seq"] = max(seq(ch) for ch in setup.get_children("/app/jobs"))

        # K: the client that will outlive the ensemble.
        k = client(ens.hosts, timeout=K_TIMEOUT)
        clients.append(k)
        res["k"], res["k_states"] = k, StateLog(k)

        # The capture of what is served, then the hot backup, with nothing written in between.
        ports = [m.port for m in ens.members]
        wait_for(lambda: len({srvr_zxid(p) for p in ports}) == 1, 10, "members at the same zxid")
        z0 = srvr_zxid(ports[0])
        before = capture_tree(setup)
        assert {srvr_zxid(p) for p in ports} == {z0}, "something was written during the capture"
        member = ens.members[0]
        t = time.monotonic()
        bid = create_ok(store, "story", member.datadir)
        res["timings"]["create"] = time.monotonic() - t
        man = show(store, bid)
        res.update(bid=bid, man=man, before=before, capture_zxid=z0)
        res["ephemeral_owners"] = {n["stat"]["ephemeralOwner"] for n in before
                                   if n["stat"]["ephemeralOwner"]}

        # K writes past the backup; the leader is stopped; another wins; K writes in its epoch.
        for i in range(5):
            k.create(f"/after/n-{i}", b"after", makepath=True)
        old_leader = ens.leader()
        old_leader.stop(close_clients=False)
        new_leader = ens.wait_serving(timeout=30, members=ens.running_members())
        res["leaders"] = (old_leader.myid, new_leader.myid)
        for i in range(5):
            # A create whose reply was lost in the leader change may already be there.
            retry_op(lambda i=i: k.exists(f"/after/e-{i}") or k.create(f"/after/e-{i}", b"new epoch"))
        res["k_seen"], res["k_session"] = k.last_zxid, k.client_id[0]

        # The ensemble is lost.
        for m in ens.running_members():
            m.kill9()
        stop_recipes.set()
        stop_quietly([x for x in clients if x is not k])

        # --no-fence on every member: the ensemble serves, K is refused.
        t = time.monotonic()
        res["nofence_restores"] = [restore(store, bid, "--config", m.workdir / "zoo.cfg",
                                           "--no-fence") for m in ens.members]
        offs = [log_size(m) for m in ens.members]
        for m in ens.members:
            m.start(wait=False)
        res["nofence_status"], _ = status_wait(ens.hosts)
        t_up = time.monotonic()
        res["timings"]["no-fence restore to serving"] = t_up - t
        deadline = t_up + K_TIMEOUT + 1
        while time.monotonic() < deadline and not res["k"].connected:
            time.sleep(0.2)
        res["nofence_k_states"] = res["k_states"].since(t_up)
        res["nofence_k_connected"] = k.connected
        res["nofence_logs"] = "\n".join(log_since(m, o) for m, o in zip(ens.members, offs))
        res["nofence_zxids"] = [srvr_zxid(m.port) for m in ens.members]

        # Lost again; restored with the fence.
        for m in ens.members:
            m.kill9()
        t = time.monotonic()
        res["restores"] = [restore(store, bid, "--config", m.workdir / "zoo.cfg")
                           for m in ens.members]
        res["timings"]["3 fenced restores"] = time.monotonic() - t
        res["installed"] = [sorted(p.name for p in (m.datadir / "version-2").iterdir())
                            for m in ens.members]
        res["epochs"] = [(m.datadir / "version-2" / "acceptedEpoch").read_text().strip()
                         if (m.datadir / "version-2" / "acceptedEpoch").exists() else None
                         for m in ens.members]
        res["datadirs"] = [(m.myid, sorted(p.name for p in m.datadir.iterdir()),
                            (m.datadir / "myid").read_text().strip()) for m in ens.members]
        offs = [log_size(m) for m in ens.members]
        res["t_fenced_start"] = time.monotonic()
        for m in ens.members:
            m.start(wait=False)
        res["status"], took = status_wait(ens.hosts)
        res["t_serving"] = time.monotonic()
        res["timings"]["fenced start to serving"] = took
        # K, left alone: LOST, then a new session.
        try:
            wait_for(lambda: k.connected and k.client_id[0] != res["k_session"], K_TIMEOUT + 5,
                     "K on a new session")
        except AssertionError:
            pass
        res["k_new_session_after"] = time.monotonic() - res["t_serving"] if k.connected else None
        if res["k_new_session_after"] is not None:
            res["timings"]["K on a new session after serving"] = res["k_new_session_after"]
        res["fenced_logs_offsets"] = offs
        yield res
    finally:
        stop_recipes.set()
        stop_quietly(clients)
        ens.stop()
        res["timings"]["total"] = time.monotonic() - t_start
        print(f"\nensemble {version} timings: " +
              ", ".join(f"{k}={v:.1f}s" for k, v in res["timings"].items()))


def test_ensemble_backup_held_the_recipes(story):
    """The backup is of the moment the story says: A held the lock, B and C waited, an election
    and a party were on; and K saw zxids of a later epoch than the backup's."""
    man = story["man"]
    assert hexint(man["lastZxid"]) >= story["capture_zxid"], man
    parents = {(g["parent"], g["recipe"]): g["count"] for g in man["ephemeralParents"]}
    assert parents.get((LOCK, "lock")) == 3, man["ephemeralParents"]
    assert parents.get((ELECTION, "election"), parents.get((ELECTION, "lock"))) == 2, \
        man["ephemeralParents"]
    assert parents.get((PARTY, "party")) == 2, man["ephemeralParents"]
    assert man["sessions"] >= 3, man
    assert story["k_seen"] >> 32 > hexint(man["lastZxid"]) >> 32, \
        (hex(story["k_seen"]), man["lastZxid"])
    assert story["leaders"][0] != story["leaders"][1]


def test_ensemble_no_fence_locks_k_out(story):
    for p in story["nofence_restores"]:
        assert p.returncode == 0, explain(p)
    assert story["nofence_status"].returncode == 0, explain(story["nofence_status"])
    states = story["nofence_k_states"]
    assert not story["nofence_k_connected"] and "LOST" not in states, \
        f"without the fence K should be refused; its states: {states}"
    assert REFUSED.search(story["nofence_logs"]), \
        f"no '{REFUSED.pattern}' in the member logs (zxids {story['nofence_zxids']})"
    assert f"0x{story['k_seen']:x}" in story["nofence_logs"]


def test_ensemble_fence_expires_k_and_it_works_again(story):
    for p in story["restores"]:
        assert p.returncode == 0, explain(p)
        assert "fenced" in p.stderr and "not fenced" not in p.stderr, explain(p)
    # Every member got the same state, fenced in the same new epoch.
    assert len({tuple(i) for i in story["installed"]}) == 1, story["installed"]
    snaps = [n for n in story["installed"][0] if n.startswith("snapshot.")]
    assert len(snaps) == 1, story["installed"]
    fence = int(snaps[0].split(".")[1], 16)
    assert fence & 0xFFFFFFFF == 0 and fence >> 32 > story["k_seen"] >> 32, snaps
    assert set(story["epochs"]) == {str(fence >> 32)}, story["epochs"]
    # The versions it replaced were moved aside (the live one, then the --no-fence one), and
    # each member kept its myid.
    for myid, names, content in story["datadirs"]:
        assert content == str(myid), (myid, names, content)
        aside = [n for n in names if n.startswith("version-2.before-restore-")]
        assert len(aside) == 2 and "version-2" in names, names
        assert not [n for n in names if n.startswith(".zkbackup")], names
    assert story["status"].returncode == 0, explain(story["status"])
    k, log = story["k"], story["k_states"]
    took = story["k_new_session_after"]
    assert took is not None and took < K_TIMEOUT, \
        f"K was not on a new session within its session timeout ({took}); states {log.events}"
    assert log.first("LOST", story["t_fenced_start"]) is not None, \
        f"K was not told its session expired: {log.events}"
    assert k.client_id[0] != story["k_session"]
    assert k.get("/app/config")[0] == b"v=3"
    assert k.exists("/after") is None, "a node written after the backup is served"
    offs = story["fenced_logs_offsets"]
    logs = "\n".join(log_since(m, o) for m, o in zip(story["ens"].members, offs))
    assert not REFUSED.search(logs)


def test_ensemble_serves_the_backup_without_its_sessions(story):
    ens = story["ens"]
    zk = client(ens.hosts)
    try:
        after = {n["path"]: n for n in capture_tree(zk)}
        # No node of any session in the backup, no ephemeral at all yet.
        owned = {p: n["stat"]["ephemeralOwner"] for p, n in after.items()
                 if n["stat"]["ephemeralOwner"]}
        assert not owned, f"ephemeral nodes served after the restore: {owned}"
        for path in (LOCK, ELECTION, PARTY):
            assert zk.get_children(path) == [], path
        leader = ens.leader()
        dump = leader.four_letter("dump")
        for owner in story["ephemeral_owners"]:
            assert f"0x{owner:x}" not in dump.lower(), (hex(owner), dump)
    finally:
        zk.stop()
        zk.close()
    # Every persistent node as served at backup time (written after the capture: ignored).
    cap = story["capture_zxid"]
    expected = served_without_ephemerals(story["before"])
    late = {p for p, n in after.items()
            if max(n["stat"]["czxid"], n["stat"]["mzxid"], n["stat"]["pzxid"]) > cap}
    for t in (expected, after):
        t.pop("/zookeeper/config", None)
        for p in late:
            t.pop(p, None)
    assert {"/app/config", "/app/secret", "/app/counter", LOCK, ELECTION, PARTY} <= set(expected)
    problems = tree_diff(expected, after)
    assert not problems, "\n".join(problems[:20])
    assert not late, f"nodes with zxids after the capture ({hex(cap)}): {sorted(late)}"


def test_ensemble_lock_recipe_works_after_restore(story):
    from kazoo.exceptions import LockTimeout
    ens = story["ens"]
    x, y = client(ens.hosts), client(ens.hosts)
    try:
        lx = x.Lock(LOCK, "X")
        assert lx.acquire(timeout=10)
        x_node = lx.node
        assert seq(x_node) > story["max_lock_seq"], (x_node, story["max_lock_seq"])
        try:                                            # X holds it
            got = y.Lock(LOCK, "Y").acquire(timeout=1)
        except LockTimeout:
            got = False
        assert got is False
        x.sync(LOCK)    # x and y may be served by different members: see y's cleanup
        assert lx.contenders() == ["X"]
        ly = y.Lock(LOCK, "Y")
        lx.release()
        assert ly.acquire(timeout=10)
        assert seq(ly.node) > seq(x_node)
        ly.release()
        x.sync(LOCK)
        assert x.get_children(LOCK) == []
        job = x.create("/app/jobs/job-", b"new", sequence=True)
        assert seq(job) > story["max_job_seq"], job
    finally:
        stop_quietly([x, y])
