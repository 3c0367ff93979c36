"""`workflow resume RUN_ID`: rerun what did not succeed, where the run ran, as it was compiled.

A node that failed or never ran is run again; of an array node, only the children that did
not succeed, as a smaller array over those items (or one plain job for one item); nodes
downstream of them follow, since Batch failed them with their dependency. Nothing that
succeeded runs again, and the parameters are the ones in the run's compiled.json, so a
resumed run is the same run: its record counts the children that succeeded on resume as
succeeded, and a node whose children all succeeded is SUCCEEDED.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import UsageError
from runtime.ops.arguments import Parser
from runtime.simulator.state import child_id
from runtime.workflow import record, status
from runtime.workflow.store import Store

ACTIVE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task workflow resume", description=__doc__)
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--parallel", type=int, default=None, metavar="N")
    ns = parser.parse_args(args)
    if ns.parallel is not None and ns.parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {ns.parallel}")
    store = Store.from_env()
    compiled, _ = record.load(store, ns.run_id)
    plan = record.plan_from(compiled)
    run = status.refresh(compiled)
    active = [n for n, node in run["nodes"].items() if node["status"] in ACTIVE]
    if active:
        raise UsageError(
            f"run {ns.run_id} is still running ({', '.join(active)}); resume it once every "
            "node has ended (`batch-task workflow status` shows them)"
        )
    selection = select(compiled, run)
    if not selection:
        record.save_record(store, run)
        print("\n".join(status.lines(run)))
        print(f"every node of {ns.run_id} succeeded: nothing to resume", flush=True)
        print(ns.run_id, flush=True)
        return 0
    suffix = f"-resume-{max(len(jobs) for jobs in compiled['jobs'].values())}"
    if compiled["mode"] == "local":
        from runtime.workflow.local import run_local

        return run_local(plan, compiled, store, selection, ns.parallel, suffix)
    from runtime.workflow.submit import submit

    submit(plan, compiled, store, compiled["queue"], selection, suffix)
    print("\n".join(status.lines(status.refresh(compiled))))
    print(ns.run_id, flush=True)
    return 0


def select(compiled: dict[str, Any], run: dict[str, Any]) -> dict[str, list[int] | None]:
    """Nodes to run again; for an array node, the indexes of the items that did not succeed."""
    chosen: dict[str, list[int] | None] = {}
    for name in compiled["order"]:
        if run["nodes"][name]["status"] == "SUCCEEDED":
            continue
        items = compiled["nodes"][name]["children"]
        jobs = compiled["jobs"][name]
        if items is None or len(items) < 2 or not jobs:
            chosen[name] = None
            continue
        chosen[name] = _unsucceeded(compiled, jobs[-1], len(items))
    return chosen


def _unsucceeded(compiled: dict[str, Any], job: dict[str, Any], size: int) -> list[int] | None:
    """The item indexes of `job` whose child did not succeed (None: all of them)."""
    indexes = job["indexes"] if job["indexes"] is not None else list(range(size))
    if job["array_size"]:
        ids = [child_id(job["job_id"], k) for k in range(len(indexes))]
    else:
        ids = [job["job_id"]]
    documents = status.describe(compiled, ids)
    failed = [
        index
        for index, job_id in zip(indexes, ids, strict=True)
        if (documents.get(job_id) or {}).get("status") != "SUCCEEDED"
    ]
    return None if len(failed) == size else failed
