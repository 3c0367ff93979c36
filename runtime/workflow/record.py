"""The run record (`run.json`, SPEC's shape) and what a run was compiled to (`compiled.json`).

`run.json` is the contract other tools read (`status`, the board). `compiled.json` keeps what
`resume` needs and the record has no room for: each node's job definition as it was resolved,
its parameters and items, and every job the node has made so far with the item indexes each
covered, so that a resumed run still describes the run as a whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from runtime.batch import jobdef
from runtime.timestamps import rfc3339
from runtime.workflow.plan import Plan, PlannedNode
from runtime.workflow.store import Store

RUN = "run.json"
COMPILED = "compiled.json"
TERMINAL = ("SUCCEEDED", "FAILED")


def now_iso() -> str:
    return rfc3339(time.time())


def compiled_document(plan: Plan, mode: str, queue: str | None = None) -> dict[str, Any]:
    """Everything needed to run the plan again; `jobs` and `barriers` fill in as it runs."""
    return {
        "mode": mode,
        "queue": queue,
        "workflow": plan.workflow,
        "run_id": plan.run_id,
        "inputs": plan.inputs,
        "created_at": now_iso(),
        "order": plan.order,
        "nodes": {name: _node_document(node) for name, node in plan.nodes.items()},
        "jobs": {name: [] for name in plan.nodes},
        "barriers": [],
    }


def _node_document(node: PlannedNode) -> dict[str, Any]:
    return {
        "definition_ref": node.definition_ref,
        "submit_as": None,
        "document": node.document,
        "attempts": node.definition.attempts,
        "attempt_seconds": node.definition.attempt_seconds,
        "depends_on": list(node.depends_on),
        "n_to_n": list(node.n_to_n),
        "params": node.params,
        "children": node.children,
        "queue": node.queue,
    }


def plan_from(compiled: dict[str, Any]) -> Plan:
    """The plan a run was compiled with, without reading the workflow file or manifests again."""
    nodes = {}
    for name, raw in compiled["nodes"].items():
        definition = jobdef.parse(raw["document"], raw["definition_ref"])
        definition = replace(
            definition, attempts=raw["attempts"], attempt_seconds=raw["attempt_seconds"]
        )
        nodes[name] = PlannedNode(
            name=name,
            definition_ref=raw["definition_ref"],
            document=raw["document"],
            definition=definition,
            depends_on=tuple(raw["depends_on"]),
            params=raw["params"],
            children=raw["children"],
            n_to_n=tuple(raw["n_to_n"]),
            queue=raw["queue"],
        )
    return Plan(
        compiled["workflow"], compiled["run_id"], compiled["inputs"], nodes, compiled["order"]
    )


def node_entry(
    compiled: dict[str, Any], name: str, status: str, reason: str, children: dict[str, int]
) -> dict[str, Any]:
    """A node as the run record shows it: its latest job, its status, its children counted."""
    jobs = compiled["jobs"][name]
    items = compiled["nodes"][name]["children"]
    return {
        "job_id": jobs[-1]["job_id"] if jobs else None,
        "array_size": len(items) if items is not None and len(items) > 1 else None,
        "depends_on": compiled["nodes"][name]["depends_on"],
        "status": status,
        "status_reason": reason,
        "children": children,
    }


def run_record(compiled: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "run_id": compiled["run_id"],
        "workflow": compiled["workflow"],
        "inputs": compiled["inputs"],
        "created_at": compiled["created_at"],
        "nodes": {name: nodes[name] for name in compiled["nodes"]},
        "barriers": list(compiled["barriers"]),
    }


def save(store: Store, compiled: dict[str, Any], record: dict[str, Any] | None = None) -> None:
    store.write(compiled["run_id"], COMPILED, json.dumps(compiled))
    if record is not None:
        save_record(store, record)


def save_record(store: Store, record: dict[str, Any]) -> None:
    store.write(record["run_id"], RUN, json.dumps(record, indent=1))


def load(store: Store, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    compiled = json.loads(store.read(run_id, COMPILED))
    record = json.loads(store.read(run_id, RUN))
    return compiled, record


def merged_children(job_summaries: list[dict[str, int]]) -> dict[str, int]:
    """Counts over a node's items when later jobs reran the earlier ones' unsuccessful items.

    A resume reruns exactly the items that did not succeed, so an item's status is the one in
    the latest job covering it: every earlier job contributes only its SUCCEEDED count.
    """
    if not job_summaries:
        return {}
    counts = {k: v for k, v in job_summaries[-1].items() if v}
    earlier = sum(s.get("SUCCEEDED", 0) for s in job_summaries[:-1])
    if earlier:
        counts["SUCCEEDED"] = counts.get("SUCCEEDED", 0) + earlier
    return counts
