"""Shared fixtures of the Python package's tests (python/tests).

These tests import the *installed* `zkformat` package (a wheel built by maturin, installed in a
venv): scripts/test.sh builds it, installs it into a fresh venv and runs
`<venv>/bin/pytest python/tests`. The top-level `python3 -m pytest tests` run does not collect
this folder (pytest.ini: testpaths = tests).

The oracle is the `zkdump` binary of the same tree (target/debug/zkdump, or $ZKDUMP).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import zkformat  # noqa: E402

if not hasattr(zkformat, "open"):
    raise RuntimeError(
        f"`import zkformat` found {zkformat!r}, not the built package: install the wheel "
        "(scripts/test.sh does) and run the venv's pytest"
    )


def zkdump_path() -> Path:
    p = Path(os.environ.get("ZKDUMP", ROOT / "target" / "debug" / "zkdump"))
    if not p.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "zkfilter", "--bin", "zkdump"], cwd=ROOT,
                       check=True)
    return p


def run_tool(args, tool="zkdump", check_codes=(0, 1, 2), input=None) -> subprocess.CompletedProcess:
    """Runs zkdump (or zkfilter) of the same build; `input`: bytes for standard input."""
    exe = zkdump_path() if tool == "zkdump" else zkdump_path().with_name(tool)
    r = subprocess.run([str(exe), *map(str, args)], capture_output=True, input=input)
    r.stdout = r.stdout.decode(errors="replace")
    r.stderr = r.stderr.decode(errors="replace")
    assert r.returncode in check_codes, f"{tool} {args}: exit {r.returncode}\n{r.stderr}"
    return r


def zkdump_json(args) -> list[dict]:
    """The JSON Lines records `zkdump --json ARGS` prints."""
    r = run_tool(["--json", *args])
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def data_files(kind: str) -> list[Path]:
    """Every real txn log ("log") or snapshot ("snapshot") under testdata/ (written by real
    ZooKeeper servers: zk-3.4, zk-3.8, zk-3.9, and ZooKeeper's own fixtures in upstream/)."""
    out = []
    for sub in ("zk-3.4", "zk-3.8", "zk-3.9", "upstream"):
        for p in sorted((TESTDATA / sub).rglob(f"{kind}.*")):
            # upstream/upgrade holds pre-3.0 "version 1" files, which zkdump refuses
            # (test_py_malformed checks that the package refuses them too).
            if p.is_file() and "upgrade" not in p.parts:
                out.append(p)
    return out


def data_dirs() -> list[Path]:
    """The data dirs under testdata/zk-* (each with the tree its server served)."""
    return sorted(p for v in ("zk-3.4", "zk-3.8", "zk-3.9")
                  for p in (TESTDATA / v).iterdir() if (p / "version-2").is_dir())


@pytest.fixture(scope="session")
def zkdump() -> Path:
    return zkdump_path()
