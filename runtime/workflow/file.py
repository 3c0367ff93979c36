"""A workflow file read into plain data, with every structural problem collected, not the first.

The file is YAML (JSON is YAML too). This module checks only what can be checked without the
run's inputs: field names and types, node names in `depends_on`, cycles. Templates, manifests
and task parameters are checked when a plan is made (plan.py), still before anything runs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import TaskError

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
NODE_FIELDS = (
    "job_definition",
    "params",
    "depends_on",
    "foreach",
    "queue",
    "attempts",
    "timeout_seconds",
)
TOP_FIELDS = ("name", "inputs", "nodes")


@dataclass(frozen=True)
class Node:
    name: str
    job_definition: str
    params: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    foreach: Any = None
    queue: str | None = None
    attempts: int | None = None
    timeout_seconds: int | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    path: Path
    inputs: dict[str, dict[str, Any]]
    nodes: dict[str, Node]

    def definition_path(self, ref: str) -> str:
        """A `.json` job definition is relative to the workflow file; a name stays a name."""
        if not ref.endswith(".json"):
            return ref
        return str((self.path.parent / ref).resolve())


def load(path: str | Path, problems: list[str]) -> Flow | None:
    """Read and check the file; append what is wrong to `problems` (None if unreadable)."""
    import yaml

    from runtime import documents

    source = Path(str(path).split("://", 1)[1]) if "://" in str(path) else Path(path)
    try:
        document = yaml.safe_load(documents.read_text(str(path), "workflow file"))
        documents.check_expansion(document, f"workflow file {str(path)!r}")
    except TaskError as exc:
        problems.append(str(exc))
        return None
    except yaml.YAMLError as exc:
        problems.append(f"workflow file {str(path)!r} is not valid YAML: {exc}")
        return None
    except RecursionError:
        problems.append(f"workflow file {str(path)!r} is nested too deeply to be a workflow")
        return None
    return parse(document, source, problems)


def parse(document: Any, source: Path, problems: list[str]) -> Flow | None:
    if not isinstance(document, dict):
        problems.append("the workflow must be a mapping with name, inputs and nodes")
        return None
    _unknown(document, TOP_FIELDS, "the workflow", problems)
    name = document.get("name")
    if not (isinstance(name, str) and NAME.match(name)):
        problems.append(f"name {name!r} must be lowercase words joined by '-', e.g. nightly-mosaic")
        name = "workflow"
    inputs = _inputs(document.get("inputs") or {}, problems)
    raw_nodes = document.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        problems.append("nodes must be a mapping of node names to nodes, with at least one node")
        raw_nodes = {}
    nodes = {}
    for node_name, raw in raw_nodes.items():
        node = _node(str(node_name), raw, problems)
        if node is not None:
            nodes[node.name] = node
    for node in nodes.values():
        for dep in node.depends_on:
            if dep not in nodes:
                problems.append(
                    f"node {node.name!r}: depends_on names an unknown node {dep!r}"
                    + _hint(dep, nodes)
                )
    cycle = find_cycle(nodes)
    if cycle:
        problems.append("the nodes form a cycle: " + " -> ".join(cycle))
    return Flow(str(name), source.resolve(), inputs, nodes)


def find_cycle(nodes: dict[str, Node]) -> list[str]:
    """One dependency cycle as a path of node names (first == last), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        for dep in nodes[name].depends_on:
            if dep not in nodes:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return []

    for name in nodes:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


def _inputs(raw: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        problems.append("inputs must be a mapping of input names to {} or {default: VALUE}")
        return {}
    inputs = {}
    for key, spec in raw.items():
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            problems.append(f"input {key!r} must be {{}} or {{default: VALUE}}, got {spec!r}")
            continue
        _unknown(spec, ("default", "help"), f"input {key!r}", problems)
        inputs[str(key)] = spec
    return inputs


def _node(name: str, raw: Any, problems: list[str]) -> Node | None:
    where = f"node {name!r}"
    if not NODE_NAME.match(name):
        problems.append(
            f"{where}: a node name is letters, digits, '-' and '_', starting with a letter"
        )
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping with at least job_definition")
        return None
    _unknown(raw, NODE_FIELDS, where, problems)
    jobdef = raw.get("job_definition")
    if not (isinstance(jobdef, str) and jobdef):
        problems.append(f"{where}: job_definition is required (a .json file or a registered name)")
        jobdef = ""
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        problems.append(f"{where}: params must be a mapping of parameter names to values")
        params = {}
    depends = raw.get("depends_on") or []
    if isinstance(depends, str):
        depends = [depends]
    if not (isinstance(depends, list) and all(isinstance(d, str) for d in depends)):
        problems.append(f"{where}: depends_on must be a list of node names")
        depends = []
    queue = raw.get("queue")
    if queue is not None and not isinstance(queue, str):
        problems.append(f"{where}: queue must be a job queue name")
        queue = None
    numbers = {}
    for key, low, high in (("attempts", 1, 10), ("timeout_seconds", 60, None)):
        value = raw.get(key)
        bad = not isinstance(value, int) or isinstance(value, bool) or value < low
        if value is not None and (bad or (high is not None and value > high)):
            span = f"from {low} to {high}" if high else f"of at least {low} (Batch's minimum)"
            problems.append(f"{where}: {key} must be an integer {span}, got {value!r}")
            value = None
        numbers[key] = value
    return Node(
        name=name,
        job_definition=jobdef,
        params={str(k): v for k, v in params.items()},
        depends_on=tuple(dict.fromkeys(depends)),
        foreach=raw.get("foreach"),
        queue=queue,
        attempts=numbers["attempts"],
        timeout_seconds=numbers["timeout_seconds"],
    )


def _unknown(
    mapping: dict[str, Any], known: tuple[str, ...], where: str, problems: list[str]
) -> None:
    for key in mapping:
        if key not in known:
            problems.append(f"{where}: unknown field {key!r}" + _hint(str(key), known))


def _hint(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
