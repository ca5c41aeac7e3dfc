"""`zkbackup status` against real ZooKeeper servers on 127.0.0.1.

* A 3-member ensemble (3.8 and 3.9; zkharness.ZkEnsemble, each member with its own data dir,
  myid, client/quorum/election/admin ports; ZooKeeper's default 4lw whitelist, i.e. srvr only):
  `--wait 20` started while the members are still starting and electing returns 0 once they
  serve; then all serve with exactly one leader (exit 0), `--json` has Exhibitor's
  /exhibitor/v1/cluster/status shape, and the admin server's /commands/stat agrees.
* Losing members (stopped by PID): a stopped member is code 1 "down" (exit 1); `--wait 2` returns
  1 after about 2 s; the lone member left of three is code 2 "not serving" (by srvr and by the
  admin server).
* A standalone server (3.4, 3.8, 3.9) serves and leads.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from backuplib import explain, zkbackup
from zkharness import ZkEnsemble, ZkServer, installed_versions

DESCRIPTIONS = {0: "latent", 1: "down", 2: "not serving", 3: "serving"}


def need(version: str) -> None:
    if version not in installed_versions():
        pytest.fail(f"ZooKeeper {version} is not installed (run scripts/install-deps.sh)")


def status(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    t = time.monotonic()
    p = zkbackup(None, "status", *args, timeout=timeout)
    return p, time.monotonic() - t


def exhibitor_rows(p: subprocess.CompletedProcess, hosts: list[str]) -> dict[str, dict]:
    """Checks `--json` output against Exhibitor's cluster/status shape; rows by hostname."""
    try:
        rows = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"--json did not print JSON ({e}):\n{explain(p)}")
    assert isinstance(rows, list), explain(p)
    assert [r.get("hostname") for r in rows] == hosts, explain(p)
    for r in rows:
        assert isinstance(r, dict)
        # The fields Exhibitor's consumers read, with Exhibitor's types (a bool is not a code).
        assert type(r["code"]) is int and r["code"] in DESCRIPTIONS, r
        assert type(r["description"]) is str and r["description"] == DESCRIPTIONS[r["code"]], r
        assert type(r["hostname"]) is str, r
        assert type(r["isLeader"]) is bool, r
        # The extra fields.
        assert r["mode"] is None or type(r["mode"]) is str, r
        assert r["zxid"] is None or (type(r["zxid"]) is str and r["zxid"].startswith("0x")), r
    return {r["hostname"]: r for r in rows}


def admin_urls(members) -> str:
    return ",".join(f"http://127.0.0.1:{m.admin_port}" for m in members)


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_ensemble_elects_and_serves(zkbackup_bin, tmp_path, version):
    need(version)
    ens = ZkEnsemble(version, tmp_path, admin=True, whitelist=None)
    hosts = [m.hosts for m in ens.members]
    ens.start(wait=False)  # the JVMs are starting: nothing serves yet
    try:
        p, _ = status("--servers", ens.hosts)
        assert p.returncode == 1, explain(p)

        p, took = status("--servers", ens.hosts, "--wait", "20")
        assert p.returncode == 0, explain(p)
        assert took < 20, took
        assert "zkbackup: waiting" in p.stderr, f"it never saw the ensemble electing\n{explain(p)}"
        lines = p.stdout.splitlines()
        assert len(lines) == 4, explain(p)  # the final table only
        for col in ("SERVER", "CODE", "STATE", "LEADER", "MODE", "ZXID"):
            assert col in lines[0], explain(p)

        p, _ = status("--servers", ens.hosts, "--json")
        assert p.returncode == 0, explain(p)
        rows = exhibitor_rows(p, hosts)
        assert all(r["code"] == 3 and r["description"] == "serving" for r in rows.values()), rows
        leaders = [h for h, r in rows.items() if r["isLeader"]]
        assert len(leaders) == 1, rows
        leader = ens.leader()
        assert leader is not None and leaders == [leader.hosts]
        assert rows[leader.hosts]["mode"] == "leader"
        assert sorted(r["mode"] for r in rows.values()) == ["follower", "follower", "leader"]
        # The leader's zxid is its new epoch's; each row has its own.
        assert int(rows[leader.hosts]["zxid"], 16) >> 32 >= 1, rows

        # The same through the admin servers' /commands/stat.
        p, _ = status("--servers", ens.hosts, "--admin", admin_urls(ens.members), "--json")
        assert p.returncode == 0, explain(p)
        arows = exhibitor_rows(p, hosts)
        assert [h for h, r in arows.items() if r["isLeader"]] == leaders, arows
        assert all(r["code"] == 3 for r in arows.values()), arows
    finally:
        ens.stop()


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_ensemble_losing_members(zkbackup_bin, tmp_path, version):
    need(version)
    ens = ZkEnsemble(version, tmp_path, admin=True, whitelist=None)
    hosts = [m.hosts for m in ens.members]
    ens.start()
    try:
        leader = ens.leader()
        gone, lone = ens.followers()
        gone.stop()  # by PID

        p, _ = status("--servers", ens.hosts, "--json")
        assert p.returncode == 1, explain(p)
        rows = exhibitor_rows(p, hosts)
        assert rows[gone.hosts]["code"] == 1 and rows[gone.hosts]["description"] == "down", rows
        assert rows[gone.hosts]["isLeader"] is False
        assert "refused" in rows[gone.hosts]["error"], rows
        # Two of three still have a quorum.
        assert rows[leader.hosts]["code"] == 3 and rows[leader.hosts]["isLeader"] is True, rows
        assert rows[lone.hosts]["code"] == 3 and rows[lone.hosts]["isLeader"] is False, rows

        p, took = status("--servers", ens.hosts, "--wait", "2")
        assert p.returncode == 1, explain(p)
        assert 1.8 <= took <= 4.5, f"--wait 2 took {took:.2f} s"
        lines = p.stdout.splitlines()
        assert len(lines) == 4, explain(p)  # the last table, once
        assert any(l.startswith(gone.hosts) and " down " in l for l in lines), explain(p)

        leader.stop()
        # The member left alone has no quorum: it stops serving (at once, or after syncLimit).
        deadline = time.monotonic() + 20
        while True:
            p, _ = status("--servers", ens.hosts, "--json")
            rows = exhibitor_rows(p, hosts)
            if rows[lone.hosts]["code"] != 3 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert p.returncode == 1, explain(p)
        assert rows[lone.hosts]["code"] == 2, rows
        assert rows[lone.hosts]["description"] == "not serving", rows
        assert rows[lone.hosts]["isLeader"] is False, rows
        assert rows[leader.hosts]["code"] == 1 and rows[gone.hosts]["code"] == 1, rows

        # The admin server of the lone member says the same.
        p, _ = status("--servers", lone.hosts, "--admin", admin_urls([lone]), "--json")
        assert p.returncode == 1, explain(p)
        assert exhibitor_rows(p, [lone.hosts])[lone.hosts]["code"] == 2, explain(p)
        p, _ = status("--servers", lone.hosts)
        assert p.returncode == 1 and "not serving" in p.stdout, explain(p)
    finally:
        ens.stop()


@pytest.mark.parametrize("version", ["3.4", "3.8", "3.9"])
def test_standalone_serves_and_leads(zkbackup_bin, tmp_path, version):
    need(version)
    with ZkServer(version, tmp_path / "data", admin=version != "3.4") as srv:
        p, _ = status("--servers", srv.hosts, "--json")
        assert p.returncode == 0, explain(p)
        row = exhibitor_rows(p, [srv.hosts])[srv.hosts]
        assert row["code"] == 3 and row["description"] == "serving", row
        assert row["isLeader"] is True and row["mode"] == "standalone", row
        if version != "3.4":
            p, _ = status("--servers", srv.hosts, "--admin", f"http://127.0.0.1:{srv.admin_port}",
                          "--json")
            assert p.returncode == 0, explain(p)
            arow = exhibitor_rows(p, [srv.hosts])[srv.hosts]
            assert arow["isLeader"] is True and arow["mode"] == "standalone", arow
