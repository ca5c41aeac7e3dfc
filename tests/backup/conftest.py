"""Fixtures of the zkbackup real-server tests (helpers are in backuplib.py).

* `store`: a fresh, empty store; parametrized over a local folder and S3 (a bucket prefix on a
  local `moto` server started once per session).
* `moto_server`: that server (needs `pip install 'moto[server]'`; a missing moto fails the S3
  tests when the env var CI is set, and skips them otherwise).
* `zkbackup_bin`: fails the test when target/debug/zkbackup is missing.

Nothing here is imported by name (`from conftest import …` would be ambiguous next to
tests/server/conftest.py); shared code lives in backuplib.
"""

from __future__ import annotations

import importlib.util
import uuid

import pytest

from backuplib import IN_CI, ZKBACKUP, LocalStore, MotoServer, S3Store, need_binary

BUCKET = "zkbackup-tests"


@pytest.fixture(scope="session")
def zkbackup_bin():
    need_binary(ZKBACKUP)
    return ZKBACKUP


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    if importlib.util.find_spec("moto") is None:
        msg = "moto is not installed (pip install 'moto[server]'): the S3 store is not tested"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    srv = MotoServer(tmp_path_factory.mktemp("moto")).start()
    try:
        srv.make_bucket(BUCKET)
        yield srv
    finally:
        srv.stop()


def make_store(kind: str, request, tmp_path):
    if kind == "local":
        return LocalStore(tmp_path / "store")
    moto = request.getfixturevalue("moto_server")
    return S3Store(moto.endpoint, BUCKET, f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, zkbackup_bin):
    """A fresh, empty store: a local folder, or a new prefix in the moto bucket."""
    return make_store(request.param, request, tmp_path)


@pytest.fixture
def local_store(tmp_path, zkbackup_bin):
    return LocalStore(tmp_path / "store")
