"""Workflows: what planning and submitting cost as items grow, and what `workflow local` adds.

    .venv/bin/python benchmarks/workflow.py [--items 100,1000,10000] [--runs 3]

1. Plan + submit against moto's server (started here on 127.0.0.1, in its own process): a
   `foreach` over N items and a fan-in node collecting every child's value (so its parameters
   go to a `--params` document), plus a 25-way fan-in flow (barriers). AWS calls are counted by
   botocore's `before-call` event, per operation; the target is O(nodes), not O(items).
   Submit time includes moto's own work: it creates every array child when SubmitJob
   arrives, which is most of the 10,000-item case (the client waits on the socket).
2. `workflow local` against `batch-task local` on the same job definition (a trivial fixture
   task): one job, and an array of 20 jobs, medians of `--runs` runs, wall time and the CPU
   time of each command's whole process tree (which a loaded machine disturbs less); the CPU
   difference per job is what the workflow layer adds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
QUEUE = "bench-queue"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def setup_aws(bucket: str) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket=bucket)
    role = boto3.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")
    batch = boto3.client("batch")
    ce = batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="UNMANAGED", serviceRole=role["Role"]["Arn"]
    )
    batch.create_job_queue(
        jobQueueName=QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}],
    )


def fan_flow(folder: Path, items: int) -> Path:
    rows = [{"id": f"{i:05d}", "path": f"s3://bench/in/scene-{i:05d}.tif"} for i in range(items)]
    (folder / f"items-{items}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    flow = {
        "name": "bench",
        "inputs": {"out": {"default": "/out"}},
        "nodes": {
            "each": {
                "job_definition": "defs/wf-step.json",
                "foreach": str(folder / f"items-{items}.jsonl"),
                "params": {"out": "{inputs.out}", "name": "{item.id}", "value": "{item.path}"},
            },
            "all": {
                "job_definition": "defs/wf-collect.json",
                "depends_on": ["each"],
                "params": {
                    "out": "{inputs.out}",
                    "name": "all",
                    "values": "{nodes.each.params.value}",
                },
            },
        },
    }
    path = folder / f"fan-{items}.json"
    path.write_text(json.dumps(flow))
    return path


def wide_flow(folder: Path, leaves: int) -> Path:
    step = {"job_definition": "defs/wf-step.json"}
    nodes: dict[str, Any] = {
        f"leaf{i}": {**step, "params": {"out": "/out", "name": f"leaf{i}"}} for i in range(leaves)
    }
    nodes["root"] = {**step, "depends_on": list(nodes), "params": {"out": "/out", "name": "root"}}
    path = folder / f"wide-{leaves}.json"
    path.write_text(json.dumps({"name": "wide", "nodes": nodes}))
    return path


def plan_and_submit(path: Path) -> dict[str, Any]:
    import boto3

    from runtime.workflow import record, submit
    from runtime.workflow.plan import make
    from runtime.workflow.store import Store

    calls: collections.Counter[str] = collections.Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.split(".")[-1]] += 1

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call.*.*", count)
    started = time.perf_counter()
    plan = make(str(path), {})
    planned = time.perf_counter()
    compiled = record.compiled_document(plan, "batch", QUEUE)
    submit.submit(plan, compiled, Store.from_env(), QUEUE, dict.fromkeys(plan.nodes))
    done = time.perf_counter()
    jobs = sum(n.array_size or 1 for n in plan.nodes.values())
    return {
        "nodes": len(plan.nodes),
        "jobs": jobs,
        "plan_s": planned - started,
        "submit_s": done - planned,
        "calls": dict(calls),
        "barriers": len(compiled["barriers"]),
    }


def aws_table(folder: Path, sizes: list[int]) -> None:
    print("| flow | nodes | jobs | plan s | submit s | AWS calls | calls per node | calls |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    cases = [(f"foreach {n:,} + fan-in", fan_flow(folder, n)) for n in sizes]
    cases.append(("25-way fan-in", wide_flow(folder, 25)))
    for label, path in cases:
        r = plan_and_submit(path)
        total = sum(r["calls"].values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items()))
        print(
            f"| {label} | {r['nodes']} | {r['jobs']:,} | {r['plan_s']:.2f} | {r['submit_s']:.2f} "
            f"| {total} | {total / r['nodes']:.1f} | {detail} |"
        )


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the command's whole process tree (robust to load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def local_table(folder: Path, runs: int) -> None:
    cli = str(BIN / "batch-task")
    step = str(folder / "defs" / "wf-step.json")
    items = folder / "twenty.json"
    items.write_text(json.dumps([{"id": str(i)} for i in range(20)]))
    one = folder / "one.yaml"
    one.write_text(
        f"name: one\nnodes:\n  a:\n    job_definition: {step}\n"
        f"    params: {{out: {folder}/out, name: a}}\n"
    )
    many = folder / "many.yaml"
    many.write_text(
        f"name: many\nnodes:\n  a:\n    job_definition: {step}\n    foreach: {items}\n"
        f"    params: {{out: {folder}/out, name: a}}\n"
    )
    params = ["-p", f"out={folder}/out", "-p", "name=a"]
    cases = {
        "1 job": ([cli, "local", step, *params], [cli, "workflow", "local", str(one)], 1),
        "array of 20": (
            [cli, "local", step, *params, "--array-size", "20"],
            [cli, "workflow", "local", str(many), "--parallel", "2"],
            20,
        ),
    }
    env = {
        **os.environ,
        "TASK_MODULES": "tests.workflow_tasks",
        "PYTHONPATH": str(ROOT),
        "BATCH_TASK_HOME": str(folder / "home"),
        "WORKFLOW_STATE": str(folder / "runs"),
    }
    print(f"\nmedians of {runs} runs, the two commands alternating\n")
    print(
        "| case | `local` wall s | `workflow local` wall s | `local` CPU s "
        "| `workflow local` CPU s | CPU added per job s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, (plain, flow, jobs) in cases.items():
        pairs = [(timed(plain, env), timed(flow, env)) for _ in range(runs)]
        wall_a, wall_b = (statistics.median(p[k][0] for p in pairs) for k in (0, 1))
        cpu_a, cpu_b = (statistics.median(p[k][1] for p in pairs) for k in (0, 1))
        print(
            f"| {label} | {wall_a:.2f} | {wall_b:.2f} | {cpu_a:.2f} | {cpu_b:.2f} "
            f"| {(cpu_b - cpu_a) / jobs:+.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    ns = parser.parse_args()
    sizes = [int(n) for n in ns.items.split(",")]
    from tests.workflow_tasks import write_definitions

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_definitions(folder / "defs")
        moto, endpoint = start_moto()
        try:
            os.environ.update(
                AWS_ENDPOINT_URL=endpoint,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench-secret",
                AWS_DEFAULT_REGION="us-east-1",
                TASK_MODULES="tests.workflow_tasks",
                WORKFLOW_STATE="s3://bench-state/runs",
            )
            setup_aws("bench-state")
            aws_table(folder, sizes)
        finally:
            moto.terminate()
            moto.wait()
        for key in ("AWS_ENDPOINT_URL", "WORKFLOW_STATE"):
            os.environ.pop(key)
        local_table(folder, ns.runs)


if __name__ == "__main__":
    main()
