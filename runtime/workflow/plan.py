"""A workflow file plus the run's inputs, resolved into the jobs a run will make.

Everything `workflow validate` promises is checked here, and every problem is collected
before one UsageError (exit 64) reports them all: inputs, templates, manifests, and each
node's parameters through its task's own parser (for a `foreach` node, every item). Local runs
and submissions start from the same Plan, so what validates is what runs.
"""

from __future__ import annotations

import difflib
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from runtime import params as task_params
from runtime.batch import jobdef, tasks
from runtime.errors import TaskError, UsageError
from runtime.workflow import file, manifest, templates
from runtime.workflow.templates import Unresolved

SHOWN_ITEM_PROBLEMS = 3


@dataclass
class PlannedNode:
    name: str
    definition_ref: str
    document: dict[str, Any]
    definition: jobdef.JobDefinition
    depends_on: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    children: list[dict[str, Any]] | None = None
    foreach_key: Any = None
    n_to_n: tuple[str, ...] = ()
    queue: str | None = None

    @property
    def array_size(self) -> int | None:
        """Batch arrays have 2 to 10,000 children: a foreach over one item is a plain job."""
        return len(self.children) if self.children is not None and len(self.children) > 1 else None

    def job_params(self) -> list[dict[str, Any]]:
        """The parameters of each job this node makes: one per child, or the node's own."""
        return self.children if self.array_size else [self.params]


@dataclass
class Plan:
    workflow: str
    run_id: str
    inputs: dict[str, Any]
    nodes: dict[str, PlannedNode]
    order: list[str]
    missing: set[str] = field(default_factory=set)


def new_run_id(name: str) -> str:
    return f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def make(path: str, given: dict[str, str], run_id: str | None = None) -> Plan:
    """Load, resolve and check the workflow; raise one UsageError listing every problem."""
    problems: list[str] = []
    flow = file.load(path, problems)
    if flow is None:
        raise UsageError(_report(path, problems))
    inputs = _inputs(flow, given, problems)
    plan = Plan(flow.name, run_id or new_run_id(flow.name), inputs, {}, [])
    plan.missing = set(flow.inputs) - set(inputs)
    plan.order = _topological(flow)
    ancestors = _ancestors(flow)
    for name in plan.order:
        node = flow.nodes[name]
        planned = _plan_node(flow, node, plan, ancestors[name], problems)
        if planned is not None:
            plan.nodes[name] = planned
    plan.nodes = {n: plan.nodes[n] for n in flow.nodes if n in plan.nodes}
    unloaded: dict[str, list[str]] = {}
    for planned in plan.nodes.values():
        _check_params(planned, problems, unloaded)
    problems.extend(_unloaded(unloaded))
    if problems:
        raise UsageError(_report(path, problems))
    return plan


def _report(path: str, problems: list[str]) -> str:
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return f"workflow {path!r}: {count}:\n  - " + "\n  - ".join(problems)


def _inputs(flow: file.Flow, given: dict[str, str], problems: list[str]) -> dict[str, Any]:
    for name in given:
        if name not in flow.inputs:
            close = difflib.get_close_matches(name, list(flow.inputs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(flow.inputs) or "none"
            problems.append(
                f"-p {name}: the workflow has no input {name!r} (inputs: {known}){hint}"
            )
    values: dict[str, Any] = {}
    for name, spec in flow.inputs.items():
        if name in given:
            values[name] = given[name]
        elif "default" in spec:
            values[name] = spec["default"]
        else:
            problems.append(f"input {name!r} is required: give -p {name}=VALUE")
    return values


def _topological(flow: file.Flow) -> list[str]:
    """Nodes in an order where each comes after its dependencies, ties in file order."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in flow.nodes[name].depends_on:
            if dep in flow.nodes:
                visit(dep)
        done.append(name)

    for name in flow.nodes:
        visit(name)
    return done


def _ancestors(flow: file.Flow) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in _topological(flow):
        deps = [d for d in flow.nodes[name].depends_on if d in flow.nodes]
        # In a cycle (already reported) a dependency may not be visited yet: count it alone.
        found[name] = set(deps).union(*(found.get(d, set()) for d in deps))
    return found


def _plan_node(
    flow: file.Flow, node: file.Node, plan: Plan, upstream: set[str], problems: list[str]
) -> PlannedNode | None:
    where = f"node {node.name!r}"
    ref = flow.definition_path(node.job_definition) if node.job_definition else ""
    loaded = _definition(ref, where, problems) if ref else None
    lookup = _lookup(plan, upstream, None, node.name)
    children = None
    foreach_key = None
    used = templates.expressions([node.foreach, node.params])
    unknowable = any(e.startswith("inputs.") and e[7:] in plan.missing for e in used)
    if node.foreach is not None and unknowable:
        children = []  # its items depend on an input not given: nothing more to check
    elif node.foreach is not None:
        foreach_key = templates.render(node.foreach, lookup, problems, f"{where} foreach")
        items = manifest.items(foreach_key, where, problems)
        children = [
            templates.render(
                node.params, _lookup(plan, upstream, (i, item), node.name), problems, where
            )
            for i, item in enumerate(items)
        ]
        params = children[0] if len(children) == 1 else {}
    else:
        params = templates.render(node.params, lookup, problems, where)
    if children == [] or unknowable:
        params, children = {}, []
    if loaded is None:
        return None
    document, definition = loaded
    if node.attempts is not None:
        definition = replace(definition, attempts=node.attempts)
    if node.timeout_seconds is not None:
        definition = replace(definition, attempt_seconds=node.timeout_seconds)
    planned = PlannedNode(
        node.name,
        ref,
        document,
        definition,
        node.depends_on,
        params,
        children,
        foreach_key,
        queue=node.queue,
    )
    planned.n_to_n = tuple(
        d
        for d in node.depends_on
        if d in plan.nodes
        and planned.array_size is not None
        and plan.nodes[d].array_size is not None
        and plan.nodes[d].foreach_key == foreach_key
    )
    return planned


def _definition(
    ref: str, where: str, problems: list[str]
) -> tuple[dict[str, Any], jobdef.JobDefinition] | None:
    try:
        if ref.endswith(".json"):
            document = jobdef.load_document(ref)
            return document, jobdef.parse(document, ref)
        from runtime.ops import submit

        found = submit.load_definition(ref)
        return found.document, found.definition
    except TaskError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _lookup(
    plan: Plan, upstream: set[str], item: tuple[int, Any] | None, node: str
) -> templates.Lookup:
    def lookup(expr: str) -> Any:
        head, _, rest = expr.partition(".")
        if expr == "run_id":
            return plan.run_id
        if head == "inputs":
            if rest in plan.missing:
                raise Unresolved()  # reported once, as a missing input
            if rest not in plan.inputs:
                raise Unresolved(f"names no input (inputs: {', '.join(plan.inputs) or 'none'})")
            return plan.inputs[rest]
        if head == "item":
            if item is None:
                raise Unresolved("is only available in a node with foreach")
            index, value = item
            if not isinstance(value, dict) or rest not in value:
                raise Unresolved(f"names a key that manifest item {index} does not have")
            return value[rest]
        if head == "nodes":
            return _node_param(plan, upstream, node, rest)
        raise Unresolved(
            "names nothing: use {inputs.NAME}, {item.KEY}, {run_id} or {nodes.NODE.params.NAME}"
        )

    return lookup


def _node_param(plan: Plan, upstream: set[str], node: str, rest: str) -> Any:
    other, _, tail = rest.partition(".")
    kind, _, param = tail.partition(".")
    if kind != "params" or not param:
        raise Unresolved("must have the form {nodes.NODE.params.NAME}")
    if other not in upstream:
        raise Unresolved(f"names {other!r}, which is not a node upstream of {node!r}")
    source = plan.nodes.get(other)
    if source is None:
        raise Unresolved(f"names node {other!r}, which could not be resolved")
    rows = source.children if source.children is not None else [source.params]
    if any(param not in row for row in rows):
        raise Unresolved(f"names a parameter node {other!r} does not set")
    values = [row[param] for row in rows]
    return values if source.children is not None else values[0]


def _check_params(node: PlannedNode, problems: list[str], unloaded: dict[str, list[str]]) -> None:
    """Parse each job's parameters with its task's own parser, as the container will.

    A task that can't be loaded is one problem of its definition, however many nodes use it:
    `unloaded` gathers the nodes under each such message.
    """
    where = f"node {node.name!r}"
    try:
        task = node.definition.task(node.definition.command)
    except UsageError as exc:
        unloaded.setdefault(str(exc), []).append(node.name)
        return
    if node.children == []:
        return  # its manifest's problem is reported already
    found: list[str] = []
    rows = node.job_params()
    for index, row in enumerate(rows):
        label = f"{where} item {index}" if node.children is not None else where
        try:
            command = node.definition.command_for({k: templates.as_text(v) for k, v in row.items()})
            task_params.parse(task.params, tasks.arguments(command))
        except UsageError as exc:
            found.append(f"{label}: {exc}")
    problems.extend(found[:SHOWN_ITEM_PROBLEMS])
    if len(found) > SHOWN_ITEM_PROBLEMS:
        problems.append(f"{where}: {len(found) - SHOWN_ITEM_PROBLEMS} more items have problems")


def _unloaded(unloaded: dict[str, list[str]]) -> list[str]:
    return [
        ("node " if len(names) == 1 else "nodes ") + ", ".join(map(repr, names)) + f": {message}"
        for message, names in unloaded.items()
    ]
