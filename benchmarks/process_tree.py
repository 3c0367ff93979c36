"""Run a command and measure its whole process tree: wall and CPU seconds, peak summed RSS.

A container's memory limit counts every process in it, and the runtime runs a task in a child
process beside its supervisor: `ru_maxrss` of one process misses the other. So the tree's RSS
(the command and every descendant, found through /proc's parent links) is summed every 50 ms
and the largest sum kept. CPU seconds come from wait4() of the command, which includes every
descendant it waited for.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

INTERVAL = 0.05
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measure:
    code: int
    wall: float
    cpu: float
    peak_mib: float


def run(
    command: list[str], env: Mapping[str, str] | None = None, log: Path | None = None
) -> Measure:
    """Run `command` to the end (output to `log`, else discarded) and measure its tree."""
    with open(log or os.devnull, "wb") as output:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, env=dict(env) if env is not None else None, stdout=output, stderr=output
        )
        peak = [0]
        done = threading.Event()
        sampler = threading.Thread(target=_sample, args=(proc.pid, peak, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(proc.returncode, wall, usage.ru_utime + usage.ru_stime, peak[0] * PAGE / 2**20)


def _sample(root: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], sum(_rss_pages(pid) for pid in _tree(root)))
        done.wait(INTERVAL)


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from each process's parent in /proc/PID/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces; the fields after its ')' are plain.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _rss_pages(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
