"""zkbackup restore --admin on a running ZooKeeper 3.9 server: the filtered stream goes through
the admin `restore` command; sessions and ephemerals of the backup do not come back, later writes
are gone, the server keeps serving, and restarted (the runbook's next step) it serves the restored
state from its data dir; a wrong password (root ACL locked) is exit 2 and changes nothing; the
password appears in no output."""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
from pathlib import Path

from backuplib import ZKBACKUP, ZkServer

PW = "AdminRestorePw-" + secrets.token_hex(6)


def digest(user: str, pw: str) -> str:
    return f"{user}:" + base64.b64encode(hashlib.sha1(f"{user}:{pw}".encode()).digest()).decode()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ZKBACKUP), *args], capture_output=True, text=True, timeout=180)


def test_admin_restore_on_a_running_server(tmp_path: Path):
    from kazoo.security import ACL, Id, Permissions
    flags = [f"-Dzookeeper.DigestAuthenticationProvider.superDigest={digest('super', PW)}"]
    store = tmp_path / "store"
    with ZkServer("3.9", tmp_path / "data", admin=True, max_session_timeout=60000,
                  jvm_flags=flags) as srv:
        zk = srv.client(auth_data=[("digest", f"super:{PW}")])
        zk.create("/app/config", b"v1", makepath=True)
        holder = srv.client()
        holder.create("/app/lock-", b"", ephemeral=True, sequence=True)
        p = run("--store", str(store), "create", "--label", "adm-restore", "-q",
                str(tmp_path / "data"))
        assert p.returncode == 0, p.stderr
        bid = p.stdout.strip()
        zk.set("/app/config", b"v2")
        zk.create("/app/later", b"x")
        # Lock the root so that only the superuser may restore.
        zk.set_acls("/", [ACL(Permissions.ALL, Id("digest", digest("super", PW)))])
        url = f"http://127.0.0.1:{srv.admin_port}"
        bad = run("--store", str(store), "restore", bid, "--admin", url,
                  "--auth", "digest:super:wrong-" + secrets.token_hex(4))
        assert bad.returncode == 2, bad.stderr
        assert "restored before the failure: none" in bad.stderr, bad.stderr
        assert zk.get("/app/config")[0] == b"v2", "a refused restore changes nothing"
        good = run("--store", str(store), "restore", bid, "--admin", url, "--auth",
                   f"digest:super:{PW}")
        assert good.returncode == 0, good.stderr
        assert f"restored {bid} on {url}" in good.stderr, good.stderr
        for out in (bad.stdout, bad.stderr, good.stdout, good.stderr):
            assert PW not in out
        fresh = srv.client(auth_data=[("digest", f"super:{PW}")])
        assert fresh.get("/app/config")[0] == b"v1"
        assert fresh.exists("/app/later") is None
        assert fresh.get_children("/app") == ["config"], "no ephemeral of the backup came back"
        # The server goes on: a new write gets a zxid above the restored state.
        fresh.create("/app/after", b"y")
        assert fresh.exists("/app/after") is not None
        assert "next: restart the server" in good.stderr, good.stderr
    # The runbook's next step, restarting the server: it loads the restored state that zkbackup
    # had it save (admin `snapshot`), and the write made since.
    with ZkServer("3.9", tmp_path / "data", jvm_flags=flags) as again:
        zk = again.client(auth_data=[("digest", f"super:{PW}")])
        assert zk.get("/app/config")[0] == b"v1"
        assert zk.exists("/app/later") is None
        assert sorted(zk.get_children("/app")) == ["after", "config"]
