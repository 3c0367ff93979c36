"""`workflow submit FLOW --queue Q`: the graph as plain SubmitJob calls; nothing stays running.

The run's files go under WORKFLOW_STATE (which must be `s3://` here, since the jobs read them
on Batch): each array node's manifest and each oversized parameter document, then the jobs are
submitted in dependency order, paced below Batch's rate limit and retried when throttled, and
the run record is written. `--dry-run` prints the requests (dependencies shown by key) and
writes nothing. The cost in AWS calls grows with the nodes, never with the items.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from runtime.errors import UsageError
from runtime.ops import aws
from runtime.ops.arguments import Parser, pairs
from runtime.workflow import definitions, record, requests
from runtime.workflow.plan import Plan, make
from runtime.workflow.store import Store

SUBMITS_PER_SECOND = 20.0
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling")
MAX_TRIES = 8


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task workflow submit", description=__doc__)
    parser.add_argument("flow", metavar="FLOW", help="the workflow file (YAML or JSON)")
    parser.add_argument("--queue", required=True, help="job queue for nodes without their own")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    ns = parser.parse_args(args)
    store = Store.from_env()
    if not store.is_s3:
        raise UsageError(
            f"workflow submit writes manifests that jobs on AWS Batch read, so WORKFLOW_STATE "
            f"must be s3://bucket/prefix (it is {store.base!r}); set it and try again"
        )
    plan = make(ns.flow, pairs(ns.params, "-p"))
    if ns.dry_run:
        built = build(plan, ns.queue, store, lambda ref: _name_of(plan, ref), "batch-task-barrier")
        print(json.dumps([r.resolved(_keys(built)) for r in built], indent=2))
        return 0
    compiled = record.compiled_document(plan, "batch", ns.queue)
    run_id = submit(plan, compiled, store, ns.queue, dict.fromkeys(plan.nodes))
    print(run_id, flush=True)
    return 0


def build(
    plan: Plan,
    queue: str,
    store: Store,
    submit_as: Any,
    barrier_as: str,
    selection: dict[str, list[int] | None] | None = None,
    suffix: str = "",
) -> list[requests.Request]:
    built = requests.build(
        plan,
        queue,
        lambda rel: store.uri(plan.run_id, rel),
        submit_as,
        barrier_as,
        selection,
        suffix,
    )
    for request in built:
        aws.validate("batch", "SubmitJob", request.resolved(_keys(built)))
    return built


def submit(
    plan: Plan,
    compiled: dict[str, Any],
    store: Store,
    queue: str,
    selection: dict[str, list[int] | None],
    suffix: str = "",
) -> str:
    """Register definitions, write the run's files, submit every job, write the record."""
    batch = aws.client("batch")
    s3 = aws.client("s3")
    registered: dict[str, str] = {}
    for name in selection:
        ref = plan.nodes[name].definition_ref
        if ref not in registered:
            registered[ref] = _registered(batch, plan, ref)
        compiled["nodes"][name]["submit_as"] = registered[ref]
    first = plan.nodes[next(iter(selection))].document
    built = build(plan, queue, store, registered.__getitem__, "", selection, suffix)
    if any(r.node is None for r in built):
        barrier = definitions.ensure(batch, definitions.barrier_document(first))
        for r in built:
            if r.node is None:
                r.body["jobDefinition"] = barrier
    for request in built:
        for rel, text in (request.compiled.files if request.compiled else {}).items():
            store.write(plan.run_id, rel, text, client=s3)
    ids: dict[str, str] = {}
    try:
        pace = _Pace(SUBMITS_PER_SECOND)
        for request in built:
            pace.wait()
            body = request.resolved(ids)
            answer = aws.call(_submit, f"SubmitJob({body['jobName']})", batch=batch, request=body)
            ids[request.key] = answer["jobId"]
            if request.node is None:
                compiled["barriers"].append(answer["jobId"])
            else:
                job = request.compiled
                compiled["jobs"][request.node].append(
                    {
                        "job_id": answer["jobId"],
                        "indexes": job.indexes if job else None,
                        "array_size": job.array_size if job else None,
                    }
                )
    finally:
        record.save(store, compiled, submitted_record(compiled))
    for name in selection:
        print(f"{name}: submitted as {ids[name]}", file=sys.stderr)
    return plan.run_id


def submitted_record(compiled: dict[str, Any]) -> dict[str, Any]:
    """The record right after submission, without asking Batch again."""
    nodes = {}
    for name in compiled["nodes"]:
        jobs = compiled["jobs"][name]
        size = jobs[-1]["array_size"] if jobs else None
        status = "SUBMITTED" if jobs else "NOT_SUBMITTED"
        children = {"SUBMITTED": size} if size else {}
        nodes[name] = record.node_entry(compiled, name, status, "", children)
    return record.run_record(compiled, nodes)


def _registered(batch: Any, plan: Plan, ref: str) -> str:
    node = next(n for n in plan.nodes.values() if n.definition_ref == ref)
    if ref.endswith(".json"):
        return definitions.ensure(batch, node.document)
    return f"{node.document['jobDefinitionName']}:{node.document['revision']}"


def _name_of(plan: Plan, ref: str) -> str:
    node = next(n for n in plan.nodes.values() if n.definition_ref == ref)
    revision = node.document.get("revision")
    name = node.document["jobDefinitionName"]
    return f"{name}:{revision}" if revision else name


def _keys(built: list[requests.Request]) -> dict[str, str]:
    return {r.key: f"<{r.key}>" for r in built}


def _submit(batch: Any, request: dict[str, Any]) -> dict[str, Any]:
    """SubmitJob, waiting and retrying while Batch throttles (2^n/4 s, at most 8 tries)."""
    for attempt in range(MAX_TRIES):
        try:
            return batch.submit_job(**request)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code not in THROTTLED or attempt == MAX_TRIES - 1:
                raise
            time.sleep(min(10.0, 0.25 * 2**attempt))
    raise AssertionError("unreachable")


class _Pace:
    """At most `rate` calls a second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval
