"""What the remote log sinks cost a task: stdout only against stdout + CloudWatch + Papertrail.

    .venv/bin/python benchmarks/logs.py [--events 50000] [--rounds 3]

Each round runs the real CLI once per configuration, in turn: the `log-burst` task below logs
N events as fast as it can and times its own loop (the rate is the task's, measured inside the
task), with no sink, with each sink alone, and with both: CloudWatch Logs on moto's server and
Papertrail over TLS on Debian's rsyslog (`imtcp` with the `ossl` driver, as
tests/fixtures/rsyslog.py starts it). Exit time is from the `task.succeeded` event's timestamp
to the process's end, so it holds the flush of every sink. CPU is the runtime's processes'
(supervisor and task), and the servers' (moto, in this process, and rsyslogd). In production
the services run elsewhere; here they share 2 cores with the task and take CPU from it.
`--servers-nice 19` runs them at the lowest priority, closer to services on other machines
while the machine is otherwise idle (on a loaded machine it starves them instead).

Lost events are counted three ways: the runtime's own report (`log.events_dropped`), and
stdout's lines missing from what moto and rsyslog hold, compared line by line, in order. The
table shows medians; lost is the worst round.

Targets (issue 12): at least 0.9x the stdout-only rate, at most 1 s of extra exit time, 0 lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime import TaskContext, task

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "x" * 100


@task
def log_burst(ctx: TaskContext, events: int = 50_000) -> dict[str, float]:
    """Log `events` numbered events as fast as it can; return how long the loop took.

    Args:
        events: how many events to log.
    """
    clock = time.perf_counter
    started = clock()
    for n in range(events):
        ctx.log.info("bench.line", n=n, payload=PAYLOAD)
    return {"events": events, "seconds": clock() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--servers-nice",
        type=int,
        default=0,
        help="niceness of moto and rsyslogd (19: they take only the CPU the runtime leaves)",
    )
    args = parser.parse_args()
    os.nice(args.servers_nice)  # moto's threads and rsyslogd inherit it; the CLI runs at 0

    import boto3
    import trustme
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port
    from tests.fixtures.rsyslog import Rsyslog

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    rsyslog = Rsyslog(work / "rsyslog", ca)
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(aws)
    cloudwatch = {**aws, "CLOUDWATCH_LOG_GROUP": "/batch-task/bench"}
    papertrail = {"PAPERTRAIL_URL": rsyslog.url("tls"), "SSL_CERT_FILE": str(work / "ca.pem")}
    configs = {
        "stdout only": {},
        "stdout + CloudWatch": cloudwatch,
        "stdout + Papertrail (TLS)": papertrail,
        "stdout + both sinks": {**cloudwatch, **papertrail},
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    try:
        for round_ in range(args.rounds):
            for n, (name, env) in enumerate(configs.items()):
                job_id = f"bench-{round_}-{n}"
                result = run(args.events, env, job_id, work, rsyslog.cpu_seconds)
                lines = (work / f"{job_id}.out").read_text().splitlines()
                expected = [
                    line
                    for line in lines
                    if line.startswith("{") and '"event": "log.events_dropped"' not in line
                ]
                if "PAPERTRAIL_URL" in env:
                    received = syslog_messages(rsyslog, job_id, len(expected))
                    result["papertrail lost"] = missing(expected, received)
                if "CLOUDWATCH_LOG_GROUP" in env:
                    stream = f"log-burst/{job_id}/1"
                    held = messages(boto3.client("logs"), "/batch-task/bench", stream)
                    result["cloudwatch lost"] = missing(expected, held)
                results[name].append(result)
    finally:
        rsyslog.close()
        moto.stop()
    print_table(args.events, args.rounds, results)


def run(
    events: int, extra: dict[str, str], job_id: str, work: Path, rsyslog_cpu: Callable[[], float]
) -> dict[str, float]:
    """One run of the CLI, stdout to a file (a pipe nobody reads slowly).

    The servers' CPU is this process's (moto's threads, and this thread, idle in `run`) and
    rsyslogd's, taken around the run only.
    """
    servers = time.process_time() + rsyslog_cpu()
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONPATH=str(ROOT),
        TASK_MODULES="benchmarks.logs",
        LOG_FORMAT="json",
        AWS_BATCH_JOB_ID=job_id,
        **extra,
    )
    out = work / f"{job_id}.out"
    argv = [str(Path(sys.executable).parent / "batch-task"), "log-burst", "--events", str(events)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with out.open("w") as stdout:
        subprocess.run(
            argv,
            env=env,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            check=True,
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 0),
        )
    ended = time.time()
    servers = time.process_time() + rsyslog_cpu() - servers
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    events_out = [json.loads(line) for line in out.read_text().splitlines() if line[:1] == "{"]
    succeeded = next(e for e in events_out if e["event"] == "task.succeeded")
    stamp = datetime.fromisoformat(succeeded["timestamp"]).timestamp()
    reported = sum(
        sum(e["dropped"].values()) for e in events_out if e["event"] == "log.events_dropped"
    )
    return {
        "rate": events / succeeded["result"]["seconds"],
        "exit_s": ended - stamp,
        "cpu_s": cpu,
        "servers_cpu_s": servers,
        "reported lost": reported,
    }


def syslog_messages(rsyslog: Any, job_id: str, expected: int) -> list[str]:
    """The job's lines at rsyslog, once all arrived or none has for 2 s (it writes async)."""
    quiet_since, seen = time.monotonic(), -1
    while True:
        found = [line.message for line in rsyslog.received("tls") if line.hostname == job_id]
        if len(found) >= expected or time.monotonic() - quiet_since > 2:
            return found
        if len(found) != seen:
            quiet_since, seen = time.monotonic(), len(found)
        time.sleep(0.2)


def messages(client: Any, group: str, stream: str) -> list[str]:
    found: list[str] = []
    token = None
    while True:
        extra = {"nextToken": token} if token else {}
        page = client.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, **extra
        )
        found += [event["message"] for event in page["events"]]
        if page["nextForwardToken"] == token:
            return found
        token = page["nextForwardToken"]


def missing(expected: list[str], received: list[str]) -> int:
    """Lines of stdout a sink does not hold, or holds out of order (then all of them count)."""
    if received == expected:
        return 0
    held = set(received)
    if received == [line for line in expected if line in held]:
        return len(expected) - len(received)
    return len(expected)


def print_table(events: int, rounds: int, results: dict[str, list[dict[str, float]]]) -> None:
    base = statistics.median(r["rate"] for r in results["stdout only"])
    base_exit = statistics.median(r["exit_s"] for r in results["stdout only"])
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{events:,} events from one task, median of {rounds} rounds")
    print(f"({os.cpu_count()} CPUs, load average {load} at the end)\n")
    print(
        "| configuration | task's events/s | vs stdout only | exit time | extra exit time "
        "| CPU s: runtime / servers | lost: reported / CloudWatch / Papertrail |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, rows in results.items():
        rate = statistics.median(r["rate"] for r in rows)
        exit_s = statistics.median(r["exit_s"] for r in rows)
        cpu = statistics.median(r["cpu_s"] for r in rows)
        servers = statistics.median(r["servers_cpu_s"] for r in rows)
        keys = ("reported lost", "cloudwatch lost", "papertrail lost")
        lost = " / ".join(
            f"{max(int(r[key]) for r in rows):,}" if key in rows[0] else "-" for key in keys
        )
        extra = f"{exit_s - base_exit:+.2f} s" if name != "stdout only" else "-"
        print(
            f"| {name} | {rate:,.0f} | {rate / base:.2f}x | {exit_s:.2f} s | {extra} "
            f"| {cpu:.2f} / {servers:.2f} | {lost} |"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # for tests.fixtures
    main()
