#!/usr/bin/env python3
"""Time a real ZooKeeper server's start-up load of a data dir (used by benches/compare.sh).

    python3 benches/zk_startup.py --version 3.8 --heap 4g DATADIR

Hard-links DATADIR into a scratch copy (the server writes a snapshot at start-up and expires
sessions, so it must not touch the input), starts ZooKeeperServerMain under `/usr/bin/time -v`
on 127.0.0.1, polls `srvr` every 20 ms until it answers with a Zxid, then stops the server.
Prints one JSON line: {"seconds": time until serving, "maxrss_kb": peak RSS of the JVM,
"zxid": what srvr reported}.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "harness"))
from zkharness import ZkServer, four_letter  # noqa: E402


class TimedServer(ZkServer):
    def __init__(self, *a, time_out: Path, **kw):
        super().__init__(*a, **kw)
        self.time_out = time_out

    def command(self):
        return ["/usr/bin/time", "-v", "-o", str(self.time_out), *super().command()]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("--version", default="3.8")
    ap.add_argument("--heap", default="4g")
    ap.add_argument("--timeout", type=float, default=1800)
    a = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zkstartup-", dir=os.environ.get("TMPDIR")))
    try:
        data = scratch / "data"
        subprocess.run(["cp", "-al", str(Path(a.datadir).resolve()), str(data)], check=True)
        tout = scratch / "time.txt"
        srv = TimedServer(a.version, data, heap=a.heap, time_out=tout, prealloc_kb=None,
                          log_level="WARN", workdir=scratch / "work")
        srv.datadir.mkdir(parents=True, exist_ok=True)
        srv.workdir = scratch / "work"
        srv.workdir.mkdir()
        srv._write_config()
        srv.log_path = srv.workdir / "server.log"
        log = open(srv.log_path, "ab")
        t0 = time.monotonic()
        proc = subprocess.Popen(srv.command(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=srv.workdir, start_new_session=True)
        reply = ""
        while time.monotonic() - t0 < a.timeout:
            if proc.poll() is not None:
                print(srv.log_path.read_text()[-3000:], file=sys.stderr)
                return 1
            reply = four_letter(srv.port, "srvr", timeout=1.0)
            if "Zxid:" in reply:
                break
            time.sleep(0.02)
        seconds = time.monotonic() - t0
        # Stop the JVM only: /usr/bin/time must survive to write the peak RSS.
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for k in kids:
            os.kill(int(k), signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        text = tout.read_text() if tout.exists() else ""
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        z = re.search(r"Zxid: (0x[0-9a-f]+)", reply)
        print(json.dumps({"seconds": round(seconds, 3), "maxrss_kb": int(m.group(1)) if m else None,
                          "zxid": z.group(1) if z else None}))
        return 0 if z else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
