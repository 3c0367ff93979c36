"""How a planned node reaches its jobs: Batch parameters, manifests and parameter files.

Local runs and submissions use the same compiled form, so a workflow behaves the same on a
laptop and on Batch:

- an array node's children read their items from a manifest under the run's state
  (`--manifest URI` after the definition's command; Batch sets AWS_BATCH_JOB_ARRAY_INDEX);
- a plain node's parameters are Batch parameters (text; lists and objects as JSON), unless they
  are too large for SubmitJob: then the largest are written as a `--params` document under the
  run's state, and their Batch parameter is left as the literal `Ref::name`, which the runtime
  reads as "not given", so the document's value applies even over a definition's default.

Every value is text, in manifests and documents too, exactly as Batch parameters carry it, so a
job reads the same value whichever way it came, and validation (plan.py) parses that text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runtime.params.placeholders import placeholder
from runtime.workflow.plan import PlannedNode
from runtime.workflow.templates import as_text

# SubmitJob requests are limited in size; past this many bytes of parameters (JSON), the
# largest values go to a `--params` document, well inside the limit.
MAX_PARAMETER_BYTES = 8 * 1024


@dataclass
class CompiledJob:
    """One SubmitJob's worth of a node: what to add to the command, parameters, files."""

    parameters: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    array_size: int | None = None
    indexes: list[int] | None = None


def manifest_name(node: str, suffix: str = "") -> str:
    return f"manifests/{node}{suffix}.json"


def params_name(node: str, suffix: str = "") -> str:
    return f"params/{node}{suffix}.json"


def compile_node(
    node: PlannedNode,
    uri_of: Any,
    indexes: list[int] | None = None,
    suffix: str = "",
) -> CompiledJob:
    """The job for `node` (for an array node, over `indexes` of its items; default all).

    `uri_of(relative_name)` gives the URI a file will have under the run's state.
    """
    if node.array_size is not None:
        chosen = list(range(node.array_size)) if indexes is None else indexes
        items = [_texts(node.children[i]) for i in chosen]  # type: ignore[index]
        if len(items) > 1:
            name = manifest_name(node.name, suffix)
            return CompiledJob(
                parameters={},
                extra_args=["--manifest", uri_of(name)],
                files={name: json.dumps(items)},
                array_size=len(items),
                indexes=chosen,
            )
        only = node.children[chosen[0]]  # type: ignore[index]
        return _plain(node, only, uri_of, suffix, indexes=chosen)
    return _plain(node, node.params, uri_of, suffix)


def _plain(
    node: PlannedNode,
    values: dict[str, Any],
    uri_of: Any,
    suffix: str,
    indexes: list[int] | None = None,
) -> CompiledJob:
    parameters = {k: as_text(v) for k, v in values.items()}
    moved: dict[str, Any] = {}
    for key in sorted(parameters, key=lambda k: len(parameters[k]), reverse=True):
        if _size(parameters) <= MAX_PARAMETER_BYTES:
            break
        moved[key] = parameters[key]
        parameters[key] = placeholder(key)
    job = CompiledJob(parameters=parameters, indexes=indexes)
    if moved:
        name = params_name(node.name, suffix)
        job.extra_args = ["--params", uri_of(name)]
        job.files[name] = json.dumps(moved)
    return job


def _texts(values: dict[str, Any]) -> dict[str, str]:
    """Items as Batch parameters would carry them, so a job reads the same from either."""
    return {k: as_text(v) for k, v in values.items()}


def local_parameters(node: PlannedNode, job: CompiledJob) -> dict[str, str]:
    """Locally, a placeholder without a value must stay `Ref::name`, as Batch leaves it."""
    unresolved = {
        name: placeholder(name)
        for name in node.definition.placeholders
        if name not in node.definition.defaults
    }
    return {**unresolved, **job.parameters}


def _size(parameters: dict[str, str]) -> int:
    return len(json.dumps(parameters).encode())
