"""What `ctx.progress()` costs the task, per call: a GDAL callback may call it thousands of
times a second, so it must cost about what taking a lock costs, whatever the delivery does.

    .venv/bin/python benchmarks/progress.py [--calls N]

Compares, in one run: a bare `threading.Lock` round trip (the peer: the least any thread-safe
update can cost), the task process's `ctx.progress` (records the newest value; a thread sends
it through the pipe at most every 0.1 s), and the supervisor's `Reporter.update`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from runtime import child, wire
from runtime.job import Job
from runtime.progress import Reporter


def per_call(update: Callable[[float], None], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        update(i / calls)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls

    lock = threading.Lock()

    def locked(_: float) -> None:
        with lock:
            pass

    read_end, write_end = os.pipe()

    def drain() -> None:
        while os.read(read_end, 1 << 16):
            pass

    threading.Thread(target=drain, daemon=True).start()
    in_task = child._Progress(wire.Writer(write_end))
    reporter = Reporter(task="bench", job=Job("bench"), log=structlog.get_logger())

    def in_task_update(fraction: float) -> None:
        in_task.update(fraction, "gdal")

    def reporter_update(fraction: float) -> None:
        reporter.update(fraction, "gdal")

    rows = [
        ("threading.Lock round trip (peer)", per_call(locked, calls)),
        ("ctx.progress in the task's process", per_call(in_task_update, calls)),
        ("Reporter.update in the supervisor", per_call(reporter_update, calls)),
    ]
    reporter.succeeded(None)
    reporter.close(1)
    peer = rows[0][1]
    print(f"{calls} calls each; ratio = time per call / the lock's\n")
    print("| update | µs per call | ratio to the lock |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1e6:.2f} | {seconds / peer:.1f}x |")


if __name__ == "__main__":
    main()
