"""Helpers for the zkbackup real-server tests: running the binaries, the two kinds of store
(a local folder and S3 through a local `moto` server), a steady kazoo write load that records the
zxid of every acknowledged write, and the checks of a restored backup against that record.

Imported by tests/backup/conftest.py and the test modules (pytest.ini puts tests/backup on the
path); nothing here is a test by itself.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

from zkharness import ZkServer, free_port  # noqa: E402

_target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
ZKBACKUP = Path(os.environ.get("ZKBACKUP", _target / "debug" / "zkbackup"))
ZKFILTER = Path(os.environ.get("ZKFILTER", _target / "debug" / "zkfilter"))
ZKDUMP = Path(os.environ.get("ZKDUMP", _target / "debug" / "zkdump"))

IN_CI = bool(os.environ.get("CI"))
BACKUPS = "zkbackup/v1/backups"
READY, ERROR, BACKING_UP = "STATUS_READY", "STATUS_ERROR", "STATUS_BACKING_UP"
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
HEX = re.compile(r"0x[0-9a-fA-F]+")

# Environment variables zkbackup reads: never inherited from the caller's environment.
_SCRUB = ("ZKBACKUP_STORE", "ZKBACKUP_AUTH", "ZKBACKUP_TEST_PAUSE_MS", "AWS_ENDPOINT_URL",
          "AWS_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
          "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP", "AWS_PROFILE")


def hexint(v) -> int:
    if isinstance(v, int):
        return v
    assert isinstance(v, str) and v.startswith("0x"), f"not a 0x… hex string: {v!r}"
    return int(v, 16)


def hexes(text: str) -> set[int]:
    return {int(h, 16) for h in HEX.findall(text)}


def zxid_of_name(name: str) -> int:
    return int(Path(name).name.split(".")[1], 16)


def need_binary(path: Path = ZKBACKUP) -> None:
    import pytest
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build -p zkbackup` (or `cargo build --workspace`)")


# ---------------------------------------------------------------------------- stores
class LocalStore:
    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    def env(self) -> dict[str, str]:
        return {}

    def objects(self) -> dict[str, bytes]:
        """Every file under the store (key -> content), temporary files included."""
        out = {}
        if self.root.exists():
            for p in sorted(self.root.rglob("*")):
                if p.is_file():
                    out[p.relative_to(self.root).as_posix()] = p.read_bytes()
        return out

    def state(self) -> dict[str, str]:
        """What the store holds, for "untouched" checks: files with their sha256, and folders."""
        out = {}
        if self.root.exists():
            for p in sorted(self.root.rglob("*")):
                rel = p.relative_to(self.root).as_posix()
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        return out

    def keys(self, prefix: str = "") -> list[str]:
        return [k for k in self.objects() if k.startswith(prefix)]

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        (self.root / key).write_bytes(data)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def fetch(self, key: str, dest: Path) -> Path:
        shutil.copyfile(self.root / key, dest)
        return dest


class S3Store:
    """A prefix in a bucket of a local moto server; the tests read and write it with boto3
    (a dependency of moto itself)."""
    kind = "s3"

    def __init__(self, endpoint: str, bucket: str, prefix: str):
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}"
        self._client = None

    def env(self) -> dict[str, str]:
        return dict(S3_ENV, AWS_ENDPOINT_URL=self.endpoint)

    @property
    def s3(self):
        if self._client is None:
            self._client = s3_client(self.endpoint)
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    def keys(self, prefix: str = "") -> list[str]:
        out = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix))
        for page in pages:
            out += [o["Key"][len(self.prefix) + 1:] for o in page.get("Contents", [])]
        return sorted(out)

    def objects(self) -> dict[str, bytes]:
        return {k: self.read(k) for k in self.keys()}

    def state(self) -> dict[str, str]:
        return {k: hashlib.sha256(v).hexdigest() for k, v in self.objects().items()}

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        return bool(self.keys(key)) and key in self.keys(key)

    def fetch(self, key: str, dest: Path) -> Path:
        dest.write_bytes(self.read(key))
        return dest


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "zkbackup-test-key",
    "AWS_SECRET_ACCESS_KEY": "zkbackup-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def s3_client(endpoint: str):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name=S3_ENV["AWS_REGION"],
                        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"])


class MotoServer:
    """`python3 -m moto.server` on a free 127.0.0.1 port, stopped by its PID."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "MotoServer":
        log = open(self.workdir / "moto.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited:\n" + (self.workdir / "moto.log").read_text())
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("moto server did not start")

    def make_bucket(self, name: str) -> None:
        s3_client(self.endpoint).create_bucket(Bucket=name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait(10)


# ---------------------------------------------------------------------------- running tools
def tool_env(store=None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    if store is not None:
        env.update(store.env())
    env.update(extra or {})
    return env


def zkbackup(store, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180,
             use_store_flag: bool = True) -> subprocess.CompletedProcess:
    """Runs zkbackup with `--store STORE` (unless use_store_flag=False) and the store's
    environment; returns the CompletedProcess (text)."""
    cmd = [str(ZKBACKUP)]
    if store is not None and use_store_flag:
        cmd += ["--store", store.url]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=tool_env(store, env), errors="replace")


def zkbackup_popen(store, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    cmd = [str(ZKBACKUP), "--store", store.url, *[str(a) for a in args]]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=tool_env(store, env), errors="replace")


def explain(p: subprocess.CompletedProcess) -> str:
    return (f"`{' '.join(map(str, p.args))}` exited {p.returncode}\n--- stdout:\n{p.stdout[-3000:]}"
            f"\n--- stderr:\n{p.stderr[-3000:]}")


def create_ok(store, label: str, *source: str, env=None) -> str:
    """`create` that must succeed: returns the ID (the only line on stdout)."""
    p = zkbackup(store, "create", f"--label={label}", *source, env=env)
    assert p.returncode == 0, explain(p)
    return backup_id_from(p, label)


def backup_id_from(p: subprocess.CompletedProcess, label: str) -> str:
    lines = [l.strip() for l in p.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"stdout should be the backup ID alone:\n{explain(p)}"
    bid = lines[0]
    assert re.fullmatch(re.escape(label) + "-" + UUID4, bid), \
        f"{bid!r} is not `<label>-<uuid v4>`\n{explain(p)}"
    return bid


def run_tool(tool: Path, *args, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    p = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, errors="replace")
    if check and p.returncode != 0:
        raise AssertionError(explain(p))
    return p


def show(store, bid: str) -> dict:
    p = zkbackup(store, "show", bid)
    assert p.returncode == 0, explain(p)
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"`show` did not print JSON ({e}):\n{explain(p)}")


def list_json(store, *args: str) -> list[dict]:
    p = zkbackup(store, "list", "--json", *args)
    assert p.returncode == 0, explain(p)
    out = []
    for line in p.stdout.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AssertionError(f"`list --json` line is not JSON ({e}): {line!r}\n{explain(p)}")
    return out


def stored_manifest(store, bid: str) -> dict:
    return json.loads(store.read(f"{BACKUPS}/{bid}/manifest.json"))


# ---------------------------------------------------------------------------- archives
def archive_members(data: bytes) -> dict[str, bytes]:
    """name -> content of every regular file in a tar.gz (names as stored)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name] = tf.extractfile(m).read()
    return out


def extract_archive(data: bytes, dest: Path) -> Path:
    """Extracts to dest and returns the data dir (the folder that holds version-2)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for m in tf.getmembers():
            assert not m.name.startswith("/") and ".." not in Path(m.name).parts, m.name
        tf.extractall(dest, filter="data") if hasattr(tarfile, "data_filter") else tf.extractall(dest)
    v2 = [p for p in dest.rglob("version-2") if p.is_dir()]
    assert len(v2) == 1, f"the archive should hold one version-2/ folder: {list(dest.rglob('*'))}"
    return v2[0].parent


def verify_datadir(path: Path) -> dict:
    """`zkdump verify --json` of a data dir: exit status, findings, and the restore it describes
    (snapshot zxid, last zxid) parsed from the data dir's `verified` summary."""
    p = run_tool(ZKDUMP, "verify", "--json", path, check=False)
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    dd = [r for r in recs if r.get("kind") == "verified" and r.get("what") == "data dir"]
    out = {"rc": p.returncode, "records": recs, "stderr": p.stderr, "summary": None,
           "snapshot": None, "to_zxid": None}
    if dd:
        s = dd[-1]["summary"]
        out["summary"] = s
        m = re.search(r"snapshot\.([0-9a-fA-F]+)", s)
        out["snapshot"] = int(m.group(1), 16) if m else None
        m = re.search(r"to zxid (0x[0-9a-fA-F]+)", s)
        out["to_zxid"] = int(m.group(1), 16) if m else None
    return out


def log_txn_zxids(path: Path) -> tuple[list[int], dict]:
    """zxids of every txn of a log file and its `end` record (zkdump --json)."""
    p = run_tool(ZKDUMP, "--json", path)
    zx, end = [], {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r["kind"] == "txn":
            zx.append(hexint(r["zxid"]))
        elif r["kind"] == "end":
            end = r
    return zx, end


def snapshot_zxids(path: Path) -> tuple[int, int | None]:
    """(the highest czxid/mzxid/pzxid of any node, the 3.9 last-zxid section or None)."""
    p = run_tool(ZKDUMP, "--json", path)
    top, section = 0, None
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r["kind"] == "node":
            top = max(top, hexint(r["czxid"]), hexint(r["mzxid"]), hexint(r["pzxid"]))
        elif r["kind"] == "lastZxid":
            section = hexint(r["zxid"])
    return top, section


def check_archive_against_manifest(store, bid: str, man: dict, tmp: Path,
                                   live_version2: Path | None = None) -> dict:
    """The stored archive against the manifest and zkdump; returns facts for later checks:
    {"datadir": extracted data dir, "snapshot": restore snapshot zxid, "logs": [...],
     "first_txn", "last_txn"}."""
    data = store.read(f"{BACKUPS}/{bid}/data.tar.gz")
    assert man["archive"]["size"] == len(data), (man["archive"], len(data))
    assert man["archive"]["sha256"] == hashlib.sha256(data).hexdigest(), man["archive"]
    members = archive_members(data)
    by_base = {Path(n).name: (n, b) for n, b in members.items()}
    assert all(Path(n).parent.name == "version-2" for n in members), \
        f"every file of data.tar.gz is under version-2/: {sorted(members)}"
    # files [{name, size, sha256}] describe exactly the archive's files.
    listed = {Path(f["name"]).name: f for f in man["files"]}
    assert sorted(listed) == sorted(by_base), (sorted(listed), sorted(by_base))
    for base, (_, content) in by_base.items():
        f = listed[base]
        assert f["size"] == len(content), (base, f, len(content))
        assert f["sha256"] == hashlib.sha256(content).hexdigest(), (base, f)
    snaps = sorted((b for b in by_base if b.startswith("snapshot.")), key=zxid_of_name)
    logs = sorted((b for b in by_base if b.startswith("log.")), key=zxid_of_name)
    assert len(snaps) == 1, f"one snapshot in the archive: {sorted(by_base)}"
    # Exact copies: the snapshot is byte for byte the server's; a log is a prefix of the
    # server's file (which kept growing), cut right after its last complete entry.
    if live_version2 is not None:
        live = live_version2 / snaps[0]
        if live.exists():
            assert live.read_bytes() == by_base[snaps[0]][1], f"{snaps[0]} is not an exact copy"
        for lg in logs:
            live = live_version2 / lg
            if live.exists():
                content = by_base[lg][1]
                assert live.read_bytes()[:len(content)] == content, f"{lg} is not an exact copy"
    datadir = extract_archive(data, tmp / f"extract-{bid}")
    first_txn = last_txn = None
    for lg in logs:
        zx, end = log_txn_zxids(datadir / "version-2" / lg)
        assert end.get("reason") == "eof" and end.get("trailingBytes") == 0, \
            f"{lg} should end right after its last complete entry: {end}"
        if zx:
            first_txn = zx[0] if first_txn is None else min(first_txn, zx[0])
            last_txn = zx[-1] if last_txn is None else max(last_txn, zx[-1])
    # Nothing in the snapshot is newer than lastZxid: neither a node's czxid/mzxid/pzxid nor the
    # snapshot's own last-processed zxid (3.9's last-zxid section). A fuzzy snapshot holds txns
    # after its name's zxid; the backup's logs must cover them, or lastZxid must include them -
    # otherwise a server restored from it hands those zxids out again.
    snap_max, snap_section = snapshot_zxids(datadir / "version-2" / snaps[0])
    last = hexint(man["lastZxid"])
    assert max(snap_max, snap_section or 0) <= last, \
        f"{snaps[0]} is at zxid {hex(max(snap_max, snap_section or 0))} (highest node zxid " \
        f"{hex(snap_max)}, last-zxid section " \
        f"{hex(snap_section) if snap_section is not None else 'none'}), after the manifest's " \
        f"lastZxid {man['lastZxid']}; logs in the backup: {logs}"
    v = verify_datadir(datadir)
    assert v["rc"] == 0, f"zkdump verify of the backup's files: exit {v['rc']}\n" + \
        "\n".join(json.dumps(r) for r in v["records"] if r.get("severity") in ("problem", "unreadable")) + v["stderr"]
    snap_zxid = zxid_of_name(snaps[0])
    assert v["snapshot"] == snap_zxid, (v["summary"], snaps)
    last = hexint(man["lastZxid"])
    first = hexint(man["firstZxid"])
    admin = man["source"]["kind"] == "admin" and not logs
    if admin:
        # An admin snapshot is fuzzy: the files restore to its name's zxid, lastZxid says how far
        # the txns it holds go, and firstZxid where it is exact: its name, or (3.9.0-3.9.3,
        # whose snapshot command replays the log onto the live tree, ZOOKEEPER-4872) the
        # server's last processed zxid before the command, which the notes then give.
        assert v["to_zxid"] == snap_zxid and first <= snap_zxid <= last, \
            f"manifest {man['firstZxid']}..{man['lastZxid']} but zkdump verify says: {v['summary']}"
        if first < snap_zxid:
            assert any("ZOOKEEPER-4872" in n and hex(first) in n for n in man["notes"]), man["notes"]
    else:
        assert v["to_zxid"] == last, \
            f"manifest lastZxid {man['lastZxid']} but zkdump verify says: {v['summary']}"
    assert first <= last, man
    # firstZxid: the snapshot's zxid or the first txn the backup holds (either reading of
    # "first zxid" is accepted; anything else is not consistent with the files).
    allowed_first = {snap_zxid} | ({first} if admin else set())
    if first_txn is not None:
        allowed_first.add(first_txn)
    assert first in allowed_first, \
        f"manifest firstZxid {man['firstZxid']} is neither the snapshot's zxid {hex(snap_zxid)} " \
        f"nor the first txn's {hex(first_txn) if first_txn else None} ({v['summary']})"
    # sessions / ephemerals / ephemeralParents: what `zkdump sessions` says of the same files.
    rep = [json.loads(l) for l in run_tool(ZKDUMP, "sessions", "--json", datadir).stdout.splitlines()]
    head = next(r for r in rep if r["kind"] == "sessionsReport")
    assert (man["sessions"], man["ephemerals"]) == (head["sessions"], head["ephemerals"]), \
        f"manifest sessions/ephemerals {man['sessions']}/{man['ephemerals']}, zkdump sessions: {head}"
    groups: dict[tuple[str, str], int] = {}
    for r in rep:
        for g in r.get("groups", []) if r["kind"] == "session" else []:
            key = (g["parent"], g["recipe"])
            groups[key] = groups.get(key, 0) + len(g["paths"])
    got = {(g["parent"], g["recipe"]): g["count"] for g in man["ephemeralParents"]}
    assert got == groups, f"ephemeralParents {man['ephemeralParents']}, zkdump sessions: {groups}"
    return {"datadir": datadir, "snapshot": snap_zxid, "logs": logs, "first_txn": first_txn,
            "last_txn": last_txn, "archive": data}


# ---------------------------------------------------------------------------- the load
@dataclass
class Rec:
    zxid: int
    path: str
    kind: str            # create | set | delete
    data: bytes | None
    t_ack: float         # time.monotonic() when the server acknowledged it


STRUCTURE = ["/load", "/load/lock", "/load/eph", "/load/party", "/load/fill", "/load/counter",
             "/load/churn", "/load/burst"]


class Load:
    """A steady write load through kazoo: writer threads (create, create2 sequential, setData,
    delete, multi) each in its own parent, two clients taking turns on a kazoo Lock and bumping a
    shared counter node, a thread opening and closing sessions with ephemerals, and holder
    sessions (ephemeral nodes, a Party) that stay open. Every acknowledged write is recorded with
    its exact zxid:

    * create (include_data=True -> create2): the returned stat's czxid;
    * setData: the returned stat's mzxid;
    * delete: the parent's pzxid right after (only this thread changes that parent's children);
    * multi: the created node's czxid (all sub-ops share the multi's zxid).

    An op that fails (connection loss...) makes its path "uncertain" (not checked).
    """

    def __init__(self, srv: ZkServer, writers: int = 3, auth: Iterable = (), pace: float = 0.006,
                 fill: int = 600, fill_bytes: int = 80, seed: int = 1):
        self.srv = srv
        self.auth = list(auth)
        self.writers = writers
        self.pace = pace
        self.fill = fill
        self.fill_bytes = fill_bytes
        self.rng = random.Random(seed)
        self.records: list[Rec] = []
        self.uncertain: set[str] = set()
        self.structure: dict[str, bytes] = {}
        self.ephemerals: set[str] = set()
        self.errors: list[str] = []
        self._mu = threading.Lock()
        self._stop = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        self._threads: list[threading.Thread] = []
        self._idle: list[threading.Event] = []
        self._holders = []

    # -- clients
    def client(self, track: bool = True):
        kw = {"auth_data": self.auth} if self.auth else {}
        return self.srv.client(timeout=30, track=track, **kw)

    def record(self, zxid: int, path: str, kind: str, data: bytes | None) -> None:
        with self._mu:
            self.records.append(Rec(zxid, path, kind, data, time.monotonic()))

    def acked_max_zxid(self, before: float) -> int:
        with self._mu:
            return max((r.zxid for r in self.records if r.t_ack < before), default=0)

    # -- lifecycle
    def start(self) -> "Load":
        zk = self.client()
        for p in STRUCTURE + [f"/load/w{k}" for k in range(self.writers)]:
            zk.ensure_path(p)
            self.structure[p] = zk.get(p)[0]
        # A few hundred persistent nodes, so a snapshot is not trivially small.
        for base in range(0, self.fill, 100):
            t = zk.transaction()
            for i in range(base, min(base + 100, self.fill)):
                t.create(f"/load/fill/n{i:05d}",
                         b"fill-%05d-" % i + os.urandom(self.fill_bytes // 2).hex().encode())
            res = t.commit()
            assert all(isinstance(r, str) for r in res), res
        for ch in zk.get_children("/load/fill"):
            p = f"/load/fill/{ch}"
            data, st = zk.get(p)
            self.record(st.czxid, p, "create", data)
        # Holder sessions: ephemerals and a Party membership that stay until the end.
        for i in range(3):
            h = self.client()
            p = h.create(f"/load/eph/holder-{i}", b"holder", ephemeral=True)
            q = h.create(f"/load/eph/seq-", b"seq", ephemeral=True, sequence=True)
            party = h.Party("/load/party", f"member-{i}")
            party.join()
            self.ephemerals.update({p, q})
            self._holders.append((h, party))
        for k in range(self.writers):
            self._spawn(self._writer, k)
        for k in range(2):
            self._spawn(self._locker, k)
        self._spawn(self._churn, 0)
        return self

    def _spawn(self, fn, k):
        idle = threading.Event()
        self._idle.append(idle)
        t = threading.Thread(target=self._run, args=(fn, k, idle), daemon=True,
                             name=f"load-{fn.__name__}-{k}")
        self._threads.append(t)
        t.start()

    def _run(self, fn, k, idle):
        try:
            fn(k, idle)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"{threading.current_thread().name}: {e!r}")
            idle.set()

    def _gatekeep(self, idle: threading.Event) -> bool:
        """At the top of each loop: wait while paused. False when the load is stopping."""
        if not self._gate.is_set():
            idle.set()
            while not self._gate.wait(0.1):
                if self._stop.is_set():
                    return False
            idle.clear()
        return not self._stop.is_set()

    def pause(self) -> None:
        """Stops issuing writes and waits until every in-flight one is acknowledged (recorded)."""
        import traceback
        self._gate.clear()
        for ev, t in zip(self._idle, self._threads):
            if t.is_alive() and not ev.wait(30):
                frame = sys._current_frames().get(t.ident)
                stack = "".join(traceback.format_stack(frame)) if frame else "?"
                raise AssertionError(f"{t.name} did not pause within 30 s; load errors: "
                                     f"{self.errors[-5:]}\nits stack:\n{stack}\nserver log tail:\n"
                                     f"{self.srv.log_text()[-3000:]}")

    def resume(self) -> None:
        self._gate.set()

    def stop(self) -> None:
        self._stop.set()
        self._gate.set()
        for t in self._threads:
            t.join(15)

    def burst(self):
        """A context manager: while it is open, one more session pipelines setData calls on
        /load/burst (batches of 200 in flight, thousands of txns a second), so that a snapshot
        taken meanwhile is certainly fuzzy. Every acknowledged set is recorded."""
        import contextlib

        @contextlib.contextmanager
        def cm():
            stop = threading.Event()
            zk = self.client()

            def run():
                i = 0
                while not stop.is_set():
                    batch = []
                    for _ in range(200):
                        d = b"burst-%d" % i
                        i += 1
                        batch.append((d, zk.set_async("/load/burst", d)))
                    for d, r in batch:
                        try:
                            self.record(r.get(timeout=self.OP_TIMEOUT).mzxid, "/load/burst", "set", d)
                        except Exception as e:  # noqa: BLE001
                            self.errors.append(f"burst: {e!r}")
                            with self._mu:
                                self.uncertain.add("/load/burst")

            t = threading.Thread(target=run, daemon=True, name="load-burst")
            t.start()
            try:
                yield
            finally:
                stop.set()
                t.join(60)
        return cm()

    def count(self) -> int:
        with self._mu:
            return len(self.records)

    # -- workers
    # Every op waits at most OP_TIMEOUT for its reply: ZooKeeper 3.9.3's admin `snapshot` runs
    # fastForwardFromEdits (ZOOKEEPER-4872), which can apply a logged txn before the request
    # pipeline does; the pipeline's own apply then fails and a create2 reply is never sent (the
    # server logs an NPE in Create2Response.serialize). Such a write's outcome is unknown: its path
    # is "uncertain" and the thread goes on with a new session.
    OP_TIMEOUT = 15

    def _writer(self, k: int, idle):
        rng = random.Random(1000 + k)
        zk = self.client()
        parent = f"/load/w{k}"
        mine: dict[str, bytes] = {}
        n = 0
        T = self.OP_TIMEOUT

        def data():
            size = rng.choice([0, 8, 40, 200, 1500])
            return f"w{k}-{n}-".encode() + os.urandom(size)

        while self._gatekeep(idle):
            r = rng.random()
            path = None
            try:
                if r < 0.35 or len(mine) < 4:
                    path, d = f"{parent}/n{n:06d}", data()
                    n += 1
                    p, st = zk.create_async(path, d, include_data=True).get(timeout=T)
                    self.record(st.czxid, p, "create", d)
                    mine[p] = d
                elif r < 0.42:
                    d = data()
                    path = f"{parent}/s-"
                    p, st = zk.create_async(path, d, sequence=True, include_data=True).get(timeout=T)
                    self.record(st.czxid, p, "create", d)
                    mine[p] = d
                elif r < 0.72:
                    path = rng.choice(sorted(mine))
                    d = data()
                    st = zk.set_async(path, d).get(timeout=T)
                    self.record(st.mzxid, path, "set", d)
                    mine[path] = d
                elif r < 0.90:
                    path = rng.choice(sorted(mine))
                    zk.delete_async(path).get(timeout=T)
                    st = zk.exists_async(parent).get(timeout=T)
                    self.record(st.pzxid, path, "delete", None)
                    del mine[path]
                else:
                    victims = rng.sample(sorted(mine), 2)
                    newp, d1, d2 = f"{parent}/n{n:06d}", data(), data()
                    n += 1
                    path = newp
                    t = zk.transaction()
                    t.create(newp, d1)
                    t.set_data(victims[0], d2)
                    t.delete(victims[1])
                    # A failed multi changes nothing, but its paths are treated as uncertain.
                    res = t.commit_async().get(timeout=T)
                    if any(isinstance(x, Exception) for x in res):
                        path = None
                        raise RuntimeError(f"multi failed: {res}")
                    z = zk.exists_async(newp).get(timeout=T).czxid
                    self.record(z, newp, "create", d1)
                    self.record(z, victims[0], "set", d2)
                    self.record(z, victims[1], "delete", None)
                    mine[newp] = d1
                    mine[victims[0]] = d2
                    del mine[victims[1]]
            except Exception as e:  # noqa: BLE001 -- the outcome is unknown: stop checking it
                with self._mu:
                    if path is None:
                        self.uncertain.update(mine)
                        mine.clear()
                    else:
                        self.uncertain.add(path)
                    if path and path.endswith("-"):
                        self.uncertain.add(parent + "/*")
                self.errors.append(f"writer {k}: {e!r}")
                mine.pop(path, None)
                zk = self.client()          # a reply may never come on the old session
            time.sleep(self.pace)

    def _locker(self, k: int, idle):
        zk = self.client()
        lock = zk.Lock("/load/lock", f"locker-{k}")
        i = 0
        while self._gatekeep(idle):
            setting = False
            try:
                if lock.acquire(timeout=1):
                    try:
                        d = f"locker-{k}-{i}".encode()
                        i += 1
                        setting = True
                        st = zk.set_async("/load/counter", d).get(timeout=self.OP_TIMEOUT)
                        setting = False
                        self.record(st.mzxid, "/load/counter", "set", d)
                        time.sleep(0.01)
                    finally:
                        lock.release()
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"locker {k}: {e!r}")
                if setting:
                    with self._mu:
                        self.uncertain.add("/load/counter")
                zk = self.client()
                lock = zk.Lock("/load/lock", f"locker-{k}")
            time.sleep(self.pace * 2)

    def _churn(self, k: int, idle):
        i = 0
        while self._gatekeep(idle):
            c = self.client(track=False)
            path = f"/load/churn/c{i:05d}"
            try:
                c.create_async(f"/load/eph/churn-{i}", b"short-lived", ephemeral=True) \
                    .get(timeout=self.OP_TIMEOUT)
                d = f"churn-{i}".encode()
                p, st = c.create_async(path, d, include_data=True).get(timeout=self.OP_TIMEOUT)
                self.record(st.czxid, p, "create", d)
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"churn: {e!r}")
                with self._mu:
                    self.uncertain.add(path)
            finally:
                i += 1
                c.stop()
                c.close()
            time.sleep(0.15)


# ---------------------------------------------------------------------------- checks
def read_tree(zk, root: str = "/") -> dict[str, tuple[bytes | None, object]]:
    """path -> (data, stat) of every node, read level by level with async calls."""
    from kazoo.exceptions import NoNodeError
    out = {}
    level = [root]
    while level:
        gets = [(p, zk.get_async(p), zk.get_children_async(p)) for p in level]
        nxt = []
        for p, g, c in gets:
            try:
                data, st = g.get(timeout=30)
                kids = c.get(timeout=30)
            except NoNodeError:
                continue
            out[p] = (data, st)
            nxt += [p.rstrip("/") + "/" + ch for ch in kids]
        level = nxt
    return out


def expected_at(records: list[Rec], last_zxid: int) -> tuple[dict[str, bytes], set[str]]:
    """(path -> data of every recorded node that exists at last_zxid, every recorded path)."""
    state: dict[str, bytes | None] = {}
    for r in sorted(records, key=lambda r: r.zxid):
        if r.zxid > last_zxid:
            break
        state[r.path] = None if r.kind == "delete" else r.data
    return {p: d for p, d in state.items() if d is not None}, {r.path for r in records}


def dump_sessions(srv: ZkServer) -> tuple[set[int], int]:
    """(session ids the server tracks, number of sessions with ephemerals), from `dump`."""
    text = srv.four_letter("dump")
    m = re.search(r"Sessions with Ephemerals \((\d+)\)", text)
    assert m, text
    sessions, in_tracker = set(), False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("SessionTracker dump"):
            in_tracker = True
        elif line.startswith("Sessions with Ephemerals"):
            in_tracker = False
        elif in_tracker and line.startswith("0x"):
            sessions.add(int(line, 16))
    return sessions, int(m.group(1))


def srvr_zxid(srv: ZkServer) -> int:
    m = re.search(r"Zxid: (0x[0-9a-fA-F]+)", srv.four_letter("srvr"))
    assert m
    return int(m.group(1), 16)


def check_restored(version: str, archive: Path, last_zxid: int, load: Load, tmp: Path,
                   auth: Iterable = (), exact_to: int | None = None) -> dict:
    """`zkfilter datadir archive -o OUT`, a fresh server of `version` on OUT, and the tree it
    serves against the load's record: every recorded write with zxid <= last_zxid is there with
    its data, nothing written after last_zxid is, no ephemeral node and no session came back.

    exact_to < last_zxid declares a fuzzy window (a lone fuzzy snapshot, exact only up to its
    name's zxid): a path written in (exact_to, last_zxid] may show any of those writes.
    Returns counts, after asserting."""
    out = tmp / f"restored-{archive.stem}-{time.monotonic_ns()}"
    run_tool(ZKFILTER, "datadir", archive, "-o", out)
    expected, recorded = expected_at(load.records, last_zxid)
    uncertain = set(load.uncertain)
    if exact_to is not None and exact_to < last_zxid:
        uncertain |= {r.path for r in load.records if exact_to < r.zxid <= last_zxid}
    wild = {u[:-2] for u in uncertain if u.endswith("/*")}
    problems: list[str] = []
    with ZkServer(version, out) as srv:
        served_zxid = srvr_zxid(srv)   # before any client: no createSession yet
        kw = {"auth_data": list(auth)} if auth else {}
        zk = srv.client(timeout=30, **kw)
        tree = read_tree(zk)
        sessions, ephemeral_sessions = dump_sessions(srv)
        own = zk.client_id[0]
        log = srv.log_text()
    # The restored server continues at lastZxid, or - when zkfilter fences the restore into a
    # later epoch - at a zxid of a later epoch; never inside lastZxid's epoch at another zxid.
    if served_zxid != last_zxid and (served_zxid >> 32) <= (last_zxid >> 32):
        problems.append(f"the restored server is at zxid {hex(served_zxid)}, the manifest says "
                        f"lastZxid {hex(last_zxid)}")
    missing, wrong, extra, late, ephem = [], [], [], [], []
    for p, d in sorted(expected.items()):
        if p in uncertain:
            continue
        if p not in tree:
            missing.append(p)
        elif tree[p][0] != d:
            wrong.append(p)
    recs_by_path: dict[str, list[Rec]] = {}
    for r in load.records:
        recs_by_path.setdefault(r.path, []).append(r)
    for p, (data, st) in sorted(tree.items()):
        if st.ephemeralOwner != 0:
            ephem.append(p)
        if max(st.czxid, st.mzxid, st.pzxid) > last_zxid:
            late.append(f"{p} (czxid {hex(st.czxid)}, mzxid {hex(st.mzxid)}, pzxid {hex(st.pzxid)})")
        if p.startswith("/load/") and p not in load.structure and p not in expected \
                and p not in uncertain and p.rsplit("/", 1)[0] not in wild:
            first = min((r.zxid for r in recs_by_path.get(p, [])), default=None)
            extra.append(f"{p} (first written at {hex(first) if first else 'never recorded'})")
    for p in load.structure:
        if p not in tree:
            missing.append(p + " (created before every backup)")
    for p in sorted(load.ephemerals):
        if p in tree:
            ephem.append(p)

    def desc(paths):
        out = []
        for p in paths[:8]:
            rs = sorted(recs_by_path.get(p, []), key=lambda r: r.zxid)
            before = [r for r in rs if r.zxid <= last_zxid][-2:]
            after = [r for r in rs if r.zxid > last_zxid][:2]
            out.append(f"{p}: " + ", ".join(f"{r.kind}@{hex(r.zxid)}" for r in before)
                       + " | after lastZxid: " + (", ".join(f"{r.kind}@{hex(r.zxid)}" for r in after) or "-"))
        return "\n  ".join(out) + (f"\n  … {len(paths) - 8} more" if len(paths) > 8 else "")

    if missing:
        problems.append(f"{len(missing)} node(s) written at or before lastZxid {hex(last_zxid)} are "
                        f"missing:\n  {desc(missing)}")
    if wrong:
        problems.append(f"{len(wrong)} node(s) hold other data than their last write at or before "
                        f"lastZxid {hex(last_zxid)}:\n  {desc(wrong)}")
    if extra:
        problems.append(f"{len(extra)} node(s) that should not exist at lastZxid {hex(last_zxid)}:\n  "
                        + "\n  ".join(extra[:8]))
    if late:
        problems.append(f"{len(late)} node(s) show a zxid after lastZxid {hex(last_zxid)}:\n  "
                        + "\n  ".join(late[:8]))
    if ephem:
        problems.append(f"ephemeral nodes came back: {ephem[:8]}")
    if sessions != {own}:
        problems.append(f"sessions from the backup came back: {sorted(hex(x) for x in sessions - {own})}")
    if ephemeral_sessions != 0:
        problems.append(f"{ephemeral_sessions} session(s) with ephemerals on the restored server")
    if "Digests are not matching" in log:
        problems.append("the restored server logged a digest mismatch")
    assert not problems, f"restore of {archive.name} on ZooKeeper {version}:\n" + "\n".join(problems)
    return {"nodes": len(tree), "expected": len(expected)}


def grep_secrets(secrets: Iterable[str], where: Mapping[str, bytes]) -> list[str]:
    """Names of the places (key -> content) in which any secret, or its base64, appears; gzip
    content is searched decompressed, tar members one by one."""
    needles = []
    for s in secrets:
        needles += [s.encode(), base64.b64encode(s.encode())]
    hits = []

    def scan(name: str, blob: bytes):
        for n in needles:
            if n in blob:
                hits.append(f"{name} contains {n[:6]!r}…")
        if blob[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(blob)
            except Exception:  # noqa: BLE001
                return
            scan(name + " (gunzipped)", raw)
            try:
                with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
                    for m in tf.getmembers():
                        if m.isfile():
                            scan(f"{name}:{m.name}", tf.extractfile(m).read())
            except tarfile.TarError:
                pass

    for name, blob in where.items():
        scan(name, blob)
    return hits


# ---------------------------------------------------------------------------- served trees
def served_without_ephemerals(nodes: list[dict], drop_prefixes: Iterable[str] = ()) -> dict[str, dict]:
    """What a server should serve after the filter: the nodes served before the backup minus the
    ephemeral ones and everything strictly below `drop_prefixes`; each removed child raises its
    parent's served cversion by one and lowers its numChildren by one (served cversion = 2 *
    stored - numChildren, restore-facts.md)."""
    prefixes = [p.rstrip("/") + "/" for p in drop_prefixes]

    def removed(n: dict) -> bool:
        return n["stat"]["ephemeralOwner"] != 0 or any(n["path"].startswith(p) for p in prefixes)

    kept = {n["path"]: copy.deepcopy(n) for n in nodes if not removed(n)}
    for n in nodes:
        if removed(n):
            parent = kept.get(n["path"].rsplit("/", 1)[0] or "/")
            if parent is not None:
                parent["stat"]["numChildren"] -= 1
                parent["stat"]["cversion"] += 1
    return kept


def seq(name: str) -> int:
    return int(name[-10:])


def tree_diff(expected: dict[str, dict], got: dict[str, dict]) -> list[str]:
    out = []
    for p in sorted(set(expected) | set(got)):
        if p not in got:
            out.append(f"missing: {p}")
        elif p not in expected:
            out.append(f"extra: {p} {got[p]['stat']}")
        elif got[p] != expected[p]:
            e, g = expected[p], got[p]
            fields = [k for k in ("data_b64", "acl") if e[k] != g[k]]
            fields += [f"stat.{k}: {e['stat'][k]} -> {g['stat'][k]}"
                       for k in e["stat"] if e["stat"][k] != g["stat"][k]]
            out.append(f"differs: {p}: {fields}")
    return out
