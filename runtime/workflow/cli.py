"""`batch-task workflow validate|local|submit|status|resume`: workflows, a graph of jobs.

Each subcommand lives in its own module and is imported only when named, so `validate` does
not import boto3 unless a node names a registered job definition.
"""

from __future__ import annotations

import importlib

from runtime.errors import UsageError
from runtime.ops.arguments import Parser, pairs

USAGE = """\
usage: batch-task workflow validate FLOW [-p NAME=VALUE]...
       batch-task workflow local FLOW [-p NAME=VALUE]... [-e NAME=VALUE]... [--parallel N]
       batch-task workflow submit FLOW --queue Q [-p NAME=VALUE]... [--dry-run]
       batch-task workflow status RUN_ID [--json]
       batch-task workflow resume RUN_ID [--parallel N]

FLOW is a YAML (or JSON) workflow file; runs are recorded under WORKFLOW_STATE
(a directory or s3://bucket/prefix; default $BATCH_TASK_HOME/runs). See docs/workflows.md.
"""
SUBCOMMANDS = {
    "local": "runtime.workflow.local",
    "submit": "runtime.workflow.submit",
    "status": "runtime.workflow.status",
    "resume": "runtime.workflow.resume",
}


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 64
    command, rest = args[0], args[1:]
    if command == "validate":
        return validate(rest)
    module = SUBCOMMANDS.get(command)
    if module is None:
        raise UsageError(
            f"workflow: unknown command {command!r}; use validate, local, submit, status or resume"
        )
    return int(importlib.import_module(module).main(rest))


def validate(args: list[str]) -> int:
    from runtime.workflow.plan import make

    parser = Parser(prog="batch-task workflow validate", description="Check a workflow file.")
    parser.add_argument("flow", metavar="FLOW")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    ns = parser.parse_args(args)
    plan = make(ns.flow, pairs(ns.params, "-p"))
    jobs = sum(n.array_size or 1 for n in plan.nodes.values())
    print(f"{ns.flow}: workflow {plan.workflow!r} is valid: {len(plan.nodes)} nodes, {jobs} jobs")
    return 0
