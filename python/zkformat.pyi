"""Read, verify and filter Apache ZooKeeper's txn logs, snapshots and data dirs.

A thin binding of the Rust `zkformat` library and of the `zkdump`/`zkfilter` tools' code:
records, JSON records (`to_dict()`), findings and reports are exactly what the tools produce.

Field names are those of `zkdump --json` (camelCase: `opCode`, `checksumOk`, `dataLength`, ...).
Attributes give Python values (ids as `int`, data as `bytes`, ACLs as `ACL`); `to_dict()` gives
the JSON Lines record itself (ids as `"0x…"` strings, data as `{"text"|"hex"|"base64": …}`).
"""

from __future__ import annotations

import datetime
import os
from typing import Any, BinaryIO, Iterable, Iterator, Literal, Optional, Sequence, Union, overload

__version__: str

PathArg = Union[str, "os.PathLike[str]"]
Source = Union[PathArg, bytes, bytearray, memoryview, BinaryIO]
ZxidArg = Union[int, str]
TimeArg = Union[int, str, datetime.datetime]

# ---------------------------------------------------------------------------------- errors

class ZkFormatError(Exception):
    """Base class of every zkformat error."""

    file: Optional[str]
    """The input (path as given, or `-`), when known."""
    offset: Optional[int]
    """Byte offset of the problem in the (decompressed) stream, when known."""
    zxid: Optional[int]
    """Zxid of the record being read, when known."""
    hint: Optional[str]
    """What an operator could try next."""
    kind: str
    """The library's error kind (`ChecksumMismatch`, `Truncated`, ...), or `Tool`."""
    message: Optional[str]
    """The message without the file name and position."""

class TruncatedError(ZkFormatError):
    """The input ends inside a record."""

class ChecksumError(ZkFormatError):
    """An entry's Adler32, a snapshot seal or a digest does not match."""

class CorruptError(ZkFormatError):
    """A damaged record (impossible length or count, bad end-of-record byte, ...)."""

class UnknownFormatError(ZkFormatError):
    """Not a ZooKeeper txn log or snapshot (empty, random bytes, bad magic, pre-3.0)."""

class DecompressionError(ZkFormatError):
    """A corrupt gzip/snappy stream, or one that decompresses past the limit."""

# ---------------------------------------------------------------------------------- records

class ACL:
    """One ACL entry."""

    perms: int
    """Permission bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16."""
    perm: str
    """The permissions as letters, `cdrwa` order."""
    scheme: str
    id: str
    def __init__(self, perms: int, scheme: str, id: str) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Record:
    """A JSON record of the tools. Attributes are its keys: ids (`zxid`, `session`, `digest`,
    `treeDigest`, `value`, `computed`, `nameZxid`, ...) as int, `acl` as a list of ACL, other
    values as JSON gives them; `record["key"]` and `to_dict()` give the JSON values."""

    kind: Optional[str]
    def __getattr__(self, name: str) -> Any: ...
    def __getitem__(self, key: str) -> Any: ...
    def __contains__(self, key: str) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

class Header(Record):
    """`header`: file, fileKind (txnLog, snapshot), magic, version, dbid, compression (none,
    gzip, snappy), nameZxid."""

    file: str
    fileKind: str
    magic: str
    version: int
    dbid: int
    compression: str
    nameZxid: Optional[int]

class End(Record):
    """`end`. Logs: txns, shown, checksumErrors, decodeErrors, reason (eof, zeroPadding, torn,
    partialRecord, error), offset, trailingBytes, trailingNonzero, clean, error. Snapshots:
    nodes, shown, sessions, aclEntries, seals, length, treeDigest, complete, error. `error` is
    None or a dict {message, offset, zxid, hint}."""

    fileKind: str
    error: Optional[dict[str, Any]]

class Session(Record):
    """A snapshot's session table row: offset, session, timeout."""

    offset: int
    session: int
    timeout: int

class AclEntry(Record):
    """A snapshot's ACL cache entry: offset, key, acl."""

    offset: int
    key: int
    acl: list[ACL]

class Seal(Record):
    """A verified snapshot seal: offset, index (1, 2, 3), value, ok."""

    offset: int
    index: int
    value: int
    ok: bool

class Digest(Record):
    """The snapshot digest section: offset, zxid, version, digest, check (match, mismatch,
    notComparable, empty), computed (the tree's digest on mismatch)."""

    offset: int
    zxid: int
    version: int
    digest: int
    check: str
    computed: Optional[int]

class Finding(Record):
    """A `verify` finding: file, severity (problem, unreadable, warning, note), message,
    offset, zxid."""

    file: str
    severity: Literal["problem", "unreadable", "warning", "note"]
    message: str
    offset: Optional[int]
    zxid: Optional[int]

class SessionInfo(Record):
    """A session (or owner of ephemerals) of the restore-safety report: session, live,
    timeout, ephemerals, groups ([{parent, recipe, paths}], recipe one of lock, election,
    party, queue, registration, other)."""

    session: int
    live: bool
    timeout: Optional[int]
    ephemerals: int
    groups: list[dict[str, Any]]

class SessionsReport(Record):
    """`zkdump sessions`: source, sessions (count), ephemerals (count), owners (one
    SessionInfo per session or owner of ephemerals)."""

    source: str
    sessions: int
    ephemerals: int
    owners: list[SessionInfo]

class FilterReport(Record):
    """`zkfilter --report`: tool, mode, input, output, dryRun, policy, recordsIn, recordsOut,
    bytesIn, bytesOut, dropped, sessions, ephemerals, ephemeralGroups, prefixes, ttlNodes,
    containerNodes, digest, warnings, details (the data dir choice, fence, ...); and salvaged
    (True when a salvage=True run stopped at damage)."""

    dropped: dict[str, dict[str, int]]
    warnings: list[str]
    details: dict[str, Any]
    salvaged: bool

# ---------------------------------------------------------------------------------- txn logs

class SubOp:
    """One sub-op of a multi: `op`, `opCode` and the body fields of its op, or `error`."""

    op: str
    opCode: int
    path: Optional[str]
    dataLength: Optional[int]
    data: Optional[bytes]
    acl: Optional[list[ACL]]
    ephemeral: Optional[bool]
    parentCVersion: Optional[int]
    ttl: Optional[int]
    version: Optional[int]
    err: Optional[int]
    errName: Optional[str]
    error: Optional[str]
    def to_dict(self, data: bool = False, data_format: Literal["hex", "base64"] = "hex") -> dict[str, Any]: ...

class Txn:
    """One txn log entry. Fields an op does not have are None (and absent from `to_dict()`)."""

    kind: Literal["txn", "txnError"]
    offset: int
    zxid: int
    session: int
    cxid: int
    time: int
    """ms since the epoch."""
    op: str
    """ZooKeeper's op name: create, create2, createContainer, createTTL, delete,
    deleteContainer, setData, setACL, check, multi, createSession, closeSession, reconfig,
    error (unknown codes: `unknown N`)."""
    opCode: int
    checksumOk: bool
    digest: Optional[int]
    """The entry's TxnDigest (3.6+), or None."""
    path: Optional[str]
    dataLength: Optional[int]
    data: Optional[bytes]
    acl: Optional[list[ACL]]
    ephemeral: Optional[bool]
    parentCVersion: Optional[int]
    ttl: Optional[int]
    version: Optional[int]
    failed: Optional[bool]
    ops: Optional[list[SubOp]]
    timeout: Optional[int]
    paths2Delete: Optional[list[str]]
    err: Optional[int]
    errName: Optional[str]
    error: Optional[str]
    """txnError: why the payload does not decode."""
    errorOffset: Optional[int]
    raw: bytes
    """The framed entry as stored (checksum, length, payload, end-of-record byte)."""
    def to_dict(self, data: bool = False, data_format: Literal["hex", "base64"] = "hex") -> dict[str, Any]:
        """zkdump's `txn`/`txnError` record, exactly (`data=True`: as `zkdump --data`)."""

class TxnLog:
    """A txn log. `iter(log)` streams the entries from the memory-mapped file."""

    header: Header
    end: End
    """Reads the whole log once (in Rust, GIL released); cached."""
    name: str
    def __iter__(self) -> Iterator[Txn]: ...
    def txns(self, strict: bool = False) -> Iterator[Txn]:
        """strict=True raises ChecksumError / CorruptError at a bad entry instead of yielding it."""
    def records(self) -> Iterator[Union[Header, Txn, End]]:
        """Every record of `zkdump --json`, header to end (then raises the read error, if any)."""

# ---------------------------------------------------------------------------------- snapshots

class Node:
    """A node of a snapshot (`offset` set) or of a replayed tree (`offset` None)."""

    path: str
    data: Optional[bytes]
    offset: Optional[int]
    nodeType: Literal["persistent", "ephemeral", "container", "ttl"]
    ephemeralOwner: int
    czxid: int
    mzxid: int
    pzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    dataLength: int
    dataNull: bool
    numChildren: int
    aclKey: int
    acl: Optional[list[ACL]]
    def stat(self) -> dict[str, int]:
        """The stat in ZooKeeper's (kazoo's ZnodeStat) field order."""
    def to_dict(self, data: bool = False, data_format: Literal["hex", "base64"] = "hex") -> dict[str, Any]:
        """zkdump's `node` record, exactly."""

class Snapshot:
    """A snapshot (plain, gzip or snappy). `iter(snap)` streams the nodes."""

    header: Header
    name: str
    sessions: list[Session]
    acl_entries: list[AclEntry]
    acl_cache: dict[int, list[ACL]]
    seals: list[Seal]
    digest: Optional[Digest]
    last_zxid: Optional[int]
    end: End
    def __iter__(self) -> Iterator[Node]: ...
    def records(self) -> Iterator[Union[Record, Node]]:
        """Every record of `zkdump --json`, header to end (then raises the read error, if any)."""

def open(src: Source, *, name: Optional[str] = None, jute_maxbuffer: Optional[int] = None) -> Union[TxnLog, Snapshot]:
    """A TxnLog or a Snapshot, told apart by content (path: memory-mapped)."""

# ---------------------------------------------------------------------------------- data dirs

class Tree:
    """A replayed data tree."""

    zxid: int
    digest: int
    sessions: dict[int, int]
    snapshot: Optional[str]
    logs: list[str]
    def get(self, path: str) -> Optional[Node]: ...
    def children(self, path: str) -> list[str]: ...
    def walk(self, path: str = "/") -> Iterator[Node]: ...
    def __iter__(self) -> Iterator[Node]: ...
    def __len__(self) -> int: ...
    def __contains__(self, path: str) -> bool: ...

class DataDir:
    """A data dir (dataDir, version-2, or a .tar/.tar.gz/.tar.zst of one)."""

    path: str
    def __init__(self, path: PathArg, *, log_dir: Optional[PathArg] = None, jute_maxbuffer: Optional[int] = None) -> None: ...
    def replay(self, to_zxid: Optional[ZxidArg] = None, to_time: Optional[TimeArg] = None) -> Tree: ...
    def sessions(self) -> SessionsReport: ...
    def verify(self) -> list[Finding]: ...

def verify(path: Union[PathArg, Sequence[PathArg]], *, log_dir: Optional[PathArg] = None, jute_maxbuffer: Optional[int] = None) -> list[Finding]:
    """`zkdump verify`: every finding (empty: nothing to report)."""

def sessions(path: PathArg, *, jute_maxbuffer: Optional[int] = None) -> SessionsReport:
    """`zkdump sessions`: the restore-safety report of a snapshot, log, data dir or archive."""

def filter_datadir(
    src: PathArg,
    dst: Optional[PathArg] = None,
    drop_prefixes: Sequence[str] = (),
    *,
    log_dir: Optional[PathArg] = None,
    to_zxid: Optional[ZxidArg] = None,
    to_time: Optional[TimeArg] = None,
    fence_epoch: Optional[int] = None,
    no_fence: bool = False,
    fence_zxid: Optional[ZxidArg] = None,
    target_version: Optional[str] = None,
    compress: Optional[Literal["none", "gz", "snappy"]] = None,
    admin_restore: Optional[PathArg] = None,
    keep_sessions: bool = False,
    keep_ephemerals: bool = False,
    prefix_file: Optional[PathArg] = None,
    dry_run: bool = False,
    force: bool = False,
    salvage: bool = False,
    jute_maxbuffer: Optional[int] = None,
) -> FilterReport:
    """`zkfilter datadir SRC -o DST ...`, in-process: same checks, same output, same report."""
