"""Start-up cost of the runtime against `python -c "import boto3"`, in one run.

    .venv/bin/python benchmarks/startup.py [--runs N]

Prints a markdown table of median and p90 wall times and their ratio to importing boto3.
Targets (issue 2): `--help` under 0.15 s, a trivial task under 0.5 s end to end, no sinks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def commands() -> dict[str, list[str]]:
    return {
        'python -c "pass"': [sys.executable, "-c", "pass"],
        'python -c "import boto3" (peer)': [sys.executable, "-c", "import boto3"],
        "batch-task --help": [str(BIN / "batch-task"), "--help"],
        "batch-task list": [str(BIN / "batch-task"), "list"],
        "batch-task echo --steps 1 (trivial task)": [
            str(BIN / "batch-task"),
            "echo",
            "--steps",
            "1",
        ],
    }


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_BATCH", "CLOUDWATCH"))}
    env.pop("PAPERTRAIL_URL", None)
    env.pop("PROGRESS_URL", None)
    cmds = commands()
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            samples[name].append(timed(argv, env))
    peer = statistics.median(samples['python -c "import boto3" (peer)'])
    print(f"{runs} runs each, interleaved; ratio = median / median of importing boto3\n")
    print("| command | median s | p90 s | ratio to import boto3 |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"| {name} | {med:.3f} | {p90:.3f} | {med / peer:.2f}x |")


if __name__ == "__main__":
    main()
