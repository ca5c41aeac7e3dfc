"""zkbackup's catalog: labels and IDs, the store, concurrent and killed writers, leases, and the
list / show / delete / verify / prune commands, on a local folder and on S3 (moto).

Sources are data dirs written by real ZooKeeper 3.8 servers (testdata/zk-3.8/*), read in place:
these tests start no ZooKeeper server.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import signal
import stat
import time
from pathlib import Path

from backuplib import (BACKING_UP, BACKUPS, ERROR, READY, ROOT, UUID4, ZKDUMP, LocalStore,
                       backup_id_from, check_archive_against_manifest, create_ok, explain, hexes,
                       hexint, list_json, run_tool, show, stored_manifest, zkbackup,
                       zkbackup_popen)

RECIPES = ROOT / "testdata" / "zk-3.8" / "recipes"      # 3 logs, 3 snapshots, sessions + locks
BASIC = ROOT / "testdata" / "zk-3.8" / "basic"


def to_ms(v) -> float:
    """A manifest time (RFC 3339 string, or a number of ms or s since the epoch) in ms."""
    if isinstance(v, (int, float)):
        return float(v) if v > 1e11 else float(v) * 1000
    assert isinstance(v, str) and v, v
    s = v.replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp() * 1000


def txn_times(path: Path) -> dict[int, int]:
    p = run_tool(ZKDUMP, "--json", path)
    return {hexint(r["zxid"]): r["time"] for r in map(json.loads, p.stdout.splitlines())
            if r["kind"] == "txn"}


# ---------------------------------------------------------------------------- create + show
def test_create_from_datadir_records_a_complete_manifest(store, tmp_path):
    """`create DATADIR`: stdout is `<label>-<uuid v4>` alone; the manifest (show = the stored
    manifest.json) is READY and describes the archive exactly (sizes, sha256s, zxids against
    zkdump, txn times, sessions and ephemerals against `zkdump sessions`)."""
    before = time.time() * 1000
    bid = create_ok(store, "nightly", str(RECIPES))
    after = time.time() * 1000
    man = show(store, bid)
    assert man == stored_manifest(store, bid)
    assert man["id"] == bid and man["label"] == "nightly"
    assert man["status"] == READY, man
    assert man.get("error") in (None, ""), man
    assert before - 2000 <= to_ms(man["created"]) <= to_ms(man["finished"]) <= after + 2000, man
    src = man["source"]
    assert src["kind"] == "datadir", src
    assert Path(src["path"]).resolve() in (RECIPES.resolve(), (RECIPES / "version-2").resolve()), src
    assert isinstance(src.get("host"), str) and src["host"], src
    assert isinstance(man["zookeeperVersion"], str) and man["zookeeperVersion"].startswith("3."), man
    assert man["snapshotFormat"], man
    facts = check_archive_against_manifest(store, bid, man, tmp_path, RECIPES / "version-2")
    # testdata/zk-3.8/recipes: restorable from snapshot.33 + logs to 0x38.
    assert facts["snapshot"] == 0x33 and hexint(man["lastZxid"]) == 0x38, man
    times = {}
    for lg in facts["logs"]:
        times.update(txn_times(facts["datadir"] / "version-2" / lg))
    assert abs(to_ms(man["lastTxnTime"]) - times[0x38]) < 1000, (man["lastTxnTime"], times[0x38])
    lo, hi = min(times.values()), max(times.values())
    assert lo - 1000 <= to_ms(man["firstTxnTime"]) <= to_ms(man["lastTxnTime"]), man
    # Sessions and ephemerals: as `zkdump sessions` of the same files.
    rep = [json.loads(l) for l in run_tool(ZKDUMP, "sessions", "--json", RECIPES).stdout.splitlines()]
    head = rep[0]
    assert man["sessions"] == head["sessions"] and man["ephemerals"] == head["ephemerals"], \
        (man["sessions"], man["ephemerals"], head)
    groups: dict[tuple[str, str], int] = {}
    for s in rep[1:]:
        for g in s["groups"]:
            groups[(g["parent"], g["recipe"])] = groups.get((g["parent"], g["recipe"]), 0) + len(g["paths"])
    got = {(g["parent"], g["recipe"]): g["count"] for g in man["ephemeralParents"]}
    assert got == groups, (man["ephemeralParents"], groups)


def test_local_store_layout_and_permissions(local_store):
    """STORE/zkbackup/v1/backups/<ID>/{lease.json, data.tar.gz, manifest.json}; files 0600,
    folders 0700 (a backup holds everything the ensemble holds); no temporary file left."""
    bid = create_ok(local_store, "layout", str(RECIPES))
    d = local_store.root / BACKUPS / bid
    names = sorted(p.name for p in d.iterdir())
    assert {"data.tar.gz", "manifest.json"} <= set(names) <= {"data.tar.gz", "manifest.json", "lease.json"}, names
    for p in local_store.root.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        want = 0o700 if p.is_dir() else 0o600
        assert mode == want, f"{p}: mode {oct(mode)}, expected {oct(want)}"
    assert stat.S_IMODE(local_store.root.stat().st_mode) == 0o700
    assert not [p for p in local_store.root.rglob("*") if "tmp" in p.name], list(local_store.root.rglob("*"))


def test_store_comes_from_flag_or_env_and_is_required(tmp_path):
    """No --store and no ZKBACKUP_STORE: exit 2 saying so; ZKBACKUP_STORE works; global flags are
    accepted after the command too."""
    p = zkbackup(None, "list")
    assert p.returncode == 2, explain(p)
    assert "ZKBACKUP_STORE" in p.stderr and "--store" in p.stderr, explain(p)
    store = LocalStore(tmp_path / "env-store")
    p = zkbackup(None, "create", "--label", "from-env", str(BASIC),
                 env={"ZKBACKUP_STORE": store.url})
    assert p.returncode == 0, explain(p)
    bid = backup_id_from(p, "from-env")
    assert (store.root / BACKUPS / bid / "manifest.json").exists()
    p = zkbackup(None, "list", "--json", "--store", store.url)
    assert p.returncode == 0, explain(p)
    assert [json.loads(l)["id"] for l in p.stdout.splitlines() if l.strip()] == [bid]
    p = zkbackup(None, "show", bid, "--store", store.url, "-q")
    assert p.returncode == 0 and json.loads(p.stdout)["id"] == bid, explain(p)


def test_store_errors_are_exit_2(tmp_path, request):
    """A store that cannot be used: exit 2, saying which. A local store that is a file; an S3
    bucket that does not exist; an S3 endpoint nobody listens on."""
    from backuplib import S3Store, free_port
    afile = tmp_path / "a-file"
    afile.write_text("not a folder")
    stores = [LocalStore(afile)]
    moto = request.getfixturevalue("moto_server")
    stores.append(S3Store(moto.endpoint, "no-such-bucket-zkb", "p"))
    stores.append(S3Store(f"http://127.0.0.1:{free_port()}", "zkbackup-tests", "p"))
    for st in stores:
        p = zkbackup(st, "create", "--label", "store-err", str(BASIC))
        assert p.returncode == 2, explain(p)
        assert p.stdout.strip() == "", explain(p)
        assert st.url.split("/")[-1] in p.stderr or st.url in p.stderr or "s3://" in p.stderr, \
            "the message names the store\n" + explain(p)
        p = zkbackup(st, "list")
        assert p.returncode == 2, explain(p)
    assert afile.read_text() == "not a folder"


# ---------------------------------------------------------------------------- labels
BAD_LABELS = ["", "ab", "x" * 26, "..abc", "..", "...", "a/b", "a b", "abc!", "lab\u00e9l", "a\nb",
              "../../etc", "abc*", "-" * 2]
GOOD_LABELS = ["abc", "x" * 25, "a.b-c_D9", ".ab", "a..b", "-abc", "_-_"]


def test_label_rules(store):
    """Labels are 3–25 chars of [A-Za-z0-9_.-] not starting with "..": a bad one is exit 2 and
    leaves the store exactly as it was; good ones at the edges give `<label>-<uuid v4>` IDs."""
    first = create_ok(store, "baseline", str(BASIC))
    state = store.state()
    for label in BAD_LABELS:
        p = zkbackup(store, "create", f"--label={label}", str(BASIC))
        assert p.returncode == 2, f"label {label!r}: " + explain(p)
        assert p.stdout.strip() == "", f"label {label!r}: nothing on stdout\n" + explain(p)
        assert "label" in p.stderr.lower(), f"label {label!r}: the message names the label rule\n" + explain(p)
        assert store.state() == state, f"label {label!r} changed the store"
    ids = {first}
    for label in GOOD_LABELS:
        ids.add(create_ok(store, label, str(BASIC)))
    assert len(ids) == len(GOOD_LABELS) + 1
    assert {e["id"] for e in list_json(store)} == ids


def test_unreadable_source_stores_nothing(store, tmp_path):
    """A missing source, an empty folder, a file instead of a folder: exit 2, nothing stored
    (the message names it). A data dir whose only snapshot is damaged: exit 2, or exit 1 with an
    ERROR backup naming the snapshot."""
    empty = tmp_path / "empty"
    empty.mkdir()
    damaged = tmp_path / "damaged" / "version-2"
    damaged.mkdir(parents=True)
    snap = sorted((BASIC / "version-2").glob("snapshot.*"))[-1]
    damaged.joinpath(snap.name).write_bytes(snap.read_bytes()[:40])
    create_ok(store, "keep", str(BASIC))
    state = store.state()
    problems = []
    # Only damaged data (no complete snapshot to start from) may instead be recorded as an
    # ERROR backup (exit 1) naming the file, like a zxid gap.
    p = zkbackup(store, "create", "--label", "damaged", str(damaged.parent))
    if p.returncode == 1:
        es = list_json(store, "damaged")
        assert [e["status"] for e in es] == [ERROR], es
        assert snap.name in p.stderr and snap.name in (es[0].get("error") or ""), explain(p)
    else:
        assert p.returncode == 2, explain(p)
    state = store.state()
    for src in (tmp_path / "nope", empty, tmp_path / "damaged" / "version-2" / snap.name):
        p = zkbackup(store, "create", "--label", "bad-src", str(src))
        if p.returncode != 2:
            problems.append(f"{src.name}: exit {p.returncode}, expected 2\n" + explain(p))
        elif str(src.name) not in p.stderr:
            problems.append(f"{src.name}: the message should name the source\n" + explain(p))
        if store.state() != state:
            problems.append(f"{src.name}: the store changed (exit 2 means nothing stored)")
            state = store.state()
    assert not problems, "\n\n".join(problems)


def test_quiet_create_prints_only_the_id(store):
    p = zkbackup(store, "-q", "create", "--label", "quiet", str(BASIC))
    assert p.returncode == 0, explain(p)
    backup_id_from(p, "quiet")
    assert p.stderr == "", explain(p)


# ---------------------------------------------------------------------------- writers
def test_two_creates_at_once_both_succeed(store):
    """Two `create`s of the same label at the same time (paused before each file, so they
    overlap): both exit 0 with distinct IDs, both READY and verified."""
    env = {"ZKBACKUP_TEST_PAUSE_MS": "300"}
    procs = [zkbackup_popen(store, "create", "--label", "twin", str(RECIPES), env=env) for _ in range(2)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    ids = []
    for rc, out, err in results:
        assert rc == 0, f"exit {rc}\n{out}\n{err}"
        ids.append(out.strip())
    assert len(set(ids)) == 2, ids
    for bid in ids:
        assert re.fullmatch("twin-" + UUID4, bid), bid
        assert show(store, bid)["status"] == READY
        p = zkbackup(store, "verify", bid)
        assert p.returncode == 0, explain(p)
    assert sorted(e["id"] for e in list_json(store, "twin")) == sorted(ids)


def test_killed_create_is_never_ready_and_turns_error_after_its_lease(store):
    """`create --lease-seconds 2` killed with SIGKILL at random points: while its lease runs the
    backup is STATUS_BACKING_UP (or not listed at all, if killed before anything was written),
    never READY; after the lease it is STATUS_ERROR. `verify` of such a backup is not 0."""
    env = {"ZKBACKUP_TEST_PAUSE_MS": "250"}
    # How long an unkilled run takes.
    t0 = time.monotonic()
    p = zkbackup(store, "--lease-seconds", "2", "create", "--label", "timing", str(RECIPES), env=env)
    duration = time.monotonic() - t0
    assert p.returncode == 0, explain(p)
    rng = random.Random(7)
    killed = {}
    for i in range(6):
        label = f"killed-{i}"
        proc = zkbackup_popen(store, "--lease-seconds", "2", "create", f"--label={label}",
                              str(RECIPES), env=env)
        time.sleep(rng.uniform(0.05, 0.9) * duration if i else 0.02)
        assert proc.poll() is None, f"{label} finished before it could be killed ({duration:.2f} s run)"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed[label] = time.monotonic()
        for e in list_json(store, label):
            assert e["status"] == BACKING_UP, f"{label} just killed: {e}"
    # After the leases (2 s) have run out: ERROR, never READY.
    deadline = max(killed.values()) + 2.0 + 3.0
    while True:
        entries = {l: list_json(store, l) for l in killed}
        statuses = {l: [e["status"] for e in es] for l, es in entries.items()}
        if all(s == ERROR for ss in statuses.values() for s in ss) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    listed = sum(len(s) for s in statuses.values())
    assert listed >= 3, f"most killed creates should have left a record: {statuses}"
    for label, es in entries.items():
        for e in es:
            assert e["status"] == ERROR, f"{label}: {e['status']} 5 s after a 2 s lease ran out: {e}"
            man = show(store, e["id"])
            assert man["status"] == ERROR, man
            p = zkbackup(store, "verify", e["id"])
            assert p.returncode != 0, explain(p)


# ---------------------------------------------------------------------------- commands
def test_list_show_delete(store):
    a1 = create_ok(store, "alpha", str(RECIPES))
    b1 = create_ok(store, "beta", str(BASIC))
    a2 = create_ok(store, "alpha", str(BASIC))
    # Table: ID, status, created, zxid range, size.
    p = zkbackup(store, "list")
    assert p.returncode == 0, explain(p)
    rows = {bid: line for line in p.stdout.splitlines() for bid in (a1, a2, b1) if bid in line}
    assert sorted(rows) == sorted([a1, a2, b1]), explain(p)
    for bid, line in rows.items():
        man = show(store, bid)
        assert "READY" in line.upper(), line
        assert hexint(man["lastZxid"]) in hexes(line), f"zxid range missing: {line}"
        size = man["archive"]["size"]
        assert str(size) in line or re.search(r"\d+(\.\d+)?\s*(B|KB|KiB|kB)\b", line), \
            f"size missing: {line}"
    # Label filter, JSON lines.
    js = list_json(store, "alpha")
    assert sorted(e["id"] for e in js) == sorted([a1, a2])
    for e in js:
        assert e["label"] == "alpha" and e["status"] == READY, e
    assert sorted(e["id"] for e in list_json(store)) == sorted([a1, a2, b1])
    p = zkbackup(store, "list", "nosuchlabel")
    assert p.returncode == 0 and not any(b in p.stdout for b in (a1, a2, b1)), explain(p)
    # Delete: gone from list, show and the store.
    p = zkbackup(store, "delete", a1)
    assert p.returncode == 0, explain(p)
    assert sorted(e["id"] for e in list_json(store)) == sorted([a2, b1])
    assert not store.keys(f"{BACKUPS}/{a1}/"), store.keys(f"{BACKUPS}/{a1}/")
    p = zkbackup(store, "show", a1)
    assert p.returncode != 0 and a1 in p.stderr, explain(p)
    p = zkbackup(store, "delete", "alpha-00000000-0000-4000-8000-000000000000")
    assert p.returncode != 0, explain(p)


def test_verify_detects_one_flipped_byte(store):
    bid = create_ok(store, "flip", str(RECIPES))
    p = zkbackup(store, "verify", bid)
    assert p.returncode == 0, explain(p)
    key = f"{BACKUPS}/{bid}/data.tar.gz"
    data = bytearray(store.read(key))
    data[len(data) // 2] ^= 0x01
    store.write(key, bytes(data))
    p = zkbackup(store, "verify", bid)
    assert p.returncode == 1, explain(p)
    assert "data.tar.gz" in p.stdout + p.stderr, explain(p)
    # An ID that is not there: unreadable.
    p = zkbackup(store, "verify", "flip-00000000-0000-4000-8000-000000000000")
    assert p.returncode == 2, explain(p)


def test_verify_detects_a_missing_archive(store):
    bid = create_ok(store, "gone", str(BASIC))
    store.delete(f"{BACKUPS}/{bid}/data.tar.gz")
    p = zkbackup(store, "verify", bid)
    assert p.returncode in (1, 2), explain(p)
    assert "data.tar.gz" in p.stdout + p.stderr, explain(p)


def test_prune(store, tmp_path):
    """prune --keep N [--label L] [--older-than D] [--dry-run] deletes the oldest READY backups of
    a label beyond the newest N; never an ERROR backup, never another label's."""
    a = [create_ok(store, "prune-a", str(BASIC)) for _ in range(4)]
    b = [create_ok(store, "prune-b", str(BASIC)) for _ in range(2)]
    # An ERROR backup of label prune-a (a data dir with a missing middle log: see
    # test_backup_sources for that case itself).
    gap = tmp_path / "gap"
    shutil.copytree(RECIPES, gap)
    (gap / "version-2" / "snapshot.33").unlink()
    (gap / "version-2" / "log.1c").unlink()
    p = zkbackup(store, "create", "--label", "prune-a", str(gap))
    assert p.returncode == 1, explain(p)
    err_ids = [e["id"] for e in list_json(store, "prune-a") if e["status"] == ERROR]
    assert len(err_ids) == 1, list_json(store, "prune-a")
    everything = sorted(e["id"] for e in list_json(store))

    p = zkbackup(store, "prune", "--keep", "2", "--label", "prune-a", "--dry-run")
    assert p.returncode == 0, explain(p)
    assert a[0] in p.stdout + p.stderr and a[1] in p.stdout + p.stderr, explain(p)
    assert sorted(e["id"] for e in list_json(store)) == everything, "--dry-run deleted something"

    p = zkbackup(store, "prune", "--keep", "2", "--label", "prune-a", "--older-than", "1h")
    assert p.returncode == 0, explain(p)
    assert sorted(e["id"] for e in list_json(store)) == everything, "--older-than 1h deleted a fresh backup"

    p = zkbackup(store, "prune", "--keep", "2", "--label", "prune-a")
    assert p.returncode == 0, explain(p)
    left = sorted(e["id"] for e in list_json(store))
    assert left == sorted(a[2:] + b + err_ids), (left, a, b, err_ids)

    time.sleep(1.2)
    p = zkbackup(store, "prune", "--keep", "1", "--label", "prune-b", "--older-than", "1s")
    assert p.returncode == 0, explain(p)
    left = sorted(e["id"] for e in list_json(store))
    assert left == sorted(a[2:] + b[1:] + err_ids), (left, b)
    for bid in a[:2] + b[:1]:
        assert not store.keys(f"{BACKUPS}/{bid}/"), bid
