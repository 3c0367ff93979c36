"""What the remote log sinks cost the task: stdout only against stdout + CloudWatch + Papertrail.

    .venv/bin/python benchmarks/logs.py [--events 50000] [--rounds 3]

One process, the real `LogPipeline` and sinks: the task's thread logs N events (stdout goes to
/dev/null, as a pipe nobody reads slowly), timing every call; then the pipeline is closed as the
runtime closes it at exit, and the flush is timed. The remote sinks talk to moto's server (for
CloudWatch Logs) and a TLS syslog receiver on 127.0.0.1, both started here in a process of
their own, and the script checks that each got every event. Configurations alternate over the
rounds; the table shows medians (the flush: the slowest round).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PAYLOAD = "x" * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import multiprocessing

    import boto3
    import trustme

    ca = trustme.CA()
    ca_file = Path(tempfile.mkdtemp()) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ours, theirs = multiprocessing.Pipe()
    servers = multiprocessing.get_context("fork").Process(target=serve, args=(theirs, ca))
    servers.start()
    theirs.close()  # so that recv() fails at once, not hangs, if the servers die
    moto_port, syslog_url = ours.recv()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    logs = boto3.client("logs")
    env = {
        "CLOUDWATCH_LOG_GROUP": "/batch-task/bench",
        "PAPERTRAIL_URL": syslog_url,
        "SSL_CERT_FILE": str(ca_file),
    }
    results: dict[str, list[dict[str, float]]] = {"stdout only": [], "stdout + both sinks": []}
    for round_ in range(args.rounds):
        results["stdout only"].append(measure(args.events, {}, f"bench-{round_}-plain"))
        job_id = f"bench-{round_}-sinks"
        result = measure(args.events, env, job_id)
        ours.send(job_id)
        result["papertrail"] = ours.recv()
        result["cloudwatch"] = count_events(logs, "/batch-task/bench", f"bench/{job_id}/1")
        results["stdout + both sinks"].append(result)
    ours.send(None)
    servers.join()
    print_table(args.events, args.rounds, results)


def serve(conn: Any, ca: Any) -> None:
    """moto and the TLS syslog receiver, in a process of their own as remote services would be.

    Answers each job id it receives with how many syslog lines arrived for that job.
    """
    import logging

    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port
    from tests.fixtures.syslog import Receiver, server_context

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    receiver = Receiver("tcp", context=server_context(ca))
    conn.send((port, receiver.url))
    while (job_id := conn.recv()) is not None:
        time.sleep(0.5)
        hostname = f" {job_id} ".encode()
        conn.send(sum(1 for packet in receiver.packets if hostname in packet[:100]))
    receiver.close()
    moto.stop()


def measure(events: int, env: dict[str, str], job_id: str) -> dict[str, float]:
    from runtime import logs, sinks
    from runtime.job import Job

    job = Job(job_id)
    with open(os.devnull, "w") as devnull:
        pipeline = logs.LogPipeline(
            task="bench",
            job_keys=job.log_keys(),
            sinks=sinks.from_env(env, task="bench", job=job),
            stream=devnull,
        )
        log = pipeline.get_logger("bench")
        durations: list[int] = []

        def task() -> None:
            clock = time.perf_counter_ns
            for n in range(events):
                started = clock()
                log.info("bench.line", n=n, payload=PAYLOAD)
                durations.append(clock() - started)

        worker = threading.Thread(target=task, name="task:bench")
        started = time.perf_counter()
        worker.start()
        worker.join()
        elapsed = time.perf_counter() - started
        flush_started = time.perf_counter()
        pipeline.close(5.0)
        flush = time.perf_counter() - flush_started
    durations.sort()
    return {
        "rate": events / elapsed,
        "p99_us": durations[int(len(durations) * 0.99)] / 1000,
        "flush_s": flush,
    }


def count_events(client: Any, group: str, stream: str) -> int:
    count, token = 0, None
    while True:
        extra = {"nextToken": token} if token else {}
        page = client.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, **extra
        )
        count += len(page["events"])
        if page["nextForwardToken"] == token:
            return count
        token = page["nextForwardToken"]


def print_table(events: int, rounds: int, results: dict[str, list[dict[str, float]]]) -> None:
    base = statistics.median(r["rate"] for r in results["stdout only"])
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{events:,} events from one task, median of {rounds} rounds")
    print(f"({os.cpu_count()} CPUs, load average {load} at the end)\n")
    print(
        "| configuration | events/s on the task's thread | vs stdout only | p99 per log call "
        "| flush at exit (slowest) | delivered to CloudWatch / Papertrail |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, rows in results.items():
        rate = statistics.median(r["rate"] for r in rows)
        p99 = statistics.median(r["p99_us"] for r in rows)
        flush = max(r["flush_s"] for r in rows)
        if "cloudwatch" in rows[0]:
            delivered = " / ".join(
                f"{min(int(r[key]) for r in rows):,}" for key in ("cloudwatch", "papertrail")
            )
        else:
            delivered = "-"
        print(
            f"| {name} | {rate:,.0f} | {rate / base:.2f}x | {p99:.1f} µs | {flush:.3f} s "
            f"| {delivered} |"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fixtures
    main()
