"""The job board against moto's Batch: a queue of 2,000 jobs and a 5,000-child array (issue 15).

    .venv/bin/python benchmarks/board.py [--jobs 2000] [--array-size 5000] [--interval 5]

Starts moto's server and `batch-task board --queue Q` as separate processes on 127.0.0.1 and
prints markdown tables:
- cold: from starting the board to the first `/api/jobs` answer holding every job, and the
  AWS calls that first refresh made; warm: `/api/jobs` answer times once it has them;
- AWS calls per refresh in the steady state (the board's own counters, `/api/stats`);
- latency from a change (a job submitted) to its `job` event on `/events`.
Targets: warm `/api/jobs` under 100 ms; a change shown within one poll interval plus 1 s;
calls per refresh independent of the array's size (run again with `--array-size 10`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


def wait_for(probe: Any, timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise SystemExit(f"benchmark: {what} did not happen within {timeout} s")


def setup(jobs: int, array_size: int) -> tuple[Any, str, str]:
    import boto3

    batch, iam = boto3.client("batch"), boto3.client("iam")
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ce = batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="UNMANAGED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName="bench",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}],
    )
    definition = batch.register_job_definition(
        jobDefinitionName="bench-echo",
        type="container",
        containerProperties={
            "image": "batch-task:bench",
            "command": ["echo", "--message", "Ref::message"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )["jobDefinitionArn"]

    def submit(i: int) -> None:
        batch.submit_job(
            jobName=f"job-{i:05d}", jobQueue="bench", jobDefinition=definition,
            parameters={"message": f"m{i}"},
        )  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, range(jobs)))
    batch.submit_job(
        jobName="big-array", jobQueue="bench", jobDefinition=definition,
        arrayProperties={"size": array_size},
    )  # fmt: skip
    return batch, "bench", definition


def sse_listener(url: str, seen: dict[str, float], stop: threading.Event) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request("GET", "/events")
    answer = conn.getresponse()
    while not stop.is_set():
        line = answer.fp.readline().decode()
        if line.startswith("data: "):
            data = json.loads(line[6:])
            if "job_id" in data and data.get("name", "").startswith("probe-"):
                seen.setdefault(data["name"], time.perf_counter())
    conn.close()


def table(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n| {title} | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--array-size", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=5.0, help="the board's --interval")
    parser.add_argument("--probes", type=int, default=6, help="changes timed to their event")
    ns = parser.parse_args()
    moto_port, board_port = free_port(), free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "BATCH_TASK_HOME": "/nonexistent-batch-task-home",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update({k: env[k] for k in env if k.startswith("AWS_")})
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    board = None
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", moto_port)), 30, "moto")
        started = time.perf_counter()
        batch, queue, definition = setup(ns.jobs, ns.array_size)
        print(f"moto: {ns.jobs} jobs and a {ns.array_size}-child array submitted in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
        url = f"http://127.0.0.1:{board_port}"
        argv = [str(BIN / "batch-task"), "board", "--port", str(board_port), "--queue", queue]
        argv += ["--interval", str(ns.interval)]
        start = time.perf_counter()
        board = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(get(f"{url}/api/jobs")) == ns.jobs + 1, 300, "the first refresh")
        cold = time.perf_counter() - start
        first = wait_for(lambda: get(f"{url}/api/stats")["settled"].get("aws"), 60, "settled")
        assert first["refreshes"] == 1, "the first refresh is over before it is read"
        warm = []
        for _ in range(20):
            t = time.perf_counter()
            with urllib.request.urlopen(f"{url}/api/jobs", timeout=60) as answer:
                size = len(answer.read())
            warm.append(time.perf_counter() - t)

        def settled() -> dict[str, Any]:
            """Refreshes and the calls made up to the end of the last one, read together."""
            return dict(get(f"{url}/api/stats")["settled"]["aws"])

        before = settled()
        wait_for(lambda: settled()["refreshes"] >= before["refreshes"] + 3, 120, "3 refreshes")
        after = settled()
        n = after["refreshes"] - before["refreshes"]
        per = {
            op: (after["calls"].get(op, 0) - before["calls"].get(op, 0)) / n
            for op in after["calls"]
        }
        seen: dict[str, float] = {}
        stop = threading.Event()
        threading.Thread(target=sse_listener, args=(url, seen, stop), daemon=True).start()
        time.sleep(1)
        latencies = []
        for i in range(ns.probes):
            t = time.perf_counter()
            batch.submit_job(jobName=f"probe-{i}", jobQueue=queue, jobDefinition=definition)
            wait_for(lambda i=i: f"probe-{i}" in seen, 120, f"probe-{i}'s event")
            latencies.append(seen[f"probe-{i}"] - t)
            time.sleep(ns.interval * (0.37 * (i + 1) % 1))
        stop.set()
        median = statistics.median(latencies)
        table(
            f"board over {ns.jobs} jobs + a {ns.array_size}-child array (moto)",
            [
                ("cold: start to first full /api/jobs", f"{cold:.2f} s"),
                ("cold: AWS calls of the first refresh", json.dumps(first["calls"])),
                ("/api/jobs answer size", f"{size / 1e6:.2f} MB"),
                ("warm /api/jobs, median of 20", f"{statistics.median(warm) * 1000:.1f} ms"),
                ("warm /api/jobs, max of 20", f"{max(warm) * 1000:.1f} ms"),
                (f"AWS calls per refresh (mean of {n})", json.dumps(per)),
                (f"change to SSE event, median of {ns.probes}", f"{median:.2f} s"),
                (f"change to SSE event, max of {ns.probes}", f"{max(latencies):.2f} s"),
                ("board --interval", f"{ns.interval} s"),
            ],
        )  # fmt: skip
    finally:
        for proc in (board, moto):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
