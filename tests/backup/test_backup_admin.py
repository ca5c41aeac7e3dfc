"""Hot backups through ZooKeeper 3.9's AdminServer `snapshot` command, with a digest superuser.

`--admin` is given the admin server's base URL, http://127.0.0.1:PORT (zkbackup adds
/commands/snapshot?streaming=true). The root node's ACL lets only two digest users (and the
superuser) in, so a wrong password is refused by the server (403), not waved through as "any
authenticated id" (the admin `snapshot` command needs ALL on "/").

The admin `snapshot` is written while the server keeps applying writes (fuzzy), and a backup
from it has no logs: its manifest's lastZxid must cover everything the snapshot holds (every
node's zxids and the snapshot's own last-zxid section, 3.9); firstZxid < lastZxid may declare the
window in which the snapshot holds only some of the writes (the restore check then accepts either
state for paths written in that window). Each `create` runs during a burst of writes
(Load.burst), so the snapshots are fuzzy in practice.

Passwords come three ways: `--auth digest:super:PW`, env ZKBACKUP_AUTH=digest:ops:PW and
`--auth @FILE` (a file holding digest:filer:PW); none of them, nor the wrong one, may appear in
anything zkbackup wrote to the store, to stdout or to stderr.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from pathlib import Path

import pytest

from backuplib import (BACKUPS, READY, Load, ZkServer, backup_id_from,
                       check_archive_against_manifest, check_restored, explain, grep_secrets,
                       hexint, list_json, show, zkbackup, zxid_of_name)

SUPER_PW = "SuperPw-" + secrets.token_hex(8)
OPS_PW = "OpsPw-" + secrets.token_hex(8)
FILER_PW = "FilerPw-" + secrets.token_hex(8)
WRONG_PW = "WrongPw-" + secrets.token_hex(8)
ALL_SECRETS = [SUPER_PW, OPS_PW, FILER_PW, WRONG_PW]


def digest(user: str, pw: str) -> str:
    return f"{user}:" + base64.b64encode(hashlib.sha1(f"{user}:{pw}".encode()).digest()).decode()


def admin_server(data: Path, rate_limit_ms: int | None) -> ZkServer:
    """A 3.9 server with the admin server and a digest superuser; rate_limit_ms is the value of
    zookeeper.admin.rateLimiterIntervalInMS (which 3.9.3 takes as microseconds)."""
    flags = [f"-Dzookeeper.DigestAuthenticationProvider.superDigest={digest('super', SUPER_PW)}"]
    if rate_limit_ms is not None:
        flags.append(f"-Dzookeeper.admin.rateLimiterIntervalInMS={rate_limit_ms}")
    # The default snapCount: with a small one, the server's own snapshots often take the same
    # zxid (file name) as an admin snapshot written at the same moment, and the admin command
    # streams a file the other thread is rewriting (a ZooKeeper 3.9.3 race; zkbackup then
    # rejects the stream: "the snapshot received does not check").
    return ZkServer("3.9", data, admin=True, max_session_timeout=60000, jvm_flags=flags)


def lock_root(zk) -> None:
    from kazoo.security import ACL, Id, Permissions
    zk.set_acls("/", [ACL(Permissions.ALL, Id("digest", digest("ops", OPS_PW))),
                      ACL(Permissions.ALL, Id("digest", digest("filer", FILER_PW)))])


@pytest.fixture(scope="module")
def admin39(tmp_path_factory):
    base = tmp_path_factory.mktemp("admin39")
    data = base / "data"
    srv = admin_server(data, rate_limit_ms=1).start()
    load = None
    try:
        # 2000 nodes of 1 KB, and a burst of writes during each `create` (Load.burst): writes
        # land while the server serializes the snapshot, which is then fuzzy.
        load = Load(srv, auth=[("digest", f"ops:{OPS_PW}")], fill=2000, fill_bytes=1000).start()
        lock_root(srv.client(auth_data=[("digest", f"ops:{OPS_PW}")]))
        deadline = time.monotonic() + 30
        while load.count() < 800 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield {"srv": srv, "load": load, "data": data,
               "url": f"http://127.0.0.1:{srv.admin_port}", "base": base}
    finally:
        if load is not None:
            load.stop()
        srv.stop()


def test_admin_backups_restore_every_acknowledged_write_and_leak_no_password(admin39, store, tmp_path):
    srv, load, url = admin39["srv"], admin39["load"], admin39["url"]
    auth_file = tmp_path / "admin.auth"
    auth_file.write_text(f"digest:filer:{FILER_PW}\n")
    auth_file.chmod(0o600)
    ways = [
        (["--auth", f"digest:super:{SUPER_PW}"], None),
        ([], {"ZKBACKUP_AUTH": f"digest:ops:{OPS_PW}"}),
        (["--auth", f"@{auth_file}"], None),
    ]
    load.resume()
    outputs: dict[str, bytes] = {}
    taken = []
    problems: list[str] = []   # reported together at the end, after every check ran
    for i, (args, env) in enumerate(ways):
        n = load.count()
        while load.count() < n + 100:
            time.sleep(0.05)
        t0 = time.monotonic()
        acked = load.acked_max_zxid(t0)
        with load.burst():     # writes land while the server serializes the snapshot
            p = zkbackup(store, "create", "--label", "admin39", "--admin", url, *args, env=env)
        outputs[f"create {i} stdout"] = p.stdout.encode()
        outputs[f"create {i} stderr"] = p.stderr.encode()
        assert p.returncode == 0, explain(p)
        bid = backup_id_from(p, "admin39")
        man = show(store, bid)
        assert man["status"] == READY, man
        src = man["source"]
        assert src["kind"] == "admin" and str(srv.admin_port) in src["url"], src
        assert man["zookeeperVersion"].startswith("3.9"), man["zookeeperVersion"]
        last = hexint(man["lastZxid"])
        assert last >= acked, f"lastZxid {hex(last)} < {hex(acked)}, acknowledged before create started"
        # 3.9.3's snapshot command fast-forwards the database from the log while the pipeline
        # applies the same txns again (ZOOKEEPER-4872): the backup is exact only up to the
        # server's last processed zxid before the command, which covers every acknowledged write.
        first, named = hexint(man["firstZxid"]), zxid_of_name(man["snapshot"].rsplit("/", 1)[-1])
        assert acked <= first <= named <= last, (hex(acked), man)
        archive = tmp_path / f"{bid}.tar.gz"
        archive.write_bytes(store.read(f"{BACKUPS}/{bid}/data.tar.gz"))
        try:
            check_archive_against_manifest(store, bid, man, tmp_path, admin39["data"] / "version-2")
        except AssertionError as e:
            problems.append(f"backup {i} ({bid}): {e}")
        taken.append((bid, last, archive, first))
    for cmd in (["list"], ["list", "--json"], ["show", taken[0][0]], ["verify", taken[0][0]]):
        p = zkbackup(store, *cmd)
        assert p.returncode == 0, explain(p)
        outputs[" ".join(cmd)] = (p.stdout + p.stderr).encode()
    # Passwords: nowhere in the store (archives searched inside), stdout or stderr.
    where = {f"store:{k}": v for k, v in store.objects().items()}
    where.update(outputs)
    leaks = grep_secrets(ALL_SECRETS, where)
    if leaks:
        problems.append("a password leaked:\n" + "\n".join(leaks))
    load.pause()
    try:
        for i, (bid, last, archive, first) in enumerate(taken):
            try:
                # A lone admin snapshot is fuzzy: firstZxid < lastZxid may declare the window
                # in which it holds only some of the writes.
                check_restored("3.9", archive, last, load, tmp_path,
                               auth=[("digest", f"ops:{OPS_PW}")], exact_to=first)
            except AssertionError as e:
                problems.append(f"backup {i} ({bid}): {e}")
    finally:
        load.resume()
    assert not problems, "\n\n".join(problems)


def test_admin_wrong_password_is_refused_and_stores_nothing(admin39, local_store, tmp_path):
    """A wrong password (--auth, ZKBACKUP_AUTH, ZKBACKUP_AUTH=@FILE) or none: exit 2, a message
    saying the credentials were refused, nothing stored, the password nowhere."""
    create = ["create", "--label", "admin-bad", "--admin", admin39["url"]]
    before = local_store.state()
    outs = {}
    wrong_file = tmp_path / "wrong.auth"
    wrong_file.write_text(f"digest:filer:{WRONG_PW}\n")
    for args, env in ((["--auth", f"digest:super:{WRONG_PW}"], None),
                      ([], {"ZKBACKUP_AUTH": f"digest:ops:{WRONG_PW}"}),
                      ([], {"ZKBACKUP_AUTH": f"@{wrong_file}"})):
        p = zkbackup(local_store, *create, *args, env=env)
        outs[f"{args} {env} stdout"] = p.stdout.encode()
        outs[f"{args} {env} stderr"] = p.stderr.encode()
        assert p.returncode == 2, explain(p)
        low = p.stderr.lower()
        assert "403" in low or "auth" in low or "password" in low or "denied" in low \
            or "forbidden" in low, "the message should say the credentials were refused\n" + explain(p)
        assert local_store.state() == before, "exit 2: nothing stored"
    # No credential at all: refused as well (the root ACL has no world entry).
    p = zkbackup(local_store, *create)
    assert p.returncode == 2, explain(p)
    assert local_store.state() == before
    leaks = grep_secrets(ALL_SECRETS, {**outs, **{f"store:{k}": v for k, v in local_store.objects().items()}})
    assert not leaks, leaks


def test_admin_rate_limited_snapshot_is_exit_2(tmp_path, local_store):
    """A second snapshot within zookeeper.admin.rateLimiterIntervalInMS: the server answers 429;
    zkbackup exits 2, stores nothing and says so.

    ZooKeeper 3.9.3 reads that property as MICROseconds (SnapshotCommand builds its RateLimiter
    with TimeUnit.MICROSECONDS), so its default "300000" is 0.3 s, not 5 min: 600000000 here is
    10 minutes."""
    srv = admin_server(tmp_path / "data", rate_limit_ms=600_000_000).start()
    try:
        zk = srv.client()
        zk.create("/x", b"y")
        url = f"http://127.0.0.1:{srv.admin_port}"
        auth = ["--auth", f"digest:super:{SUPER_PW}"]
        p = zkbackup(local_store, "create", "--label", "rate", "--admin", url, *auth)
        assert p.returncode == 0, explain(p)
        state = local_store.state()
        p = zkbackup(local_store, "create", "--label", "rate", "--admin", url, *auth)
        assert p.returncode == 2, explain(p) + "\nserver log:\n" + "\n".join(
            l for l in srv.log_text().splitlines() if "napshot" in l or "rate" in l.lower())
        assert "429" in p.stderr or "rate" in p.stderr.lower(), explain(p)
        assert local_store.state() == state, "exit 2: nothing stored"
        assert [e["status"] for e in list_json(local_store)] == [READY]
    finally:
        srv.stop()
