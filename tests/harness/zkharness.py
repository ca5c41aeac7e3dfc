"""Run real Apache ZooKeeper servers and tools from tests and generator scripts.

ZooKeeper builds come from Debian packages (see scripts/install-deps.sh):

* 3.8 -> the system install of bookworm's ``zookeeper``/``libzookeeper-java``
* 3.9 -> trixie's packages unpacked into ``<project>/.zk/3.9``
* 3.4 -> bullseye's packages unpacked into ``<project>/.zk/3.4``

All three run on bookworm's dependency jars in /usr/share/java, logging through
slf4j-log4j12 + log4j 1.2 (Debian's builds use log4j 1.2, not logback).

Typical use::

    from zkharness import ZkServer, java_tool
    with ZkServer("3.8", "/tmp/data", snap_count=20) as srv:
        zk = srv.client()          # a started kazoo client
        ...
    print(srv.log_text())

Servers only ever bind 127.0.0.1.  Set ``ZKFORMAT_ZK_DIR`` to use another
``.zk`` directory.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[2]
ZK_DIR = Path(os.environ.get("ZKFORMAT_ZK_DIR", ROOT / ".zk"))
SYS_JAVA = Path("/usr/share/java")
VERSIONS = ("3.4", "3.8", "3.9")

# Dependency jars from bookworm (/usr/share/java) used by 3.8 and 3.9.
_DEPS_MODERN = [
    "slf4j-api.jar", "slf4j-log4j12.jar", "log4j-1.2.jar",
    "commons-cli.jar", "commons-io.jar", "findbugs-annotations.jar",
    "jackson-annotations.jar", "jackson-core.jar", "jackson-databind.jar",
    "jetty9-client.jar", "jetty9-http.jar", "jetty9-io.jar", "jetty9-security.jar",
    "jetty9-server.jar", "jetty9-servlet.jar", "jetty9-util.jar", "jetty9-util-ajax.jar",
    "servlet-api.jar",
    "jline.jar", "metrics-core.jar",
    "netty-buffer.jar", "netty-codec.jar", "netty-common.jar", "netty-handler.jar",
    "netty-resolver.jar", "netty-transport.jar", "netty-transport-native-epoll.jar",
    "netty-transport-native-unix-common.jar",
    "snappy-java.jar",
]
# 3.4.x needs only slf4j + log4j (NIO connection factory, no netty 3).
_DEPS_34 = ["slf4j-api.jar", "slf4j-log4j12.jar", "log4j-1.2.jar", "jline.jar"]


class HarnessError(RuntimeError):
    pass


def _check_version(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"unknown ZooKeeper version {version!r}; expected one of {VERSIONS}")
    return version


def zk_jars(version: str) -> list[Path]:
    """The ZooKeeper jars of one version (jute first, see classpath())."""
    _check_version(version)
    if version == "3.8":
        return [SYS_JAVA / "zookeeper-jute.jar", SYS_JAVA / "zookeeper.jar"]
    base = ZK_DIR / version / "usr/share/java"
    if version == "3.9":
        return sorted(base.glob("zookeeper-jute-3.9*.jar")) + \
            [p for p in sorted(base.glob("zookeeper-3.9*.jar"))]
    return [p for p in sorted(base.glob("zookeeper-3.4*.jar"))]


def classpath(version: str) -> str:
    """A java -cp string for one version.

    The jute jar is put before the server jar on purpose: Debian's server jar
    has a manifest Class-Path naming /usr/share/java/zookeeper-jute.jar (the
    bookworm 3.8 one), and manifest entries are searched right after the jar
    that names them.  Putting the version's own jute jar first wins.
    """
    jars = zk_jars(version)
    if len(jars) < (1 if version == "3.4" else 2) or not all(j.exists() for j in jars):
        raise HarnessError(
            f"ZooKeeper {version} jars missing ({[str(j) for j in jars]}); "
            f"run scripts/install-deps.sh")
    deps = _DEPS_34 if version == "3.4" else _DEPS_MODERN
    paths = [str(j) for j in jars] + [str(SYS_JAVA / d) for d in deps if (SYS_JAVA / d).exists()]
    return os.pathsep.join(paths)


def installed_versions() -> list[str]:
    out = []
    for v in VERSIONS:
        try:
            classpath(v)
            out.append(v)
        except HarnessError:
            pass
    return out


def exact_version(version: str) -> str:
    """Debian package version of the libzookeeper-java that provides `version`."""
    f = ZK_DIR / version / "PACKAGES"
    if f.exists():
        for line in f.read_text().splitlines():
            parts = line.replace("Package:", "").replace("Version:", "").split()
            if len(parts) >= 2 and parts[0] == "libzookeeper-java":
                return parts[1]
    return "unknown"


_LOG4J_TEMPLATE = """\
log4j.rootLogger={level}, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Target={target}
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{{ISO8601}} [%t] %-5p %c{{1}} - %m%n
"""

_tool_log_cfg: Path | None = None


def _tools_log4j() -> Path:
    global _tool_log_cfg
    if _tool_log_cfg is None or not _tool_log_cfg.exists():
        d = Path(tempfile.mkdtemp(prefix="zkharness-tools-"))
        _tool_log_cfg = d / "log4j.properties"
        _tool_log_cfg.write_text(_LOG4J_TEMPLATE.format(level="WARN", target="System.err"))
    return _tool_log_cfg


def java_tool(version: str, main_class: str, args: Sequence[str] = (),
              jvm_flags: Sequence[str] = (), timeout: float = 120,
              check: bool = False, extra_classpath: Sequence[str] = (),
              input: str | None = None) -> subprocess.CompletedProcess:
    """Run a ZooKeeper class's main() (LogFormatter, TxnLogToolkit, SnapshotFormatter, ...).

    Returns the CompletedProcess (text mode, stdout/stderr captured).
    Note: LogFormatter exists only in 3.4; TxnLogToolkit and SnapshotFormatter
    exist in all three (3.4's SnapshotFormatter does not take -d/-json).
    """
    cp = classpath(version)
    if extra_classpath:
        cp = os.pathsep.join([*extra_classpath, cp])
    cmd = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           f"-Dlog4j.configuration=file:{_tools_log4j()}",
           *jvm_flags, "-cp", cp, main_class, *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          check=check, input=input, errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter(port: int, cmd: str, timeout: float = 3.0) -> str:
    """Send a four-letter word to 127.0.0.1:port and return the reply ('' on failure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(cmd.encode())
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


class ZkServer:
    """One real ZooKeeper server on 127.0.0.1.

    version      "3.4" | "3.8" | "3.9"
    datadir      dataDir (the server uses <datadir>/version-2); created if missing
    jvm_flags    extra JVM flags, e.g. ["-Dzookeeper.extendedTypesEnabled=true"]
    config_extra extra zoo.cfg lines {key: value}
    snap_count   zookeeper.snapCount (None = server default 100000)
    prealloc_kb  zookeeper.preAllocSize in KiB (default 16, keeps logs small)
    admin        enable the AdminServer (3.5+) on a free 127.0.0.1 port (.admin_port)
    quorum       run QuorumPeerMain as a 1-member ensemble with standaloneEnabled=false
                 and reconfigEnabled=true (needed for reconfig); otherwise the server
                 runs standalone (ZooKeeperServerMain)
    tick_time    tickTime in ms
    max_session_timeout / min_session_timeout  optional zoo.cfg values

    Attributes after start(): port, pid, workdir (temp dir with zoo.cfg and server.log),
    admin_port (or None), log_path.
    """

    def __init__(self, version: str, datadir: str | os.PathLike,
                 jvm_flags: Iterable[str] = (), config_extra: Mapping[str, object] | None = None,
                 snap_count: int | None = None, prealloc_kb: int | None = 16,
                 admin: bool = False, quorum: bool = False, tick_time: int = 2000,
                 min_session_timeout: int | None = None, max_session_timeout: int | None = None,
                 heap: str = "256m", start_timeout: float = 60.0, log_level: str = "INFO",
                 workdir: str | os.PathLike | None = None):
        self.version = _check_version(version)
        self.datadir = Path(datadir).resolve()
        self.jvm_flags = list(jvm_flags)
        self.config_extra = dict(config_extra or {})
        self.snap_count = snap_count
        self.prealloc_kb = prealloc_kb
        self.admin = admin
        self.quorum = quorum
        self.tick_time = tick_time
        self.min_session_timeout = min_session_timeout
        self.max_session_timeout = max_session_timeout
        self.heap = heap
        self.start_timeout = start_timeout
        self.log_level = log_level
        self._workdir_arg = workdir
        self.workdir: Path | None = None
        self.port: int | None = None
        self.admin_port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log_fh = None
        self._clients: list = []

    # ------------------------------------------------------------------ config
    def _write_config(self) -> Path:
        assert self.workdir is not None
        self.port = free_port()
        cfg = {
            "tickTime": self.tick_time,
            "initLimit": 10,
            "syncLimit": 5,
            "dataDir": str(self.datadir),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": 0,
        }
        if self.min_session_timeout is not None:
            cfg["minSessionTimeout"] = self.min_session_timeout
        if self.max_session_timeout is not None:
            cfg["maxSessionTimeout"] = self.max_session_timeout
        cfg["4lw.commands.whitelist"] = "*"
        if self.version != "3.4":
            if self.admin:
                self.admin_port = free_port()
                cfg["admin.enableServer"] = "true"
                cfg["admin.serverAddress"] = "127.0.0.1"
                cfg["admin.serverPort"] = self.admin_port
            else:
                cfg["admin.enableServer"] = "false"
        if self.quorum:
            if self.version == "3.4":
                raise HarnessError("quorum/reconfig mode needs ZooKeeper 3.5+")
            peer, elect = free_port(), free_port()
            dyn = self.workdir / "zoo.cfg.dynamic"
            dyn.write_text(f"server.1=127.0.0.1:{peer}:{elect}:participant;127.0.0.1:{self.port}\n")
            cfg.update({
                "standaloneEnabled": "false",
                "reconfigEnabled": "true",
                "dynamicConfigFile": str(dyn),
            })
            del cfg["clientPortAddress"]   # the client address is in the dynamic config
            self.datadir.mkdir(parents=True, exist_ok=True)
            (self.datadir / "myid").write_text("1\n")
        else:
            cfg["clientPort"] = self.port
        cfg.update(self.config_extra)
        path = self.workdir / "zoo.cfg"
        path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return path

    def command(self) -> list[str]:
        assert self.workdir is not None
        log4j = self.workdir / "log4j.properties"
        log4j.write_text(_LOG4J_TEMPLATE.format(level=self.log_level, target="System.out"))
        flags = [f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-Djava.net.preferIPv4Stack=true",
                 f"-Dlog4j.configuration=file:{log4j}",
                 "-Dzookeeper.jmx.log4j.disable=true",
                 "-Dzookeeper.admin.enableServer=" + ("true" if self.admin else "false")]
        if self.prealloc_kb is not None:
            flags.append(f"-Dzookeeper.preAllocSize={self.prealloc_kb}")
        if self.snap_count is not None:
            flags.append(f"-Dzookeeper.snapCount={self.snap_count}")
        flags += self.jvm_flags
        main = ("org.apache.zookeeper.server.quorum.QuorumPeerMain" if self.quorum
                else "org.apache.zookeeper.server.ZooKeeperServerMain")
        return ["java", *flags, "-cp", classpath(self.version), main,
                str(self.workdir / "zoo.cfg")]

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "ZkServer":
        if self.proc is not None:
            raise HarnessError("server already started")
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self._workdir_arg is not None:
            self.workdir = Path(self._workdir_arg)
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"zk{self.version}-"))
        self._write_config()
        self.log_path = self.workdir / "server.log"
        self._log_fh = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log_fh, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir,
                                     start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.kill9()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"ZooKeeper {self.version} exited with {self.proc.returncode}:\n"
                                   + self.log_text()[-4000:])
            reply = four_letter(self.port, "srvr", timeout=1.0)
            if "Zxid:" in reply or "Mode:" in reply:
                return
            time.sleep(0.2)
        raise HarnessError(f"ZooKeeper {self.version} not serving on port {self.port} after "
                           f"{self.start_timeout}s:\n" + self.log_text()[-4000:])

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _close_clients(self) -> None:
        for c in self._clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass
        self._clients.clear()

    def stop(self, timeout: float = 15.0, close_clients: bool = True) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit code.

        close_clients=True first closes the kazoo clients made by client() (their
        sessions end with closeSession txns); False stops the server with those
        sessions still open (they are in the data dir at shutdown).
        """
        if close_clients:
            self._close_clients()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._finish()
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL the server (simulates a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._finish()

    def _finish(self) -> None:
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        for c in self._clients:  # connections are dead; just stop the threads
            try:
                c.stop()
            except Exception:
                pass
        self._clients.clear()

    def __enter__(self) -> "ZkServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def four_letter(self, cmd: str) -> str:
        return four_letter(self.port, cmd)

    def client(self, timeout: float = 10.0, track: bool = True, **kwargs):
        """A started kazoo KazooClient connected to this server (stopped by stop())."""
        from kazoo.client import KazooClient
        kwargs.setdefault("connection_retry", {"max_tries": 3, "delay": 0.1})
        c = KazooClient(hosts=self.hosts, timeout=timeout, **kwargs)
        c.start(timeout=30)
        if track:
            self._clients.append(c)
        return c

    def admin_command(self, command: str, **params) -> dict:
        """Call an AdminServer command (server started with admin=True); returns parsed JSON."""
        import json
        import urllib.parse
        import urllib.request
        if not self.admin_port:
            raise HarnessError("server was not started with admin=True")
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        url = f"http://127.0.0.1:{self.admin_port}/commands/{command}{q}"
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read().decode())

    def admin_request(self, command: str, method: str = "GET", body: bytes | None = None,
                      params: Mapping[str, object] | None = None,
                      headers: Mapping[str, str] | None = None,
                      timeout: float = 60) -> tuple[int, dict, bytes]:
        """Raw AdminServer call -> (HTTP status, response headers, body bytes).

        For the 3.9 `snapshot` (GET, params streaming=true) and `restore` (POST, body =
        snapshot stream) commands; HTTP errors are returned, not raised.
        """
        import urllib.error
        import urllib.parse
        import urllib.request
        if not self.admin_port:
            raise HarnessError("server was not started with admin=True")
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        req = urllib.request.Request(self.admin_url(command) + q, data=body, method=method,
                                     headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    ADMIN_AUTH = {"Authorization": "digest zkharness:zkharness"}

    def admin_snapshot(self) -> tuple[bytes, str]:
        """3.9+: stream a snapshot through the AdminServer. Returns (bytes, last_zxid header).

        The snapshot/restore commands need an authenticated caller; any digest id works
        while "/" keeps its default world:anyone ACL (header `Authorization: digest u:p`).
        Rate limit: zookeeper.admin.rateLimiterIntervalInMS between calls, which 3.9.3 reads as
        microseconds (its default 300000 is 0.3 s): calls closer than that get HTTP 429.
        """
        st, h, body = self.admin_request("snapshot", params={"streaming": "true"},
                                         headers=self.ADMIN_AUTH)
        if st != 200:
            raise HarnessError(f"admin snapshot failed: HTTP {st}: {body[:300]!r}")
        return body, h.get("last_zxid", "")

    def admin_restore(self, snapshot: bytes) -> dict:
        """3.9+: POST a snapshot stream to the AdminServer `restore` command; returns its JSON."""
        import json
        st, _, body = self.admin_request("restore", method="POST", body=snapshot,
                                         headers={**self.ADMIN_AUTH,
                                                  "Content-Type": "application/octet-stream"})
        if st != 200:
            raise HarnessError(f"admin restore failed: HTTP {st}: {body[:300]!r}")
        return json.loads(body.decode())

    def admin_url(self, command: str) -> str:
        return f"http://127.0.0.1:{self.admin_port}/commands/{command}"


# ---------------------------------------------------------------------- tree capture
STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def _acl_to_json(acl) -> dict:
    return {"perms": acl.perms, "scheme": acl.id.scheme, "id": acl.id.id}


def capture_tree(zk, root: str = "/") -> list[dict]:
    """Every node under `root` as seen through a kazoo client, sorted by path.

    Each entry: {"path", "data_b64" (None when the server returned null data),
    "acl": [{"perms","scheme","id"}], "stat": {STAT_FIELDS...}}.
    Stat values are the served ones (cversion is the served value, see restore-facts.md).
    Nodes that vanish while walking are skipped.
    """
    from kazoo.exceptions import NoNodeError, NoAuthError
    out = []
    stack = [root]
    while stack:
        path = stack.pop()
        try:
            data, stat = zk.get(path)
        except NoNodeError:
            continue
        except NoAuthError:
            data, stat = None, zk.exists(path)
            if stat is None:
                continue
        try:
            acls, _ = zk.get_acls(path)
        except NoNodeError:
            continue
        entry = {
            "path": path,
            "data_b64": None if data is None else base64.b64encode(data).decode(),
            "acl": [_acl_to_json(a) for a in acls],
            "stat": {f: getattr(stat, f) for f in STAT_FIELDS},
        }
        if data is None and stat is not None and stat.dataLength > 0:
            entry["unreadable"] = True
        out.append(entry)
        try:
            children = zk.get_children(path)
        except NoNodeError:
            continue
        for ch in children:
            stack.append((path.rstrip("/") + "/" + ch))
    out.sort(key=lambda e: e["path"])
    return out


# ---------------------------------------------------------------------- ensembles
def _free_ports(n: int, taken: set[int] = frozenset()) -> list[int]:
    """`n` distinct free 127.0.0.1 ports, none of them in `taken`."""
    out: list[int] = []
    while len(out) < n:
        p = free_port()
        if p not in out and p not in taken:
            out.append(p)
    return out


class EnsembleMember(ZkServer):
    """One member of a ZkEnsemble: QuorumPeerMain with a static zoo.cfg naming every member.

    Its ports (client, quorum, election, admin) are chosen by the ensemble before any member
    starts and stay the same across restarts; its data dir holds its `myid`. start(wait=True)
    returns once the JVM answers `srvr` on its client port, serving or not (a member alone never
    serves: it waits for a quorum). Stop it with stop() (SIGTERM to its PID) or kill9(); start()
    again restarts it with the same data dir and ports.
    """

    def __init__(self, ensemble: "ZkEnsemble", myid: int, datadir: Path, workdir: Path,
                 ports: Mapping[str, int | None], log_dir: Path | None = None, **kwargs):
        super().__init__(ensemble.version, datadir, admin=ports.get("admin") is not None,
                         quorum=True, workdir=workdir, tick_time=ensemble.tick_time, **kwargs)
        self.ensemble = ensemble
        self.myid = myid
        self.log_dir = Path(log_dir).resolve() if log_dir is not None else None
        self.port = ports["client"]
        self.peer_port = ports["peer"]
        self.election_port = ports["election"]
        self.admin_port = ports.get("admin")
        self._wait_up = True

    def _write_config(self) -> Path:
        assert self.workdir is not None
        cfg: dict[str, object] = {
            "tickTime": self.tick_time,
            "initLimit": 10,
            "syncLimit": 5,
            "dataDir": str(self.datadir),
            **({"dataLogDir": str(self.log_dir)} if self.log_dir is not None else {}),
            "clientPort": self.port,
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": 0,
        }
        if self.ensemble.whitelist is not None:
            cfg["4lw.commands.whitelist"] = self.ensemble.whitelist
        if self.admin_port:
            cfg.update({"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
                        "admin.serverPort": self.admin_port})
        else:
            cfg["admin.enableServer"] = "false"
        for m in self.ensemble.members:
            cfg[f"server.{m.myid}"] = f"127.0.0.1:{m.peer_port}:{m.election_port}"
        cfg.update(self.ensemble.config_extra)
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        # Written at every start, as Exhibitor does on DC/OS masters (dcos-zk restore drops it).
        (self.datadir / "myid").write_text(f"{self.myid}\n")
        path = self.workdir / "zoo.cfg"
        path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return path

    def _wait_ready(self) -> None:
        if not self._wait_up:
            return
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"ensemble member {self.myid} exited with "
                                   f"{self.proc.returncode}:\n" + self.log_text()[-4000:])
            if four_letter(self.port, "srvr", timeout=1.0):
                return
            time.sleep(0.1)
        raise HarnessError(f"ensemble member {self.myid} does not answer on port {self.port} "
                           f"after {self.start_timeout}s:\n" + self.log_text()[-4000:])

    def start(self, wait: bool = True) -> "EnsembleMember":  # type: ignore[override]
        """Start (or restart) this member; wait=True waits until its JVM answers srvr."""
        if self.running():
            raise HarnessError(f"ensemble member {self.myid} already running")
        self.proc = None
        self._wait_up = wait
        super().start()
        return self

    @property
    def exhibitor_dir(self) -> Path:
        """With layout="dcos": the folder standing for /var/lib/dcos/exhibitor."""
        return self.datadir.parent.parent

    def mode(self) -> str | None:
        """The `Mode:` of its srvr reply (leader, follower, ...), None when not serving."""
        for line in four_letter(self.port, "srvr", timeout=2.0).splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None


class ZkEnsemble:
    """A real ZooKeeper 3.5+ ensemble of `size` members on 127.0.0.1, for tests.

    Each member has its own data dir (<basedir>/member<N>/data with its myid), work dir
    (zoo.cfg, server.log) and ports (client, quorum, election, optionally admin), all on
    127.0.0.1. whitelist is 4lw.commands.whitelist ("*" by default; None leaves ZooKeeper's
    default, which since 3.5 is srvr only). tick_time is short (500 ms) so that lost quorums
    and elections settle quickly. admin=True gives every member its own admin server port
    (.admin_port; 3.9's admin `snapshot`/`restore` need an authenticated caller, e.g. the
    superDigest user set through jvm_flags). jvm_flags and snap_count go to every member, as
    for ZkServer (e.g. ["-Dzookeeper.DigestAuthenticationProvider.superDigest=super:<digest>"]).

        with ZkEnsemble("3.8", tmp_path) as ens:     # returns when one leads, all follow
            ens.hosts                                 # "127.0.0.1:p1,127.0.0.1:p2,..."
            ens.leader().stop()                       # by PID
            ens.wait_serving(members=ens.running_members())

    start(wait=False) launches the JVMs and returns at once (the ensemble is still electing).

    layout="dcos" lays each member out as a DC/OS master: dataDir
    <basedir>/member<N>/exhibitor/zookeeper/snapshot and dataLogDir .../zookeeper/transactions
    (.log_dir), `/var/lib/dcos/exhibitor` being <basedir>/member<N>/exhibitor (.exhibitor_dir);
    myid is written at every start, as Exhibitor does.
    """

    def __init__(self, version: str, basedir: str | os.PathLike, size: int = 3,
                 admin: bool = False, tick_time: int = 500, whitelist: str | None = "*",
                 config_extra: Mapping[str, object] | None = None, heap: str = "160m",
                 start_timeout: float = 60.0, log_level: str = "INFO",
                 jvm_flags: Iterable[str] = (), snap_count: int | None = None,
                 layout: str = "plain"):
        self.version = _check_version(version)
        if version == "3.4":
            raise HarnessError("ZkEnsemble needs ZooKeeper 3.5+")
        self.basedir = Path(basedir).resolve()
        self.tick_time = tick_time
        self.whitelist = whitelist
        self.config_extra = dict(config_extra or {})
        self.members: list[EnsembleMember] = []
        kinds = ["client", "peer", "election"] + (["admin"] if admin else [])
        ports = _free_ports(size * len(kinds))
        for i in range(size):
            mine = dict(zip(kinds, ports[i * len(kinds):(i + 1) * len(kinds)]))
            home = self.basedir / f"member{i + 1}"
            if layout == "dcos":
                zkdir = home / "exhibitor" / "zookeeper"
                data, logs = zkdir / "snapshot", zkdir / "transactions"
            elif layout == "plain":
                data, logs = home / "data", None
            else:
                raise ValueError(f"unknown layout {layout!r}: plain or dcos")
            self.members.append(EnsembleMember(self, i + 1, data, home, mine, log_dir=logs,
                                               heap=heap, start_timeout=start_timeout,
                                               log_level=log_level, jvm_flags=jvm_flags,
                                               snap_count=snap_count))

    @property
    def hosts(self) -> str:
        return ",".join(m.hosts for m in self.members)

    def running_members(self) -> list[EnsembleMember]:
        return [m for m in self.members if m.running()]

    def start(self, wait: bool = True, timeout: float = 60.0) -> "ZkEnsemble":
        """Launch every member; wait=True returns once all serve and exactly one leads."""
        try:
            for m in self.members:
                m.start(wait=False)
            if wait:
                self.wait_serving(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_serving(self, timeout: float = 60.0,
                     members: Sequence[EnsembleMember] | None = None) -> EnsembleMember:
        """Wait until `members` (default all) serve and exactly one of them leads; the leader."""
        members = list(self.members if members is None else members)
        deadline = time.monotonic() + timeout
        modes: list[str | None] = []
        while time.monotonic() < deadline:
            for m in members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise HarnessError(f"ensemble member {m.myid} exited with "
                                       f"{m.proc.returncode}:\n" + m.log_text()[-4000:])
            modes = [m.mode() for m in members]
            leaders = [m for m, mode in zip(members, modes) if mode == "leader"]
            if all(modes) and len(leaders) == 1:
                return leaders[0]
            time.sleep(0.2)
        raise HarnessError(f"ensemble not serving after {timeout}s (modes {modes}):\n"
                           + "\n".join(m.log_text()[-2000:] for m in members))

    def leader(self) -> EnsembleMember | None:
        for m in self.running_members():
            if m.mode() == "leader":
                return m
        return None

    def followers(self) -> list[EnsembleMember]:
        return [m for m in self.running_members() if m.mode() == "follower"]

    def stop(self) -> None:
        for m in self.members:
            try:
                m.stop()
            except Exception:
                m.kill9()

    def __enter__(self) -> "ZkEnsemble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
