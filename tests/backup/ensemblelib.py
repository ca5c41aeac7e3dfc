"""Helpers the ensemble tests share (test_restore_ensemble, test_restore_admin_ensemble,
test_runbook): kazoo clients that retry fast, stopping them, polling, a client's state
changes, a member's zxid, a folder's fingerprint and the /app tree every story starts from."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from pathlib import Path

from zkharness import four_letter

# Reconnect at once and keep trying: members stop and start under the clients.
FAST_RETRY = {"max_tries": -1, "delay": 0.1, "backoff": 1.3, "max_delay": 0.5}


def kazoo_client(hosts: str, timeout: float, auth=None, **kw):
    """A started KazooClient on `hosts` (session timeout `timeout` s, `auth` digest pairs)."""
    from kazoo.client import KazooClient
    c = KazooClient(hosts=hosts, timeout=timeout, connection_retry=dict(FAST_RETRY),
                    auth_data=list(auth) if auth else None, **kw)
    c.start(timeout=30)
    return c


def stop_quietly(clients) -> None:
    """Stops kazoo clients in parallel (a client whose server is gone takes a moment)."""
    def one(c):
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001
            pass
    ts = [threading.Thread(target=one, args=(c,), daemon=True) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join(15)


def wait_for(cond, timeout: float, what: str, step: float = 0.1):
    """Polls cond() until it is true; returns its value, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def srvr_zxid(port: int) -> int | None:
    """The zxid a member's `srvr` reports (None when it does not serve)."""
    m = re.search(r"Zxid: (0x[0-9a-fA-F]+)", four_letter(port, "srvr", timeout=2.0))
    return int(m.group(1), 16) if m else None


class StateLog:
    """Every kazoo state change of a client, with its time."""

    def __init__(self, zk):
        self.events: list[tuple[float, str]] = []
        zk.add_listener(self._on)

    def _on(self, state):
        self.events.append((time.monotonic(), str(state)))

    def since(self, t: float) -> list[str]:
        return [s for when, s in self.events if when >= t]

    def first(self, state: str, after: float) -> float | None:
        return next((when for when, s in self.events if when >= after and s == state), None)


def dir_state(d: Path) -> dict[str, str]:
    """Every file (sha256) and folder under d: for byte-identical checks."""
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(d.rglob("*"))}


def seed_app(zk) -> None:
    """The application tree each story starts from: /app/config set three times (open ACL),
    /app/secret readable by digest ops:pw only, three sequential /app/jobs/job- nodes and
    /app/counter."""
    from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl
    zk.create("/app/config", b"v=1", makepath=True)
    for v in (b"v=2", b"v=3"):
        zk.set("/app/config", v)
    zk.create("/app/secret", b"s3cret", acl=[make_digest_acl("ops", "pw", all=True)])
    zk.set_acls("/app/config", OPEN_ACL_UNSAFE)
    for i in range(3):
        zk.create("/app/jobs/job-", b"%d" % i, sequence=True, makepath=True)
    zk.create("/app/counter", b"0")


def take_turns(named_clients, lock_path: str, rounds: int) -> list[int]:
    """Each (client, name) takes the kazoo Lock at lock_path `rounds` times, on threads at once,
    bumping /app/counter while it holds it; returns the sequence numbers of the lock nodes."""
    from backuplib import seq
    seen: list[int] = []
    mu = threading.Lock()

    def turns(zk, name):
        lock = zk.Lock(lock_path, name)
        for _ in range(rounds):
            with lock:
                with mu:
                    seen.append(seq(lock.node))
                v = int(zk.get("/app/counter")[0])
                zk.set("/app/counter", b"%d" % (v + 1))
    ts = [threading.Thread(target=turns, args=(zk, n)) for zk, n in named_clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return seen
