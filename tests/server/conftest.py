"""Shared helpers for the real-server tests: where the binaries are, and tree comparisons."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

_target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
ZKFILTER = Path(os.environ.get("ZKFILTER", _target / "debug" / "zkfilter"))
ZKDUMP = Path(os.environ.get("ZKDUMP", _target / "debug" / "zkdump"))

if not ZKFILTER.exists():
    raise RuntimeError(f"{ZKFILTER} is missing: run `cargo build --workspace` first")


def tree_by_path(nodes: list[dict]) -> dict[str, dict]:
    return {n["path"]: copy.deepcopy(n) for n in nodes}


def _parent(path: str) -> str:
    p = path.rsplit("/", 1)[0]
    return p or "/"


def served_without_ephemerals(nodes: list[dict], drop_prefixes: list[str] = ()) -> list[dict]:
    """What a server should serve after the filter: the tree as served before the backup, minus
    ephemeral nodes and everything strictly below the dropped prefixes.

    Parents keep their stored cversion and pzxid; a server serves cversion as
    2*stored - numChildren, so each removed child raises the served cversion by one and lowers
    numChildren by one (restore-facts.md: served cversion is not stored cversion)."""
    removed = []
    kept = []
    for n in nodes:
        path = n["path"]
        below = any(path.startswith(p.rstrip("/") + "/") for p in drop_prefixes)
        if below or n["stat"]["ephemeralOwner"] != 0:
            removed.append(path)
        else:
            kept.append(copy.deepcopy(n))
    by_path = {n["path"]: n for n in kept}
    for path in removed:
        parent = by_path.get(_parent(path))
        if parent is not None:
            parent["stat"]["numChildren"] -= 1
            parent["stat"]["cversion"] += 1
    return kept
