#!/usr/bin/env python3
"""Runs one command and prints "SECONDS PEAK_RSS_KIB EXIT_STATUS" (for benches/compare.sh).

    timed.py [--rss] [--stdin FILE] [--stderr FILE] CMD [ARG...]

The clock runs from just before the spawn to the reaping of the process, and only the command
runs in between: no shell, no `date` and no `time` process (on a 14 ms run, spawning GNU time as
well added 2.3 ms, the whole cost of running `/bin/true` that way). Without --rss the peak RSS
printed is 0: the kernel's figure for a child spawned from Python counts the Python process's
own RSS (13 MiB here) when that is larger, as the high-water mark survives exec. With --rss the
command runs under GNU time (`/usr/bin/time -f %M`, a small C program that forks it) for its
true peak RSS, and the seconds printed include GNU time's start. Its stdout goes to /dev/null,
its stdin is FILE (opened here, once per run) or /dev/null.
"""

import os
import sys
import tempfile
import time


def main() -> int:
    args = sys.argv[1:]
    stdin, stderr = os.devnull, os.devnull
    rss_run = False
    while args and args[0] in ("--stdin", "--stderr", "--rss"):
        if args[0] == "--rss":
            rss_run = True
            args = args[1:]
            continue
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        if args[0] == "--stdin":
            stdin = args[1]
        else:
            stderr = args[1]
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    fd_in = os.open(stdin, os.O_RDONLY)
    fd_out = os.open(os.devnull, os.O_WRONLY)
    fd_err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    actions = [
        (os.POSIX_SPAWN_DUP2, fd_in, 0),
        (os.POSIX_SPAWN_DUP2, fd_out, 1),
        (os.POSIX_SPAWN_DUP2, fd_err, 2),
    ]
    if not rss_run:
        start = time.perf_counter()
        pid = os.posix_spawnp(args[0], args, os.environ, file_actions=actions)
        _, status, _ = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        print(f"{seconds:.6f} 0 {os.waitstatus_to_exitcode(status)}")
        return 0
    with tempfile.NamedTemporaryFile(prefix="timed-", suffix=".rss") as rss_file:
        argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *args]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, _ = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        lines = open(rss_file.name).read().split()
    # GNU time writes "Command exited with non-zero status N" before the figure.
    rss = lines[-1] if lines and lines[-1].isdigit() else "0"
    print(f"{seconds:.6f} {rss} {os.waitstatus_to_exitcode(status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
