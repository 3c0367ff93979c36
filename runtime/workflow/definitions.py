"""Job definitions for a submitted workflow: registered once, reused while their content holds.

A local `.json` definition is registered unless an ACTIVE revision with the same content
exists, so submitting the same workflow every night adds no revisions, and an edited file
gets one. "The same content" compares what RegisterJobDefinition takes, with empty values
and absent ones counted equal (Batch fills some in when it describes a definition).
"""

from __future__ import annotations

import copy
from typing import Any

from runtime.ops import aws

BARRIER_NAME = "batch-task-barrier"
# Fields Batch adds when it describes a definition; never part of what was registered.
_DESCRIBED_ONLY = (
    "jobDefinitionArn",
    "revision",
    "status",
    "containerOrchestrationType",
)


def ensure(batch: Any, document: dict[str, Any]) -> str:
    """`name:revision` of an ACTIVE revision with this content, registering one if none."""
    name = document["jobDefinitionName"]
    found: list[dict[str, Any]] = []
    token = None
    while True:
        extra = {"nextToken": token} if token else {}
        answer = aws.call(
            batch.describe_job_definitions,
            f"DescribeJobDefinitions({name})",
            jobDefinitionName=name,
            status="ACTIVE",
            **extra,
        )
        found.extend(answer.get("jobDefinitions", []))
        token = answer.get("nextToken")
        if not token:
            break
    for described in sorted(found, key=lambda d: d["revision"], reverse=True):
        if same_content(document, described):
            return f"{name}:{described['revision']}"
    answer = aws.call(batch.register_job_definition, f"RegisterJobDefinition({name})", **document)
    return f"{name}:{answer['revision']}"


def same_content(document: dict[str, Any], described: dict[str, Any]) -> bool:
    mine = {k: v for k, v in document.items() if k not in _DESCRIBED_ONLY}
    theirs = {k: v for k, v in described.items() if k not in _DESCRIBED_ONLY}
    return _normal(mine) == _normal(theirs)


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def barrier_document(template: dict[str, Any]) -> dict[str, Any]:
    """The barrier task's definition: a node's definition (its image, platform, role) running
    `barrier`, with no parameters, one attempt and a short timeout."""
    document = copy.deepcopy(template)
    for key in _DESCRIBED_ONLY:
        document.pop(key, None)
    document["jobDefinitionName"] = BARRIER_NAME
    document["parameters"] = {}
    document["retryStrategy"] = {"attempts": 2}
    document["timeout"] = {"attemptDurationSeconds": 600}
    document.pop("tags", None)
    props = document.setdefault("containerProperties", {})
    props["command"] = ["barrier"]
    return document
