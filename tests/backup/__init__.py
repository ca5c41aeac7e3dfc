"""zkbackup real-server tests (a package, so this folder's conftest.py does not collide with
tests/server/conftest.py, which tests/server imports as the module `conftest`)."""
