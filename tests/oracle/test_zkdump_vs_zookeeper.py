"""Oracle test: zkdump --json against ZooKeeper's own tools on every real file in testdata/.

For every txn log, ZooKeeper's TxnLogToolkit (3.8/3.9; 3.4's LogFormatter for zk-3.4 files) and
for every snapshot SnapshotFormatter are run from the installed jars (tests/harness/zkharness.py);
their text output is parsed and compared with `zkdump --json`:

* txns: the same sequence of (zxid, session, cxid, op), and the path for ops that have one;
* nodes: the same set of paths, with the same cZxid, mZxid, pZxid, cversion, dataVersion,
  aclVersion, ephemeralOwner, dataLength, and ctime/mtime to the second.

A file ZooKeeper's tool cannot read must make zkdump fail too. Missing Java tools fail the test
unless ZK_ORACLE_OPTIONAL=1. The zkdump binary is target/debug/zkdump, or $ZKDUMP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import zkharness  # noqa: E402

ZKDUMP = Path(os.environ.get("ZKDUMP", ROOT / "target" / "debug" / "zkdump"))
OPTIONAL = os.environ.get("ZK_ORACLE_OPTIONAL") == "1"
SKIP_DIRS = {"golden", "malformed", "generate"}

TXN_LINE = re.compile(
    r"^(?P<crc>CRC ERROR - )?.*? session (?P<session>0x[0-9a-f]+) cxid (?P<cxid>0x[0-9a-f]+) "
    r"zxid (?P<zxid>0x[0-9a-f]+) (?P<op>[A-Za-z0-9]+|unknown -?\d+)(?: (?P<rest>.*))?$")
PATH_OPS = {"create", "create2", "createContainer", "createTTL", "delete", "deleteContainer",
            "setData", "setACL", "reconfig"}


def data_files() -> list[Path]:
    out = []
    for p in sorted((ROOT / "testdata").rglob("*")):
        rel = p.relative_to(ROOT / "testdata")
        if rel.parts and rel.parts[0] in SKIP_DIRS:
            continue
        if p.is_file() and (p.name.startswith("log.") or p.name.startswith("snapshot.")):
            out.append(p)
    return out


def version_of(p: Path) -> str:
    rel = p.relative_to(ROOT / "testdata").parts[0]
    return {"zk-3.4": "3.4", "zk-3.9": "3.9"}.get(rel, "3.8")


def require_tools(version: str) -> None:
    try:
        zkharness.classpath(version)
    except zkharness.HarnessError as e:
        if OPTIONAL:
            pytest.skip(f"ZooKeeper {version} tools missing: {e}")
        pytest.fail(f"ZooKeeper {version} tools missing (set ZK_ORACLE_OPTIONAL=1 to skip): {e}")


def zkdump_json(p: Path) -> tuple[int, list[dict]]:
    if not ZKDUMP.exists():
        pytest.fail(f"{ZKDUMP} not built (cargo build -p zkfilter --bin zkdump)")
    r = subprocess.run([str(ZKDUMP), "--json", str(p)], capture_output=True, text=True)
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines() if line]


def parse_txn_tool(stdout: str) -> list[dict]:
    txns = []
    for line in stdout.splitlines():
        m = TXN_LINE.match(line)
        if not m or m.group("crc"):
            # Continuation of a multi-line body, or TxnLogToolkit's duplicate "CRC ERROR" line.
            continue
        rest = m.group("rest") or ""
        txns.append({
            "zxid": int(m.group("zxid"), 16),
            "session": int(m.group("session"), 16),
            "cxid": int(m.group("cxid"), 16),
            "op": m.group("op"),
            "rest": rest.lstrip("'"),
        })
    return txns


def parse_java_date(s: str) -> int | None:
    try:
        return int(datetime.strptime(s.replace("UTC", "+0000"), "%a %b %d %H:%M:%S %z %Y").timestamp())
    except ValueError:
        return None


def parse_snapshot_tool(stdout: str) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    lines = stdout.splitlines()
    i = 0
    while i < len(lines):
        if lines[i] == "----" and i + 1 < len(lines) and lines[i + 1].startswith("/"):
            path = lines[i + 1]
            fields = {}
            j = i + 2
            while j < len(lines) and lines[j].startswith("  "):
                k, _, v = lines[j].strip().partition(" = ")
                fields[k] = v
                j += 1
            nodes[path] = fields
            i = j
        else:
            i += 1
    return nodes


def run_txn_tool(p: Path, version: str):
    if version == "3.4":
        return zkharness.java_tool("3.4", "org.apache.zookeeper.server.LogFormatter", [str(p)])
    return zkharness.java_tool(version, "org.apache.zookeeper.server.persistence.TxnLogToolkit", [str(p)])


FILES = data_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_zkdump_matches_zookeeper(path: Path) -> None:
    version = version_of(path)
    require_tools(version)
    code, lines = zkdump_json(path)
    if path.name.startswith("log."):
        r = run_txn_tool(path, version)
        theirs = parse_txn_tool(r.stdout)
        if r.returncode != 0 and not theirs:
            assert code != 0, f"ZooKeeper cannot read {path} ({r.stderr[-300:]}) but zkdump can"
            return
        ours = [x for x in lines if x["kind"] == "txn"]
        assert len(ours) == len(theirs), f"{path}: zkdump {len(ours)} txns, ZooKeeper {len(theirs)}"
        for a, b in zip(ours, theirs):
            where = f"{path} zxid {a['zxid']}"
            assert int(a["zxid"], 16) == b["zxid"], where
            assert int(a["session"], 16) & (2**64 - 1) == b["session"], where
            assert a["cxid"] & 0xffffffff == b["cxid"], where
            # 3.8's Request.op2String says "createTtl"; 3.9 and zkdump say "createTTL".
            assert a["op"].lower() == b["op"].lower(), where
            if a["op"] in PATH_OPS:
                rest = b["rest"]
                assert rest == a["path"] or rest.startswith(a["path"] + ","), \
                    f"{where}: path {a['path']!r} vs ZooKeeper {rest[:80]!r}"
    else:
        args = [str(path)]
        r = zkharness.java_tool(version, "org.apache.zookeeper.server.SnapshotFormatter", args)
        theirs = parse_snapshot_tool(r.stdout)
        if r.returncode != 0 or not theirs:
            assert code != 0, f"ZooKeeper cannot read {path} ({r.stderr[-300:]}) but zkdump can"
            return
        assert code == 0, f"zkdump fails on {path}, which SnapshotFormatter reads"
        ours = {x["path"]: x for x in lines if x["kind"] == "node"}
        assert set(ours) == set(theirs), f"{path}: node sets differ: " \
            f"only zkdump {sorted(set(ours) - set(theirs))[:5]}, only ZooKeeper {sorted(set(theirs) - set(ours))[:5]}"
        for p, t in theirs.items():
            a = ours[p]
            where = f"{path} {p}"
            assert int(a["czxid"], 16) == int(t["cZxid"], 16), where
            assert int(a["mzxid"], 16) == int(t["mZxid"], 16), where
            assert int(a["pzxid"], 16) == int(t["pZxid"], 16), where
            assert a["cversion"] == int(t["cversion"]), where
            assert a["version"] == int(t["dataVersion"]), where
            assert a["aversion"] == int(t["aclVersion"]), where
            assert int(a["ephemeralOwner"], 16) == int(t["ephemeralOwner"], 16) & (2**64 - 1), where
            if "dataLength" in t:
                assert a["dataLength"] == int(t["dataLength"]), where
            for ours_key, their_key in (("ctime", "ctime"), ("mtime", "mtime")):
                secs = parse_java_date(t.get(their_key, ""))
                if secs is not None:
                    assert a[ours_key] // 1000 == secs, f"{where} {ours_key}"
