"""`workflow status RUN_ID`: each node's status, refreshed from where its jobs ran.

A local run's jobs are read from BATCH_TASK_HOME (the simulator's job documents); a submitted
run's from DescribeJobs, 100 ids a call, array children counted by Batch's statusSummary. The
refreshed record is written back, so the board and later readers see it.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.ops import aws
from runtime.ops.arguments import Parser
from runtime.simulator.state import LocalState
from runtime.workflow import record
from runtime.workflow.store import Store

DESCRIBE_BATCH = 100


def describe(compiled: dict[str, Any], job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """DescribeJobs-like documents of these jobs, from the local state or from Batch."""
    if compiled["mode"] == "local":
        state = LocalState.from_env()
        found = {job_id: state.read_job(job_id) for job_id in job_ids}
        return {k: v for k, v in found.items() if v is not None}
    batch = aws.client("batch")
    documents: dict[str, dict[str, Any]] = {}
    for start in range(0, len(job_ids), DESCRIBE_BATCH):
        chunk = job_ids[start : start + DESCRIBE_BATCH]
        answer = aws.call(batch.describe_jobs, f"DescribeJobs({len(chunk)} jobs)", jobs=chunk)
        documents.update((job["jobId"], job) for job in answer["jobs"])
    return documents


def summary(document: dict[str, Any] | None, array: bool) -> dict[str, int]:
    """A job's children counted by status; a one-item job of an array node counts as one."""
    if document is None:
        return {}
    counts = (document.get("arrayProperties") or {}).get("statusSummary")
    if counts:
        return {k: int(v) for k, v in counts.items() if v}
    return {document["status"]: 1} if array else {}


def refresh(compiled: dict[str, Any]) -> dict[str, Any]:
    """The run record with every node's status as its jobs show it now."""
    job_ids = [j["job_id"] for jobs in compiled["jobs"].values() for j in jobs]
    documents = describe(compiled, job_ids)
    nodes = {}
    for name, raw in compiled["nodes"].items():
        jobs = compiled["jobs"][name]
        array = raw["children"] is not None and len(raw["children"]) > 1
        latest = documents.get(jobs[-1]["job_id"]) if jobs else None
        status = _status(latest, array) if jobs else "NOT_SUBMITTED"
        reason = (latest or {}).get("statusReason") or ""
        children = (
            record.merged_children([summary(documents.get(j["job_id"]), True) for j in jobs])
            if array
            else {}
        )
        nodes[name] = record.node_entry(compiled, name, status, reason, children)
    return record.run_record(compiled, nodes)


def _status(document: dict[str, Any] | None, array: bool) -> str:
    """A job's status; an array parent whose children all ended has ended too.

    moto (and Batch between two polls) can show an array parent SUBMITTED or PENDING after its
    last child ended: the children decide.
    """
    if document is None:
        return "PENDING"
    counts = summary(document, array)
    size = (document.get("arrayProperties") or {}).get("size")
    if size and sum(counts.get(s, 0) for s in record.TERMINAL) == size:
        return "FAILED" if counts.get("FAILED") else "SUCCEEDED"
    return str(document["status"])


def lines(run: dict[str, Any]) -> list[str]:
    """One line per node: name, status, children counts, status reason."""
    out = []
    width = max((len(n) for n in run["nodes"]), default=0)
    for name, node in run["nodes"].items():
        text = f"{name:<{width}}  {node['status']}"
        if node["children"]:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(node["children"].items()))
            text += f"  [{node['array_size'] or 1} children: {counts}]"
        if node["status_reason"] and node["status"] != "SUCCEEDED":
            text += f"  ({node['status_reason']})"
        out.append(text)
    return out


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task workflow status", description=__doc__)
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--json", action="store_true", help="print the run record")
    ns = parser.parse_args(args)
    store = Store.from_env()
    compiled, _ = record.load(store, ns.run_id)
    run = refresh(compiled)
    record.save_record(store, run)
    if ns.json:
        print(json.dumps(run, indent=2))
    else:
        print("\n".join(lines(run)))
    return 0
