"""Encrypted backups (age), on the local store and on S3: the store shows nothing but labels,
times, status and sizes; verify checks the ciphertext without the key and the content with it;
a wrong key is exit 2; restore and export with the key give exactly what an unencrypted backup
gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from backuplib import BACKUPS, ROOT, ZKDUMP, zkbackup

DATA = ROOT / "testdata" / "zk-3.8" / "recipes"


def keygen(path: Path) -> str:
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_encrypted_backup_round_trip(store, tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    key, other = tmp_path / "key.txt", tmp_path / "other.txt"
    recipient = keygen(key)
    keygen(other)
    enc = zkbackup(store, "create", "--label", "secret", "-q", str(data), "--encrypt-to", recipient)
    assert enc.returncode == 0, enc.stderr
    eid = enc.stdout.strip()
    plain = zkbackup(store, "create", "--label", "plain", "-q", str(data))
    assert plain.returncode == 0, plain.stderr
    pid = plain.stdout.strip()
    # The store alone: nothing of the data, neither node paths nor zxids nor file names.
    objects = {k: v for k, v in store.objects().items() if f"{BACKUPS}/{eid}/" in k}
    assert sorted(k.rsplit("/", 1)[1] for k in objects) == \
        ["data.tar.gz.age", "details.json.age", "manifest.json"]
    for k, v in objects.items():
        for secret in (b"/recipes", b"snapshot.", b"log.1c", b"election"):
            assert secret not in v, (k, secret)
    public = json.loads(objects[f"{BACKUPS}/{eid}/manifest.json"])
    assert public["encrypted"] is True and public["status"] == "STATUS_READY"
    assert public["lastZxid"] is None and public["files"] == [] and public["ephemeralParents"] == []
    # verify: the ciphertext without the key, the content with it, a wrong key refused.
    v = zkbackup(store, "verify", eid)
    assert v.returncode == 0 and "encrypted archive is intact" in v.stdout, v.stdout + v.stderr
    v = zkbackup(store, "--decrypt-with", str(key), "verify", eid)
    assert v.returncode == 0 and "files checked" in v.stdout, v.stdout + v.stderr
    v = zkbackup(store, "--decrypt-with", str(other), "verify", eid)
    assert v.returncode == 2 and "does not open" in v.stderr, v.stdout + v.stderr
    shown = json.loads(zkbackup(store, "--decrypt-with", str(key), "show", eid).stdout)
    assert shown["lastZxid"] == json.loads(zkbackup(store, "show", pid).stdout)["lastZxid"]
    # Restore without the key: refused, nothing written; with it: what the plain backup gives.
    r = zkbackup(store, "restore", eid, "-o", str(tmp_path / "no-key"))
    assert r.returncode == 2 and "--decrypt-with" in r.stderr, r.stderr
    assert not (tmp_path / "no-key").exists()
    for bid, out, extra in ((eid, "from-enc", ["--decrypt-with", str(key)]), (pid, "from-plain", [])):
        r = zkbackup(store, *extra, "restore", bid, "-o", str(tmp_path / out), "-q", "--fence-epoch", "20")
        assert r.returncode == 0, r.stderr
    d = subprocess.run([str(ZKDUMP), "diff", str(tmp_path / "from-enc"), str(tmp_path / "from-plain")],
                       capture_output=True, text=True)
    assert d.returncode == 0, d.stdout + d.stderr
    x = zkbackup(store, "--decrypt-with", str(key), "export", eid, "-o", str(tmp_path / "x.tar.gz"),
                 "-q", "--layout", "dcos")
    assert x.returncode == 0, x.stderr
    names = subprocess.run(["tar", "-tzf", str(tmp_path / "x.tar.gz")], capture_output=True,
                           text=True).stdout.split()
    assert "zookeeper/transactions/version-2/" in names
    assert any(n.startswith("zookeeper/snapshot/version-2/snapshot.") for n in names)
