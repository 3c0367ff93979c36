"""A plan as the SubmitJob requests that carry it, in an order where dependencies come first.

Job ids exist only once Batch answers, so a request names what it depends on by key (a node's
name, or `barrier-N`) and the submitter fills in the ids. No request has more than 20
`dependsOn` entries (Batch's limit): a wider fan-in waits on barrier jobs, each depending on up
to 20 jobs (layers of them for very wide fan-ins). `N_TO_N` entries are never moved behind a
barrier, which would lose their child-by-child meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.workflow import compile
from runtime.workflow.plan import Plan

MAX_DEPENDS_ON = 20
RUN_TAG = "batch-task:run-id"
_JOB_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Request:
    key: str
    node: str | None
    body: dict[str, Any]
    depends: list[tuple[str, str | None]] = field(default_factory=list)
    compiled: compile.CompiledJob | None = None

    def resolved(self, ids: dict[str, str]) -> dict[str, Any]:
        """The SubmitJob request with dependency keys replaced by job ids."""
        body = dict(self.body)
        if self.depends:
            body["dependsOn"] = [
                {"jobId": ids[key], **({"type": kind} if kind else {})}
                for key, kind in self.depends
            ]
        return body


def build(
    plan: Plan,
    queue: str,
    uri_of: Callable[[str], str],
    submit_as: Callable[[str], str],
    barrier_as: str,
    selection: dict[str, list[int] | None] | None = None,
    suffix: str = "",
) -> list[Request]:
    """Requests for the selected nodes (default all; an array node's chosen items)."""
    chosen = dict.fromkeys(plan.nodes) if selection is None else selection
    requests: list[Request] = []
    by_node: dict[str, Request] = {}
    for name in plan.order:
        if name not in chosen:
            continue
        node = plan.nodes[name]
        job = compile.compile_node(node, uri_of, chosen[name], suffix)
        body: dict[str, Any] = {
            "jobName": job_name(plan.run_id, name + suffix),
            "jobQueue": node.queue or queue,
            "jobDefinition": submit_as(node.definition_ref),
            "tags": {RUN_TAG: plan.run_id},
            "propagateTags": True,
        }
        if job.parameters:
            body["parameters"] = job.parameters
        if job.array_size:
            body["arrayProperties"] = {"size": job.array_size}
        if job.extra_args:
            body["containerOverrides"] = {"command": [*node.definition.command, *job.extra_args]}
        body.update(_overrides(node.document, node.definition))
        request = Request(name, name, body, compiled=job)
        paired = [
            d
            for d in node.n_to_n
            if d in by_node
            and by_node[d].compiled is not None
            and by_node[d].compiled.indexes == job.indexes  # type: ignore[union-attr]
        ]
        whole = [d for d in node.depends_on if d in by_node and d not in paired]
        limit = MAX_DEPENDS_ON - len(paired)
        request.depends = [
            *((d, "N_TO_N") for d in paired),
            *((k, None) for k in _narrow(whole, limit, requests, plan, queue, barrier_as)),
        ]
        requests.append(request)
        by_node[name] = request
    return requests


def _narrow(
    keys: list[str], limit: int, requests: list[Request], plan: Plan, queue: str, barrier_as: str
) -> list[str]:
    """Put barrier jobs between a node and its dependencies until at most `limit` remain."""
    while len(keys) > limit:
        layer = []
        for start in range(0, len(keys), MAX_DEPENDS_ON):
            number = sum(r.node is None for r in requests) + 1
            key = f"barrier-{number}"
            body = {
                "jobName": job_name(plan.run_id, key),
                "jobQueue": queue,
                "jobDefinition": barrier_as,
                "tags": {RUN_TAG: plan.run_id},
                "propagateTags": True,
            }
            group = keys[start : start + MAX_DEPENDS_ON]
            requests.append(Request(key, None, body, [(k, None) for k in group]))
            layer.append(key)
        keys = layer
    return keys


def _overrides(document: dict[str, Any], definition: Any) -> dict[str, Any]:
    """A node's `attempts`/`timeout_seconds` as SubmitJob overrides (keeping the exit rules)."""
    found: dict[str, Any] = {}
    retry = document.get("retryStrategy") or {}
    if definition.attempts != retry.get("attempts", 1):
        found["retryStrategy"] = {**retry, "attempts": definition.attempts}
    seconds = (document.get("timeout") or {}).get("attemptDurationSeconds")
    if definition.attempt_seconds and definition.attempt_seconds != seconds:
        found["timeout"] = {"attemptDurationSeconds": definition.attempt_seconds}
    return found


def job_name(run_id: str, what: str) -> str:
    return _JOB_NAME.sub("-", f"{run_id}-{what}")[:128]
