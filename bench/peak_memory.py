#!/usr/bin/env python3
"""Runs a command and reports the peak resident memory of its whole process tree (the command
plus its children, e.g. Quire's PDF reader processes), sampled every 50 ms, the wall time, and
the CPU time of the tree (user + system, children included) as a share of all cores' time.

Usage: python3 bench/peak_memory.py [--json FILE] COMMAND [ARGS...]
(--json FILE also writes {"peak_mib", "wall_s", "cpu_s", "cores", "cores_busy", "exit"} there.)
"""

import json
import os
import resource
import subprocess
import sys
import time


PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> list[int]:
    """The child processes of `pid`, from its threads' `children` files (no scan of /proc: the
    sampler must not take CPU time from the command it measures)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_rss(root: int) -> int:
    """Sum of resident memory (bytes) over `root` and its descendants."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(children(pid))
    return total


def main() -> int:
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--json"]:
        out, args = args[1], args[2:]
    start = time.monotonic()
    proc = subprocess.Popen(args)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    cores = os.cpu_count() or 1
    busy = cpu / (wall * cores) if wall > 0 else 0.0
    print(f"peak memory of the process tree: {peak / 2**20:.0f} MiB; wall time {wall:.1f} s; "
          f"CPU {cpu:.1f} s ({busy:.0%} of {cores} cores); exit {proc.returncode}", file=sys.stderr)
    if out:
        with open(out, "w") as f:
            json.dump({"peak_mib": peak / 2**20, "wall_s": wall, "cpu_s": cpu, "cores": cores,
                       "cores_busy": busy, "exit": proc.returncode}, f)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
