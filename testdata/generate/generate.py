#!/usr/bin/env python3
"""Generate real ZooKeeper data dirs (txn logs + snapshots) for zkformat's tests.

Every scenario starts a real ZooKeeper server (tests/harness/zkharness.py) on a
fresh data dir, drives it with kazoo and, where kazoo cannot, with the small
Java client ZkOps.java (compiled here against the version's own jar), captures
the served tree through kazoo just before shutdown (expected-tree.json), stops
the server and copies the data dir into <out>/<scenario>/:

    <out>/<scenario>/version-2/{log.*,snapshot.*[.gz|.snappy],acceptedEpoch,currentEpoch}
    <out>/<scenario>/expected-tree.json   served tree at shutdown
    <out>/<scenario>/scenario.json        version, flags, steps, zxids, per-file facts

Every file is then checked with ZooKeeper's own TxnLogToolkit and SnapshotFormatter.

    python3 testdata/generate/generate.py --version 3.8 --out testdata/zk-3.8
    python3 testdata/generate/generate.py --version 3.9 --scenario basic --scenario multi
    python3 testdata/generate/generate.py --all            # every version -> testdata/zk-<v>
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
import zkharness as zh  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError,  # noqa: E402
                              RolledBackError)
from kazoo.security import make_acl, make_digest_acl, make_digest_acl_credential  # noqa: E402

DIGEST_USER, DIGEST_PW = "alice", "alice-secret"
SUPER_PW = "super-secret"
SESSION_TIMEOUT = 4.0  # seconds; servers run with tickTime=1000 (min 2 s, max 20 s)


import logging  # noqa: E402
logging.basicConfig(level=logging.ERROR)
logging.getLogger("kazoo").setLevel(logging.CRITICAL)


def log(msg: str) -> None:
    print(f"[generate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def srvr_zxid(srv: zh.ZkServer) -> str:
    m = re.search(r"Zxid: (0x[0-9a-f]+)", srv.four_letter("srvr"))
    return m.group(1) if m else "?"


# ---------------------------------------------------------------------------- Java helper
_java_builds: dict[str, Path] = {}


def java_build(version: str) -> Path:
    if version in _java_builds:
        return _java_builds[version]
    out = Path(tempfile.mkdtemp(prefix=f"zkops-{version}-"))
    import atexit
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["javac", "-nowarn", "-d", str(out), "-cp", zh.classpath(version),
                    str(HERE / "ZkOps.java")], check=True)
    _java_builds[version] = out
    return out


def run_java(srv: zh.ZkServer, script: str, session_timeout_ms: int = 10000,
             timeout: float = 180) -> str:
    """Run a ZkOps script against srv; returns its stdout (raises on failure)."""
    build = java_build(srv.version)
    cmd = ["java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           f"-Dlog4j.configuration=file:{zh._tools_log4j()}",
           "-cp", os.pathsep.join([str(build), zh.classpath(srv.version)]),
           "ZkOps", srv.hosts, str(session_timeout_ms)]
    r = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"ZkOps failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-3000:]}")
    return r.stdout


# ---------------------------------------------------------------------------- clients
def kazoo_client(srv: zh.ZkServer, auth: bool = True, timeout: float = SESSION_TIMEOUT,
                 track: bool = True) -> KazooClient:
    c = srv.client(timeout=timeout, track=track)
    if auth:
        c.add_auth("digest", f"{DIGEST_USER}:{DIGEST_PW}")
    return c


_ABANDON_CODE = r"""
import os, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[2]))
zk.start(timeout=30)
print(hex(zk.client_id[0]), flush=True)
for p in sys.argv[3:]:
    zk.create(p, b"abandoned", ephemeral=True, makepath=True)
os._exit(0)   # no closeSession: the server expires the session later
"""


def abandoned_session(srv: zh.ZkServer, *ephemerals: str, timeout: float = SESSION_TIMEOUT) -> str:
    """Open a session in a child process, create ephemerals, die without closing."""
    r = subprocess.run([sys.executable, "-c", _ABANDON_CODE, srv.hosts, str(timeout), *ephemerals],
                       capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.strip()


def wait_gone(zk: KazooClient, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while zk.exists(path) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} still exists after {timeout}s")
        time.sleep(0.2)


# ---------------------------------------------------------------------------- a run
class Run:
    """One scenario for one version: owns the temp data dir and the metadata."""

    def __init__(self, version: str, name: str, out_root: Path, description: str,
                 jvm_flags: list[str] | None = None, snap_count: int = 40,
                 config_extra: dict | None = None, quorum: bool = False, prealloc_kb: int = 8):
        self.version, self.name, self.description = version, name, description
        self.out = out_root / name
        self.tmp = Path(tempfile.mkdtemp(prefix=f"gen-{version}-{name}-"))
        self.datadir = self.tmp / "data"
        self.jvm_flags = list(jvm_flags or [])
        self.snap_count = snap_count
        self.config_extra = dict(config_extra or {})
        self.quorum = quorum
        self.prealloc_kb = prealloc_kb
        self.steps: list[dict] = []
        self.sessions: dict[str, str] = {}
        self.server_logs: list[str] = []
        self.extra: dict = {}
        self.tree: list | None = None
        self.zxid_at_capture = None
        self.servers: list[zh.ZkServer] = []

    def server(self, **kw) -> zh.ZkServer:
        args = dict(jvm_flags=self.jvm_flags, snap_count=self.snap_count,
                    config_extra=self.config_extra, prealloc_kb=self.prealloc_kb,
                    quorum=self.quorum, tick_time=1000, max_session_timeout=20000,
                    workdir=self.tmp / f"server{len(self.server_logs)}")
        args.update(kw)
        srv = zh.ZkServer(self.version, self.datadir, **args)
        self.servers.append(srv)
        srv.start()
        self.server_logs.append(str(srv.log_path))
        self.step(srv, "server started" + (f" (restart #{len(self.server_logs) - 1})"
                                            if len(self.server_logs) > 1 else ""))
        return srv

    def step(self, srv: zh.ZkServer | None, what: str) -> None:
        z = srvr_zxid(srv) if srv is not None and srv.running() else None
        self.steps.append({"what": what, "zxid_after": z})

    def capture_and_stop(self, srv: zh.ZkServer) -> None:
        """Capture the served tree through a fresh session that stays open, then stop."""
        c = kazoo_client(srv, auth=True, timeout=10.0)
        c.sync("/")
        self.zxid_at_capture = srvr_zxid(srv)
        self.tree = zh.capture_tree(c)
        self.sessions[hex(c.client_id[0])] = "tree-capture session, open at shutdown"
        self.step(srv, "expected tree captured; server stopped with SIGTERM, open sessions left open")
        srv.stop(close_clients=False)

    def stop_plain(self, srv: zh.ZkServer, what: str = "server stopped (SIGTERM)") -> None:
        self.step(srv, what)
        srv.stop(close_clients=False)

    # ------------------------------------------------------------------ output
    def write(self) -> dict:
        if self.out.exists():
            shutil.rmtree(self.out)
        dst = self.out / "version-2"
        dst.mkdir(parents=True)
        src = self.datadir / "version-2"
        for f in sorted(src.iterdir()):
            if f.is_file() and not f.name.endswith(".tmp"):
                shutil.copy2(f, dst / f.name)
        if (self.datadir / "myid").exists():
            shutil.copy2(self.datadir / "myid", self.out / "myid")
        files = verify_dir(self.version, dst)
        if self.tree is not None:
            (self.out / "expected-tree.json").write_text(json.dumps({
                "zookeeper": zh.exact_version(self.version),
                "zxid_at_capture": self.zxid_at_capture,
                "note": "served view through kazoo just before shutdown; cversion is the served "
                        "value (2*stored - numChildren); data_b64 null = null data",
                "nodes": self.tree}, indent=1, sort_keys=True) + "\n")
        meta = {
            "scenario": self.name,
            "description": self.description,
            "zookeeper_version": self.version,
            "debian_package": "libzookeeper-java " + zh.exact_version(self.version),
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
            "command": f"python3 testdata/generate/generate.py --version {self.version} "
                       f"--out testdata/zk-{self.version} --scenario {self.name}",
            "server": {
                "main": "QuorumPeerMain (1-member ensemble, standaloneEnabled=false)" if self.quorum
                        else "ZooKeeperServerMain (standalone)",
                "jvm_flags": [f"-Dzookeeper.snapCount={self.snap_count}",
                              f"-Dzookeeper.preAllocSize={self.prealloc_kb}", *self.jvm_flags],
                "config_extra": self.config_extra,
                "tickTime": 1000,
                "starts": len(self.server_logs),
            },
            "sessions": self.sessions,
            "steps": self.steps,
            "files": files,
            **self.extra,
        }
        (self.out / "scenario.json").write_text(json.dumps(meta, indent=1) + "\n")
        return meta

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- verification
_OP_RE = re.compile(r" zxid (0x[0-9a-f]+) (\S+)")
_SNAP_ZXID_RE = re.compile(r"^\s*[cmp]Zxid = (0x[0-9a-f]+)", re.M)


# Op codes as named by ZooKeeper's Request.op2String / TxnLogToolkit.
OP_NAMES = {1: "create", 2: "delete", 5: "setData", 7: "setACL", 13: "check", 14: "multi",
            15: "create2", 16: "reconfig", 19: "createContainer", 20: "deleteContainer",
            21: "createTTL", -1: "error", -10: "createSession", -11: "closeSession"}


def scan_log(path: Path) -> dict:
    """Independent minimal walk over a txn log: checksums, op types incl. multi sub-ops.

    Used only to report coverage (ZooKeeper's TxnLogToolkit is the verifier).
    """
    import struct
    import zlib
    b = path.read_bytes()
    magic, ver, _dbid = struct.unpack(">iiq", b[:16])
    pos, top, sub = 16, collections.Counter(), collections.Counter()
    crc_ok = True
    while pos + 12 <= len(b):
        crc, ln = struct.unpack(">qi", b[pos:pos + 12])
        if ln == 0 and crc == 0:
            break
        payload = b[pos + 12:pos + 12 + ln]
        if (zlib.adler32(payload) & 0xffffffff) != crc:
            crc_ok = False
        typ = struct.unpack(">i", payload[28:32])[0]
        top[OP_NAMES.get(typ, str(typ))] += 1
        if typ == 14:
            q = 32
            (n,) = struct.unpack(">i", payload[q:q + 4])
            q += 4
            for _ in range(max(n, 0)):
                st, dl = struct.unpack(">ii", payload[q:q + 8])
                q += 8 + max(dl, 0)
                sub[OP_NAMES.get(st, str(st))] += 1
        pos += 12 + ln + 1   # trailing 'B'
    return {"magic_ok": magic == 0x5a4b4c47 and ver == 2, "crc_ok": crc_ok,
            "ops_decoded": dict(sorted(top.items())), "multi_sub_ops": dict(sorted(sub.items()))}


def verify_dir(version: str, d: Path) -> dict:
    """Run TxnLogToolkit / SnapshotFormatter on every file; return per-file facts."""
    facts = {}
    def order(p: Path):
        parts = p.name.split(".")
        try:
            return (0 if parts[0] == "log" else 1, int(parts[1], 16), p.name)
        except (IndexError, ValueError):
            return (2, 0, p.name)

    for f in sorted(d.iterdir(), key=order):
        info: dict = {"bytes": f.stat().st_size}
        if f.name.startswith("log."):
            r = zh.java_tool(version, "org.apache.zookeeper.server.persistence.TxnLogToolkit",
                             ["-d", str(f)])
            ok = r.returncode == 0 and "EOF reached after" in r.stdout and "Exception" not in r.stderr
            ops = collections.Counter(m.group(2) for m in _OP_RE.finditer(r.stdout))
            zx = [int(m.group(1), 16) for m in _OP_RE.finditer(r.stdout)]
            info.update(tool="TxnLogToolkit -d", ok=ok, txns=sum(ops.values()), ops=dict(sorted(ops.items())))
            if zx:
                info["zxids"] = [hex(min(zx)), hex(max(zx))]
            info.update(scan_log(f))
            if not ok:
                raise RuntimeError(f"TxnLogToolkit failed on {f}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        elif f.name.startswith("snapshot."):
            r = zh.java_tool(version, "org.apache.zookeeper.server.SnapshotFormatter", [str(f)])
            ok = r.returncode == 0 and "Session Details" in r.stdout and "Exception" not in r.stderr
            nodes = r.stdout.count("\n----\n/") + 1 if ok else 0
            name_zxid = int(f.name.split(".")[1], 16)
            node_zxids = [int(x, 16) for x in _SNAP_ZXID_RE.findall(r.stdout)]
            m = re.search(r"Last zxid: (0x[0-9a-f]+)", r.stdout)
            info.update(tool="SnapshotFormatter", ok=ok, nodes=nodes,
                        max_node_zxid=hex(max(node_zxids)) if node_zxids else None,
                        fuzzy=bool(node_zxids) and max(node_zxids) > name_zxid)
            if m:
                info["last_zxid_section"] = m.group(1)
            if not ok:
                raise RuntimeError(f"SnapshotFormatter failed on {f}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        facts[f.name] = info
    return facts


# ---------------------------------------------------------------------------- scenarios
def sc_basic(run: Run) -> None:
    srv = run.server()
    a = kazoo_client(srv)                       # closed cleanly at the end of phase 1
    run.sessions[hex(a.client_id[0])] = "client A: closed cleanly (closeSession)"
    digest = make_digest_acl(DIGEST_USER, DIGEST_PW, all=True)
    ip_acl = make_acl("ip", "127.0.0.1", read=True, write=True, create=True, delete=True, admin=True)
    world_ro = make_acl("world", "anyone", read=True)

    a.create("/app", b"hello")
    for i in range(3):
        a.create("/app/seq-", f"item {i}".encode(), sequence=True)
    a.create("/bin", bytes(range(256)))                      # non-UTF-8 data
    a.create("/bin/high", b"\xff\xfe\x00\x80\xc3\x28")       # invalid UTF-8
    a.create("/empty", b"")
    a.create("/nulldata", None)                                # null buffer (len -1)
    a.create("/unicode-\u00e9\u4e2d", "caf\u00e9 \u2603".encode())
    a.create("/deep/a/b/c/d", b"leaf", makepath=True)
    a.create("/acl")
    a.create("/acl/digest", b"secret", acl=[digest])
    a.create("/acl/ip", b"ip-only", acl=[ip_acl])
    a.create("/acl/mixed", b"m", acl=[digest, world_ro])
    run.step(srv, "creates: persistent, sequential, binary, empty, null data, unicode path, "
                  "makepath, digest/ip/mixed ACLs")
    for i in range(5):
        a.set("/app", f"hello v{i + 1}".encode())
    a.set("/nulldata", None)
    a.set("/empty", b"now-not-empty")
    a.set("/empty", b"")
    a.set_acls("/acl/ip", [ip_acl, world_ro])
    a.set_acls("/acl/mixed", [digest])
    a.delete("/deep/a/b/c/d")
    a.delete("/deep/a/b/c")
    run.step(srv, "setData x9 (incl. null and back to empty), setACL x2, delete x2")
    # failed writes are logged as `error` txns
    for fn in (lambda: a.create("/app", b"dup"),
               lambda: a.delete("/does-not-exist"),
               lambda: a.set("/app", b"bad", version=1),
               lambda: a.delete("/deep")):           # not empty
        try:
            fn()
        except Exception:
            pass
    run.step(srv, "4 failing writes (NodeExists, NoNode, BadVersion, NotEmpty)")

    # session B: ephemerals, then abandoned -> expires while the server runs
    sid = abandoned_session(srv, "/eph/b-ephemeral", "/app/b-eph")
    run.sessions[sid] = "client B: abandoned (process died), session expired by the server"
    wait_gone(a, "/app/b-eph", 60)
    run.step(srv, f"session {sid} expired (ephemerals /eph/b-ephemeral, /app/b-eph removed)")

    # session C: ephemerals left open across a restart
    c = kazoo_client(srv, timeout=20.0)
    run.sessions[hex(c.client_id[0])] = ("client C: ephemerals created, open at the first "
                                         "shutdown; expired by the restarted server")
    c.create("/eph/c-ephemeral", b"c", ephemeral=True)
    c.create("/eph/c-seq-", b"c", ephemeral=True, sequence=True)
    c.create("/eph/c-seq-", b"c", ephemeral=True, sequence=True)
    for i in range(10):
        a.create(f"/bulk/n{i:02d}", os.urandom(16), makepath=True)
    a.stop()
    a.close()
    run.step(srv, "client C ephemerals; 10 bulk creates; client A closed")
    run.stop_plain(srv, "server stopped (SIGTERM) with session C open")

    # phase 2: restart; session C is re-created from disk and later expires
    srv = run.server()
    d = kazoo_client(srv)
    run.sessions[hex(d.client_id[0])] = "client D: open at final shutdown (ephemerals kept)"
    wait_gone(d, "/eph/c-ephemeral", 60)
    run.step(srv, "session C expired after restart")
    d.create("/eph/d-ephemeral", b"d", ephemeral=True)
    d.create("/eph/d-eph-seq-", b"d", ephemeral=True, sequence=True)
    d.set("/app", b"after restart")
    d.delete("/bulk/n00")
    for i in range(10, 20):
        d.create(f"/bulk/n{i:02d}", os.urandom(8))
    e = kazoo_client(srv)
    run.sessions[hex(e.client_id[0])] = "client E: created and closed cleanly in phase 2"
    e.create("/eph/e-tmp", b"e", ephemeral=True)
    e.stop()
    e.close()
    run.step(srv, "phase 2 writes; client E closed (its ephemeral removed by closeSession)")
    run.capture_and_stop(srv)


def sc_recipes(run: Run) -> None:
    srv = run.server()
    a, b, c = (kazoo_client(srv, auth=False) for _ in range(3))
    for name, cl in zip("ABC", (a, b, c)):
        run.sessions[hex(cl.client_id[0])] = f"recipe client {name}: open at shutdown"
    la, lb, lc = (cl.Lock("/recipes/lock", identifier=n) for cl, n in zip((a, b, c), "abc"))
    la.acquire()
    got = {}

    def quiet(fn, *args):
        def body():
            try:
                fn(*args)
            except Exception:
                pass   # the session ends with the server at shutdown
        return body

    def contend(lock, key):
        got[key] = lock.acquire(timeout=60)

    tb = threading.Thread(target=quiet(contend, lb, "b"), daemon=True)
    tb.start()
    time.sleep(0.5)
    tc = threading.Thread(target=quiet(contend, lc, "c"), daemon=True)
    tc.start()
    time.sleep(0.5)
    la.release()
    tb.join(30)
    run.step(srv, f"Lock: A acquired+released, B acquired={got.get('b')}, C still waiting")

    # Election: A leads (blocked in its leader function until shutdown), B and C wait
    lead_evt = threading.Event()
    stop_evt = threading.Event()

    def lead():
        lead_evt.set()
        stop_evt.wait()

    ea = a.Election("/recipes/election", "leader-a")
    threading.Thread(target=quiet(ea.run, lead), daemon=True).start()
    lead_evt.wait(20)
    for cl, n in ((b, "b"), (c, "c")):
        threading.Thread(target=quiet(cl.Election("/recipes/election", f"cand-{n}").run,
                                      stop_evt.wait), daemon=True).start()
    time.sleep(0.5)
    run.step(srv, "Election: A leading, B and C candidates")

    parties = [cl.Party("/recipes/party", f"member-{n}") for cl, n in zip((a, b, c), "abc")]
    for p in parties:
        p.join()
    parties[2].leave()
    sp = a.ShallowParty("/recipes/shallow-party", "shallow-a")
    sp.join()
    run.step(srv, "Party: 3 joined, C left; ShallowParty joined")

    ctr = a.Counter("/recipes/counter")
    for _ in range(5):
        ctr += 1
    ctr -= 2
    fctr = b.Counter("/recipes/float-counter", default=0.0)
    fctr += 1.5
    run.step(srv, f"Counter: value {ctr.value}; float counter {fctr.value}")

    q = a.Queue("/recipes/queue")
    for i in range(6):
        q.put(f"job-{i}".encode(), priority=100 - i if i % 2 else 100)
    got_items = [q.get() for _ in range(3)]
    lq = b.LockingQueue("/recipes/locking-queue")
    lq.put_all([b"x", b"y", b"z"])
    item = lq.get(timeout=10)
    lq.consume()
    lq.get(timeout=10)  # taken and left in progress (lock held by B)
    run.step(srv, f"Queue: 6 put, got {got_items}; LockingQueue: 3 put, 1 consumed ({item!r}), 1 held")

    sem = c.Semaphore("/recipes/semaphore", max_leases=2, identifier="sem-c")
    sem.acquire()
    barrier = a.Barrier("/recipes/barrier")
    barrier.create()
    rlock = b.ReadLock("/recipes/rwlock", "reader-b")
    rlock.acquire()
    run.step(srv, "Semaphore lease held by C; Barrier created; ReadLock held by B")
    run.capture_and_stop(srv)
    stop_evt.set()


def sc_multi(run: Run) -> None:
    srv = run.server()
    a = kazoo_client(srv, auth=False)
    run.sessions[hex(a.client_id[0])] = "client A: open at shutdown"
    a.create("/m", b"root")
    t = a.transaction()
    t.create("/m/one", b"1")
    t.create("/m/two", b"2")
    t.create("/m/seq-", b"s", sequence=True)
    t.create("/m/eph", b"e", ephemeral=True)
    t.check("/m", 0)
    r1 = t.commit()
    t = a.transaction()
    t.set_data("/m/one", b"1b")
    t.delete("/m/two")
    t.check("/m/one", 1)
    t.create("/m/three", b"")
    t.set_data("/m", b"root v1", version=0)
    r2 = t.commit()
    run.step(srv, f"committed multi #1 {r1}; committed multi #2 {r2}")
    t = a.transaction()
    t.create("/m/never", b"x")
    t.check("/m/one", 99)           # fails -> whole multi rolled back
    t.delete("/m/three")
    r3 = t.commit()
    t = a.transaction()
    t.delete("/m/missing")          # fails on the first op
    t.create("/m/never2", b"y")
    r4 = t.commit()
    t = a.transaction()
    t.check("/m", 1)
    r5 = t.commit()                 # check-only multi
    run.step(srv, f"failed multi (check) {[type(x).__name__ for x in r3]}; failed multi "
                  f"(delete NoNode) {[type(x).__name__ for x in r4]}; check-only multi {r5}")
    for i in range(8):              # several small multis to cross snapshots
        t = a.transaction()
        t.create(f"/m/batch{i}", str(i).encode())
        t.set_data("/m", f"root v{i + 2}".encode())
        t.commit()
    run.step(srv, "8 small multis (create+setData)")
    if run.version != "3.4":
        out = run_java(srv, """
create2 /m/j-container - CONTAINER
multi
c /m/j-container/child x PERSISTENT
c /m/j-c2 - CONTAINER
c /m/j-p2 null PERSISTENT_SEQUENTIAL
s /m j-multi
end
multi
c /m/j-fail x PERSISTENT
k /m 12345
end
close
""")
        run.extra["java_output"] = out.splitlines()
        run.step(srv, "Java multi with createContainer/create/setData; failing Java multi")
    run.capture_and_stop(srv)


def sc_java_client(run: Run) -> None:
    srv = run.server()
    a = kazoo_client(srv, auth=False)
    run.sessions[hex(a.client_id[0])] = "kazoo client: open at shutdown"
    out = run_java(srv, """
create2 /j - PERSISTENT
create2 /j/p hello PERSISTENT
create2 /j/seq- hex:00ff10 PERSISTENT_SEQUENTIAL
create2 /j/seq- null PERSISTENT_SEQUENTIAL
create2 /j/eph e EPHEMERAL
create2 /j/eph-seq- e EPHEMERAL_SEQUENTIAL
create  /j/plain-create plain PERSISTENT
create2 /j/p dup PERSISTENT
create2 /j/container - CONTAINER
create2 /j/container/child1 x PERSISTENT
create2 /j/container/child2 x PERSISTENT
create2 /j/container-keep - CONTAINER
create2 /j/container-keep/child x PERSISTENT
create2 /j/ttl ttl-data PERSISTENT_WITH_TTL 3000
create2 /j/ttl-seq- ttl PERSISTENT_SEQUENTIAL_WITH_TTL 600000
create2 /j/ttl-keep keep PERSISTENT_WITH_TTL 600000
multi
c /j/multi-ttl x PERSISTENT_WITH_TTL 600000
c /j/multi-container - CONTAINER
c /j/multi-container/kid x PERSISTENT
s /j/p multi-set
end
set /j/p hello2
delete /j/container/child1
delete /j/container/child2
waitgone /j/container 60000
waitgone /j/ttl 60000
abandon
""", session_timeout_ms=4000)
    run.extra["java_output"] = out.splitlines()
    sid = out.split()[1]
    run.sessions[sid] = "Java client: abandoned (halt without close), expired by the server"
    run.step(srv, "Java: create2 (all modes), create, failing create2, containers, TTL nodes, "
                  "multi with createTTL/createContainer; container emptied -> deleteContainer; "
                  "TTL /j/ttl expired -> deleteContainer")
    wait_gone(a, "/j/eph", 60)
    run.step(srv, f"Java session {sid} expired")
    a.delete("/j/multi-container/kid")
    wait_gone(a, "/j/multi-container", 60)
    run.step(srv, "kazoo emptied /j/multi-container -> deleteContainer")
    run.capture_and_stop(srv)


def _mixed_workload(run: Run, srv: zh.ZkServer, rounds: int = 3) -> None:
    """A version-independent mix used by the flag scenarios."""
    a = kazoo_client(srv, auth=False)
    run.sessions[hex(a.client_id[0])] = "client A: open at shutdown"
    a.ensure_path("/w")
    for r in range(rounds):
        b = kazoo_client(srv, auth=False)
        b.create(f"/w/eph-{r}", b"b", ephemeral=True)
        b.create("/w/eph-seq-", b"b", ephemeral=True, sequence=True)
        for i in range(8):
            a.create(f"/w/r{r}-n{i}", os.urandom(12))
        for i in range(0, 8, 2):
            a.set(f"/w/r{r}-n{i}", b"updated")
        a.delete(f"/w/r{r}-n7")
        t = a.transaction()
        t.create(f"/w/r{r}-multi", b"m")
        t.set_data("/w", f"round {r}".encode())
        t.commit()
        try:
            a.create(f"/w/r{r}-n0", b"dup")
        except NodeExistsError:
            pass
        run.sessions[hex(b.client_id[0])] = f"round {r} client: closed cleanly (had ephemerals)"
        b.stop()
        b.close()
        run.step(srv, f"round {r}: ephemeral session closed, 8 creates, 4 sets, 1 delete, multi, error")
    sid = abandoned_session(srv, "/w/abandoned-eph")
    run.sessions[sid] = "abandoned session, expired by the server"
    wait_gone(a, "/w/abandoned-eph", 60)
    run.step(srv, f"session {sid} expired")
    c = kazoo_client(srv, auth=False)
    c.create("/w/open-eph", b"c", ephemeral=True)
    run.sessions[hex(c.client_id[0])] = "client C: open at shutdown with an ephemeral"


def sc_flagged(run: Run) -> None:
    srv = run.server()
    _mixed_workload(run, srv)
    run.capture_and_stop(srv)


def sc_fuzzy(run: Run) -> None:
    srv = run.server()
    a = kazoo_client(srv, auth=False)
    run.sessions[hex(a.client_id[0])] = "control client: open at shutdown"
    a.ensure_path("/fuzzy")
    workers = 4
    per_worker = 200
    keys = 60
    clients = [kazoo_client(srv, auth=False) for _ in range(workers)]
    errors = []

    def work(i: int, zk: KazooClient) -> None:
        try:
            base = f"/fuzzy/t{i}"
            zk.create(base, b"")
            pending = []
            for j in range(per_worker):
                k = j % keys
                p = f"{base}/n{k:03d}"
                if j < keys:
                    pending.append(zk.create_async(p, os.urandom(8)))
                elif j % 3 == 0:
                    pending.append(zk.delete_async(p))
                elif j % 3 == 1:
                    pending.append(zk.create_async(p, b"re"))
                else:
                    pending.append(zk.set_async(p, os.urandom(10)))
                if len(pending) >= 16:
                    for pr in pending:
                        try:
                            pr.get(timeout=30)
                        except (NoNodeError, NodeExistsError, BadVersionError):
                            pass
                    pending.clear()
            for pr in pending:
                try:
                    pr.get(timeout=30)
                except (NoNodeError, NodeExistsError, BadVersionError):
                    pass
        except Exception as e:  # pragma: no cover
            errors.append(repr(e))

    ths = [threading.Thread(target=work, args=(i, cl)) for i, cl in enumerate(clients)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(300)
    if errors:
        raise RuntimeError(errors)
    for i, cl in enumerate(clients):
        run.sessions[hex(cl.client_id[0])] = f"writer {i}: closed cleanly"
        cl.stop()
        cl.close()
    run.step(srv, f"{workers} concurrent writers x {per_worker} async ops (create/delete/setData, "
                  "incl. NodeExists/NoNode errors), snapshots taken while writing")
    run.capture_and_stop(srv)


def sc_reconfig(run: Run) -> None:
    srv = run.server()
    a = kazoo_client(srv, auth=False)
    a.add_auth("digest", f"super:{SUPER_PW}")
    run.sessions[hex(a.client_id[0])] = "super client: open at shutdown"
    a.create("/before-reconfig", b"x")
    data, _ = a.get("/zookeeper/config")
    run.extra["config_before"] = data.decode()
    p1, p2, p3 = zh.free_port(), zh.free_port(), zh.free_port()
    joining = f"server.2=127.0.0.1:{p1}:{p2}:observer;127.0.0.1:{p3}"
    data, _ = a.reconfig(joining=joining, leaving=None, new_members=None)
    run.extra["config_after_add"] = data.decode()
    run.step(srv, f"reconfig: added observer ({joining})")
    a.create("/between", b"y")
    data, _ = a.reconfig(joining=None, leaving="2", new_members=None)
    run.extra["config_after_remove"] = data.decode()
    run.step(srv, "reconfig: removed server 2")
    a.create("/after-reconfig", b"z")
    for i in range(24):
        a.create(f"/after-reconfig/n{i:02d}", b"%d" % i)
    run.step(srv, "24 creates after the reconfigs (crosses a snapshot)")
    run.capture_and_stop(srv)


SCENARIOS = {
    "basic": (sc_basic, ("3.4", "3.8", "3.9"), {},
              "persistent/sequential/ephemeral(-sequential) nodes, binary/empty/null data, "
              "setData, delete, setACL, world/digest/ip ACLs, failing writes (error txns), "
              "sessions closed, expired, and open at shutdown; one server restart"),
    "recipes": (sc_recipes, ("3.4", "3.8", "3.9"), {},
                "kazoo recipes: Lock (3 contenders), Election, Party, ShallowParty, Counter, "
                "Queue, LockingQueue, Semaphore, Barrier, ReadLock; locks/leases held at shutdown"),
    "multi": (sc_multi, ("3.4", "3.8", "3.9"), {"snap_count": 16},
              "kazoo transactions (committed, failed by check, failed by NoNode, check-only) and "
              "(3.5+) Java multi with createContainer"),
    "java-client": (sc_java_client, ("3.8", "3.9"),
                    {"snap_count": 16, "jvm_flags": ["-Dzookeeper.extendedTypesEnabled=true",
                                   "-Dznode.container.checkIntervalMs=1000",
                                   "-Dznode.container.maxPerMinute=1000"]},
                    "Java client: create2 with Stat, containers, TTL nodes (extendedTypesEnabled), "
                    "container manager deleteContainer of emptied container and expired TTL node"),
    "compressed-gz": (sc_flagged, ("3.8", "3.9"),
                      {"snap_count": 20, "jvm_flags": ["-Dzookeeper.snapshot.compression.method=gz"]},
                      "mixed workload; snapshots gzip-compressed (snapshot.<zxid>.gz)"),
    "compressed-snappy": (sc_flagged, ("3.8", "3.9"),
                          {"snap_count": 20, "jvm_flags": ["-Dzookeeper.snapshot.compression.method=snappy"]},
                          "mixed workload; snapshots snappy-compressed (snapshot.<zxid>.snappy)"),
    "digest-off": (sc_flagged, ("3.8", "3.9"),
                   {"snap_count": 20, "jvm_flags": ["-Dzookeeper.digest.enabled=false"]},
                   "mixed workload with zookeeper.digest.enabled=false (no txn/snapshot digests)"),
    "closesession-nobody": (sc_flagged, ("3.8", "3.9"),
                            {"snap_count": 20, "jvm_flags": ["-Dzookeeper.closeSessionTxn.enabled=false"]},
                            "mixed workload with zookeeper.closeSessionTxn.enabled=false "
                            "(closeSession txns without a body)"),
    "fuzzy": (sc_fuzzy, ("3.4", "3.8", "3.9"), {"snap_count": 150},
              "4 concurrent async writers, snapCount 150: snapshots written while writes are in flight"),
    "reconfig": (sc_reconfig, ("3.8", "3.9"),
                 {"quorum": True, "snap_count": 16,
                  "jvm_flags": ["-Dzookeeper.DigestAuthenticationProvider.superDigest="
                                + make_digest_acl_credential("super", SUPER_PW)]},
                 "1-member ensemble (QuorumPeerMain, standaloneEnabled=false, reconfigEnabled=true): "
                 "reconfig adding then removing an observer; epoch files"),
}

# ---------------------------------------------------------------------------- README
README_HEAD = """\
# Test data

All data below `zk-3.4/`, `zk-3.8/` and `zk-3.9/` was written by real Apache ZooKeeper
servers (Debian builds) driven by `generate/generate.py`; nothing was edited by hand.
`upstream/` holds unmodified fixtures from the Apache ZooKeeper repository (see
`upstream/NOTICE.md` and `upstream/MANIFEST.md`).

## Layout

    zk-<version>/<scenario>/
        version-2/            the server's data dir contents (point a server's dataDir at <scenario>/)
            log.<zxid>        txn logs (pre-allocated with zookeeper.preAllocSize=8 KiB, zero padded)
            snapshot.<zxid>[.gz|.snappy]
            acceptedEpoch, currentEpoch   (quorum mode only: `reconfig`)
        myid                  (quorum mode only)
        expected-tree.json    every znode as served through kazoo just before shutdown:
                              path, data (base64, null = null data), ACLs, full Stat
        scenario.json         version, flags, steps with the zxid after each, sessions
                              (closed / expired / open at shutdown), and per-file facts
                              from ZooKeeper's own tools (op counts, zxid range, node count,
                              whether a snapshot is fuzzy)

Conventions used by every scenario: standalone `ZooKeeperServerMain` (except `reconfig`),
`tickTime=1000`, `maxSessionTimeout=20000`, `-Dzookeeper.preAllocSize=8`, a small
`-Dzookeeper.snapCount` (so there are several snapshots and log roll-overs), clients on
127.0.0.1. The final shutdown is a SIGTERM with the tree-capture session (and usually
others) still open, so the last log ends with sessions that are open in the data dir.
A 3.5+ server writes `snapshot.<zxid>` at start-up; 3.4 does not.

"fuzzy" below = the snapshot contains a node whose czxid/mzxid/pzxid is greater than the
zxid in the snapshot's file name (a snapshot written while writes were in flight). Deletes
during a snapshot are not detected by this check. "N nodes" is the `count=` that ZooKeeper's
SnapshotFormatter prints, which counts the root twice (ZooKeeper's tree keeps it under both ""
and "/"): the snapshot holds N - 1 distinct paths (what `zkdump summary` reports).

## Versions

| dir | ZooKeeper | Debian package |
|---|---|---|
{versions}

## Regenerating

    bash scripts/install-deps.sh                      # ZooKeeper 3.4/3.8/3.9, kazoo
    python3 testdata/generate/generate.py --all       # everything (a few minutes)
    python3 testdata/generate/generate.py --version 3.9 --out testdata/zk-3.9 --scenario basic

Re-running overwrites the scenario folders; timestamps, session ids and random data change
every time, so regenerated files differ byte-wise from the committed ones.
Every file is checked with `TxnLogToolkit -d` and `SnapshotFormatter` during generation;
generation fails if either tool fails. Two more checks over the committed files:

    python3 testdata/generate/generate.py --reverify       # re-run the tools, refresh facts + this README
    python3 testdata/generate/generate.py --check-restore  # start each version on a copy of each data
                                                           # dir, compare the tree with expected-tree.json

"""


def write_readme(testdata: Path) -> Path:
    metas = []
    for sj in sorted(testdata.glob("zk-*/*/scenario.json")):
        metas.append((sj.parent, json.loads(sj.read_text())))
    versions = []
    for v in zh.VERSIONS:
        if (testdata / f"zk-{v}").exists():
            versions.append(f"| `zk-{v}/` | {zh.exact_version(v).split('-')[0]} | "
                            f"libzookeeper-java {zh.exact_version(v)} |")
    out = [README_HEAD.replace("{versions}", "\n".join(versions))]
    out.append("## Op coverage (txn types in the logs, counted over all scenarios)\n")
    out.append("| version | top-level txn types | inside multi | fuzzy snapshots |\n|---|---|---|---:|")
    for v in zh.VERSIONS:
        top, sub, fz = collections.Counter(), collections.Counter(), 0
        for d, m in metas:
            if m["zookeeper_version"] != v:
                continue
            for info in m["files"].values():
                top.update(info.get("ops_decoded", {}))
                sub.update(info.get("multi_sub_ops", {}))
                fz += bool(info.get("fuzzy"))
        if top:
            out.append(f"| {v} | " + ", ".join(f"{k} {n}" for k, n in sorted(top.items())) + " | "
                       + ", ".join(f"{k} {n}" for k, n in sorted(sub.items())) + f" | {fz} |")
    out.append("\n## Scenarios and files\n")
    by_name: dict[str, list] = collections.defaultdict(list)
    for d, m in metas:
        by_name[m["scenario"]].append((d, m))
    for name in SCENARIOS:
        if name not in by_name:
            continue
        first = by_name[name][0][1]
        out.append(f"\n### `{name}`\n\n{first['description']}.\n")
        for d, m in by_name[name]:
            rel = d.relative_to(testdata)
            srv = m["server"]
            rel_v = m["debian_package"].split()[-1].split("-")[0]
            out.append(f"\n#### `{rel}/` — ZooKeeper {rel_v} ({m['debian_package']}), "
                       f"generated {m['generated']}\n")
            out.append(f"* server: {srv['main']}; JVM flags `{' '.join(srv['jvm_flags'])}`"
                       + (f"; zoo.cfg extra {srv['config_extra']}" if srv['config_extra'] else "")
                       + f"; started {srv['starts']}x")
            out.append(f"* command: `{m['command']}`")
            out.append("* steps (zxid after each):")
            for st in m["steps"]:
                out.append(f"  * {st['what']} → `{st['zxid_after']}`")
            out.append("* sessions:")
            for sid, what in m["sessions"].items():
                out.append(f"  * `{sid}`: {what}")
            out.append("\n| file | bytes | contents (TxnLogToolkit / SnapshotFormatter ran cleanly) |\n|---|---:|---|")
            for fname, info in m["files"].items():
                if "ops" in info:
                    ops = ", ".join(f"{k} {v}" for k, v in info.get("ops_decoded", info["ops"]).items())
                    if info.get("multi_sub_ops"):
                        ops += " (multi sub-ops: " + ", ".join(
                            f"{k} {v}" for k, v in info["multi_sub_ops"].items()) + ")"
                    z = "–".join(info.get("zxids", []))
                    desc = f"{info['txns']} txns {z}: {ops}"
                elif "nodes" in info:
                    desc = f"{info['nodes']} nodes, max node zxid {info['max_node_zxid']}" + \
                        (" (**fuzzy**)" if info.get("fuzzy") else "")
                else:
                    desc = "epoch file"
                out.append(f"| `version-2/{fname}` | {info['bytes']} | {desc} |")
            out.append("")
    path = testdata / "README.md"
    path.write_text("\n".join(out).rstrip() + "\n")
    return path



def check_restore(scenario_dir: Path) -> list[str]:
    """Start the scenario's ZooKeeper on a copy of its data dir and compare the served
    tree with expected-tree.json. Returns a list of differences (empty = identical)."""
    m = json.loads((scenario_dir / "scenario.json").read_text())
    name = m["scenario"]
    if name == "reconfig":
        return ["skipped: quorum data dir (needs the original peer ports)"]
    opts = SCENARIOS[name][2]
    expected = json.loads((scenario_dir / "expected-tree.json").read_text())["nodes"]
    tmp = Path(tempfile.mkdtemp(prefix=f"check-{m['zookeeper_version']}-{name}-"))
    try:
        shutil.copytree(scenario_dir / "version-2", tmp / "data" / "version-2")
        srv = zh.ZkServer(m["zookeeper_version"], tmp / "data", jvm_flags=opts.get("jvm_flags", []),
                          tick_time=1000, max_session_timeout=20000, workdir=tmp / "server")
        with srv:
            c = kazoo_client(srv, auth=True, timeout=10.0)
            got = zh.capture_tree(c)
        exp_by, got_by = {n["path"]: n for n in expected}, {n["path"]: n for n in got}
        diffs = [f"missing {p}" for p in sorted(set(exp_by) - set(got_by))]
        diffs += [f"extra {p}" for p in sorted(set(got_by) - set(exp_by))]
        for p in sorted(set(exp_by) & set(got_by)):
            if exp_by[p] != got_by[p]:
                diffs.append(f"differs {p}: expected {exp_by[p]} got {got_by[p]}")
        return diffs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def generate(version: str, out: Path, names: list[str]) -> list[dict]:
    metas = []
    for name in names:
        fn, versions, opts, desc = SCENARIOS[name]
        if version not in versions:
            log(f"{version}/{name}: not applicable, skipped")
            continue
        t0 = time.monotonic()
        log(f"{version}/{name}: start")
        attempts = 8 if name == "fuzzy" else 1
        for attempt in range(1, attempts + 1):
            run = Run(version, name, out, desc, **opts)
            ok = False
            try:
                fn(run)
                meta = run.write()
                ok = True
            finally:
                for srv in run.servers:
                    if srv.running():
                        srv.kill9()
                if not ok:
                    for p in run.server_logs:
                        log(f"server log kept: {p}")
                else:
                    run.cleanup()
            if name != "fuzzy" or any(f.get("fuzzy") for f in meta["files"].values()):
                break
            log(f"{version}/{name}: no fuzzy snapshot in attempt {attempt}, retrying")
        metas.append(meta)
        size = sum(v["bytes"] for v in meta["files"].values())
        log(f"{version}/{name}: {len(meta['files'])} files, {size} bytes, "
            f"{time.monotonic() - t0:.0f}s")
    return metas


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", choices=zh.VERSIONS, action="append")
    ap.add_argument("--all", action="store_true", help="every version into testdata/zk-<version>")
    ap.add_argument("--out", type=Path, help="output root (default testdata/zk-<version>)")
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                    help="scenario(s) to generate (default: all that apply)")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite testdata/README.md from the scenario.json files")
    ap.add_argument("--reverify", action="store_true",
                    help="re-run ZooKeeper's tools over the existing testdata/zk-*/ files, "
                         "refresh the per-file facts in scenario.json and README.md")
    ap.add_argument("--check-restore", action="store_true",
                    help="start each version's server on a copy of every generated data dir and "
                         "compare the served tree with expected-tree.json")
    args = ap.parse_args()
    if args.check_restore:
        bad = 0
        for sj in sorted((ROOT / "testdata").glob("zk-*/*/scenario.json")):
            diffs = check_restore(sj.parent)
            rel = sj.parent.relative_to(ROOT)
            if diffs and not diffs[0].startswith("skipped"):
                bad += 1
                log(f"{rel}: {len(diffs)} differences")
                for d in diffs[:10]:
                    log(f"   {d}")
            else:
                log(f"{rel}: {'identical' if not diffs else diffs[0]}")
        return 1 if bad else 0
    if args.reverify:
        for sj in sorted((ROOT / "testdata").glob("zk-*/*/scenario.json")):
            m = json.loads(sj.read_text())
            m["files"] = verify_dir(m["zookeeper_version"], sj.parent / "version-2")
            sj.write_text(json.dumps(m, indent=1) + "\n")
            log(f"verified {sj.parent.relative_to(ROOT)}: {len(m['files'])} files OK")
        args.readme_only = True
    if args.readme_only:
        log(f"wrote {write_readme(ROOT / 'testdata')}")
        return 0
    versions = list(zh.VERSIONS) if args.all else (args.version or [])
    if not versions:
        ap.error("give --version or --all")
    if args.out and len(versions) > 1:
        ap.error("--out needs a single --version")
    names = args.scenario or list(SCENARIOS)
    for v in versions:
        out = (args.out or ROOT / "testdata" / f"zk-{v}").resolve()
        out.mkdir(parents=True, exist_ok=True)
        generate(v, out, names)
    log(f"wrote {write_readme(ROOT / 'testdata')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
