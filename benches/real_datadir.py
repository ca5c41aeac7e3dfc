#!/usr/bin/env python3
"""Make a benchmark data dir with a REAL ZooKeeper server (used by benches/compare.sh --real).

    python3 benches/real_datadir.py --version 3.9 --out benches/generated/real-3.9

Starts ZooKeeper (ZooKeeperServerMain on 127.0.0.1, a free port) with the server's own defaults
for what shapes its files: `preAllocSize` 64 MiB, `snapCount` 100,000, autopurge off. kazoo
clients then drive a mix that looks like a busy coordination service:

* grow phase, until the tree holds `--nodes` nodes: 80% creates of persistent nodes under
  1,000 parents (`/bench/s<k>/n<i>`), 10% setData, 3% deletes, 4% multis (2–4 ops: create,
  setData, check), 3% failing creates (NodeExists: ZooKeeper logs an error txn for each);
* churn phase, until the logs hold `--log-gb` GB: 45% setData, 20% creates, 20% deletes (the
  tree keeps its size), 8% multis, 7% failing creates;
* values of 100 B–4 KiB in both: 80% of 100–200 B, 15% of 200 B–1 KiB, 5% of 1–4 KiB;
* all along, sessions come and go: every 20,000 ops a new client session takes an ephemeral
  node, a sequential lock node under `/locks/l<k>` and a party member; the oldest session is
  closed when more than 12 are open (closeSession deletes its ephemerals). The sessions open at
  the end are left open when the server is killed, so the data dir holds live sessions and
  ephemeral nodes, as a crashed member's would.

The server is stopped with SIGKILL at the end (a real outage: nothing flushed at shutdown). The
data dir is left in OUT/datadir/version-2 with OUT/manifest.json describing it. Takes 10–20
minutes on 2 cores. Kept outside git (benches/generated/ is ignored).
"""
import argparse
import json
import os
import random
import shutil
import signal
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "harness"))
from zkharness import ZkServer  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import KazooException  # noqa: E402

PARENTS = 1000
IN_FLIGHT = 1500


def value(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.80:
        n = rng.randint(100, 200)
    elif r < 0.95:
        n = rng.randint(200, 1024)
    else:
        n = rng.randint(1024, 4096)
    return rng.randbytes(n)


_closed_logs: dict[str, int] = {}


def _used(p: Path) -> int:
    """Bytes of a log up to its last non-zero byte (the rest is ZooKeeper's zero padding)."""
    with open(p, "rb") as f:
        pos = f.seek(0, 2)
        step = 1 << 20
        while pos > 0:
            start = max(0, pos - step)
            f.seek(start)
            stripped = f.read(pos - start).rstrip(b"\0")
            if stripped:
                return start + len(stripped)
            pos = start
    return 0


def used_log_bytes(version2: Path) -> int:
    """Txn log bytes written so far; logs other than the newest are measured once."""
    logs = sorted(version2.glob("log.*"), key=lambda p: int(p.name[4:], 16))
    total = 0
    for i, p in enumerate(logs):
        if i + 1 < len(logs):
            if p.name not in _closed_logs:
                _closed_logs[p.name] = _used(p)
            total += _closed_logs[p.name]
        else:
            total += _used(p)
    return total


class Driver:
    def __init__(self, hosts: str, seed: int):
        self.rng = random.Random(seed)
        self.hosts = hosts
        self.zk = KazooClient(hosts=hosts, timeout=30)
        self.zk.start(timeout=30)
        self.pending: deque = deque()
        self.live: list[int] = []          # ids of existing /bench/s*/n<i>
        self.next_id = 0
        self.ops = 0
        self.sessions: deque = deque()
        self.session_no = 0

    @staticmethod
    def path(i: int) -> str:
        return f"/bench/s{i % PARENTS}/n{i}"

    def _wait(self, limit: int) -> None:
        while len(self.pending) > limit:
            res = self.pending.popleft()
            try:
                res.get(timeout=60)
            except KazooException:
                pass    # NodeExists / NoNode / BadVersion: expected in a racing mix

    def submit(self, res) -> None:
        self.pending.append(res)
        self.ops += 1
        if len(self.pending) > IN_FLIGHT:
            self._wait(IN_FLIGHT // 2)
        if self.ops % 20000 == 0:
            self.session_turn()

    def setup(self) -> None:
        self.zk.ensure_path("/bench")
        self.zk.ensure_path("/locks")
        self.zk.ensure_path("/party")
        for k in range(PARENTS):
            self.submit(self.zk.create_async(f"/bench/s{k}", b"parent"))
        for k in range(20):
            self.submit(self.zk.create_async(f"/locks/l{k}", b""))
        self._wait(0)

    def create(self) -> None:
        i = self.next_id
        self.next_id += 1
        self.live.append(i)
        self.submit(self.zk.create_async(self.path(i), value(self.rng)))

    def set_data(self) -> None:
        if self.live:
            self.submit(self.zk.set_async(self.path(self.rng.choice(self.live)), value(self.rng)))

    def delete(self) -> None:
        if self.live:
            k = self.rng.randrange(len(self.live))
            self.live[k], self.live[-1] = self.live[-1], self.live[k]
            self.submit(self.zk.delete_async(self.path(self.live.pop())))

    def failing_create(self) -> None:
        if self.live:
            self.submit(self.zk.create_async(self.path(self.rng.choice(self.live)), b"dup"))

    def multi(self) -> None:
        t = self.zk.transaction()
        for _ in range(self.rng.randint(2, 4)):
            r = self.rng.random()
            if r < 0.5 or not self.live:
                i = self.next_id
                self.next_id += 1
                self.live.append(i)
                t.create(self.path(i), value(self.rng))
            elif r < 0.85:
                t.set_data(self.path(self.rng.choice(self.live)), value(self.rng))
            else:
                t.check(f"/bench/s{self.rng.randrange(PARENTS)}", -1)
        self.submit(t.commit_async())

    def session_turn(self) -> None:
        """A client comes: an ephemeral, a lock node and a party member; the oldest goes."""
        self.session_no += 1
        c = KazooClient(hosts=self.hosts, timeout=30)
        c.start(timeout=30)
        n = self.session_no
        c.create(f"/party/member-{n}", b"host-%d:2181" % n, ephemeral=True)
        c.create(f"/locks/l{n % 20}/lock-", b"", ephemeral=True, sequence=True)
        c.create(f"/bench/s{n % PARENTS}/worker-{n}", value(self.rng), ephemeral=True)
        self.sessions.append(c)
        if len(self.sessions) > 12:
            old = self.sessions.popleft()
            old.stop()
            old.close()

    def run(self, weights: list[tuple[float, str]], until) -> None:
        cum = []
        acc = 0.0
        for w, name in weights:
            acc += w
            cum.append((acc, getattr(self, name)))
        check_every = 5000
        while True:
            for _ in range(check_every):
                r = self.rng.random() * acc
                for edge, fn in cum:
                    if r < edge:
                        fn()
                        break
            if until():
                self._wait(0)
                return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", default="3.9", choices=["3.8", "3.9"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--log-gb", type=float, default=1.0)
    ap.add_argument("--heap", default="4g")
    ap.add_argument("--seed", type=int, default=20261202)
    a = ap.parse_args()

    out = Path(a.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    datadir = out / "datadir"
    version2 = datadir / "version-2"
    srv = ZkServer(a.version, datadir, prealloc_kb=None, snap_count=None, heap=a.heap,
                   log_level="WARN", workdir=out / "work")
    t0 = time.monotonic()
    srv.start()
    try:
        d = Driver(srv.hosts, a.seed)
        d.setup()
        d.run([(0.80, "create"), (0.10, "set_data"), (0.03, "delete"), (0.04, "multi"),
               (0.03, "failing_create")],
              until=lambda: len(d.live) >= a.nodes)
        print(f"grow phase: {len(d.live):,} nodes, {d.ops:,} ops, "
              f"{time.monotonic() - t0:.0f} s", file=sys.stderr)
        target = int(a.log_gb * 1e9)
        d.run([(0.45, "set_data"), (0.20, "create"), (0.20, "delete"), (0.08, "multi"),
               (0.07, "failing_create")],
              until=lambda: used_log_bytes(version2) >= target)
        print(f"churn phase: {len(d.live):,} nodes, {d.ops:,} ops, "
              f"{time.monotonic() - t0:.0f} s", file=sys.stderr)
        d.zk.stop()
        d.zk.close()
        # The sessions still in d.sessions stay open: the kill below leaves them (and their
        # ephemerals) in the data dir, as a crashed member would.
        os.killpg(srv.pid, signal.SIGKILL)
        srv.proc.wait()
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill9()
    logs = sorted(version2.glob("log.*"))
    snaps = sorted(version2.glob("snapshot.*"), key=lambda p: int(p.name.split('.')[1], 16))
    manifest = {
        "zookeeper": a.version,
        "seed": a.seed,
        "ops": d.ops,
        "liveNodesAtEnd": len(d.live),
        "openSessionsAtEnd": len(d.sessions),
        "logs": len(logs),
        "logFileBytes": sum(p.stat().st_size for p in logs),
        "logUsedBytes": used_log_bytes(version2),
        "snapshots": len(snaps),
        "snapshotBytes": sum(p.stat().st_size for p in snaps),
        "newestSnapshot": snaps[-1].name if snaps else None,
        "seconds": round(time.monotonic() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out / "work", ignore_errors=True)
    print(json.dumps(manifest, indent=2))
    sys.stdout.flush()
    # The open sessions' clients would keep retrying the dead server: leave without them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
