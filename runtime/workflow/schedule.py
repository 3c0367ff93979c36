"""`schedule create NAME --workflow FLOW ...`: a whole workflow on a schedule, nothing running.

EventBridge Scheduler can only call an API, and a workflow is many SubmitJob calls, so the
schedule submits one small launcher job: the same image running `workflow submit` on the flow
stored in S3, which exits once the run is submitted. At `create`, the workflow is validated,
its local job definitions are registered (the stored flow names them `name:revision`, so the
launcher needs no files but the flow), and the flow is stored under WORKFLOW_STATE
(`schedules/NAME.json`). The launcher's role (the first node's jobRoleArn) needs
`batch:SubmitJob`, `batch:RegisterJobDefinition`, `batch:DescribeJobDefinitions` and S3
access to WORKFLOW_STATE.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from runtime.errors import UsageError
from runtime.ops import aws, schedule
from runtime.ops.arguments import Parser, pairs
from runtime.workflow import definitions
from runtime.workflow.plan import make
from runtime.workflow.store import Store

LAUNCHER_NAME = "batch-task-workflow-launcher"


def create(args: list[str]) -> int:
    parser = Parser(prog="batch-task schedule create", description=__doc__)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--expression", required=True, help="rate(...), cron(...) or at(...)")
    parser.add_argument("--role-arn", required=True, help="role Scheduler assumes to submit")
    parser.add_argument("--timezone", help="IANA time zone of a cron expression (default UTC)")
    parser.add_argument("--workflow", required=True, metavar="FLOW", help="the workflow file")
    parser.add_argument("--queue", required=True, help="job queue for the launcher and nodes")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    ns = parser.parse_args(args)
    schedule.check_expression(ns.expression)  # a bad expression fails before any planning
    store = Store.from_env()
    if not store.is_s3:
        raise UsageError(
            "a scheduled workflow is stored where its launcher job can read it: set "
            f"WORKFLOW_STATE to s3://bucket/prefix (it is {store.base!r})"
        )
    given = pairs(ns.params, "-p")
    plan = make(ns.workflow, given)
    batch = None if ns.dry_run else aws.client("batch")
    names: dict[str, str] = {}
    for node in plan.nodes.values():
        if node.definition_ref.endswith(".json") and node.definition_ref not in names:
            names[node.definition_ref] = (
                definitions.ensure(batch, node.document)
                if batch
                else node.document["jobDefinitionName"]
            )
    flow_uri = store.uri("schedules", f"{ns.name}.json")
    flow_text = json.dumps(_stored_flow(ns.workflow, plan, names), indent=1)
    first = next(iter(plan.nodes.values())).document
    launcher = launcher_document(first)
    launcher_ref = definitions.ensure(batch, launcher) if batch else LAUNCHER_NAME
    command = ["workflow", "submit", flow_uri, "--queue", ns.queue]
    for key, value in given.items():
        command += ["-p", f"{key}={value}"]
    submit = {
        "jobName": f"{ns.name}-launcher",
        "jobQueue": ns.queue,
        "jobDefinition": launcher_ref,
        "containerOverrides": {
            "command": command,
            "environment": [{"name": "WORKFLOW_STATE", "value": store.base}],
        },
    }
    aws.validate("batch", "SubmitJob", submit)
    return schedule.create(
        ns, submit, lambda: store.write("schedules", f"{ns.name}.json", flow_text)
    )


def _stored_flow(path: str, plan: Any, names: dict[str, str]) -> dict[str, Any]:
    """The workflow as written, with each local job definition replaced by its registration."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    for name, node in document["nodes"].items():
        ref = plan.nodes[name].definition_ref
        node["job_definition"] = names.get(ref, node["job_definition"])
    return document


def launcher_document(template: dict[str, Any]) -> dict[str, Any]:
    """The launcher's definition: a node's (image, role, platform) running `workflow submit`."""
    document = definitions.barrier_document(template)
    document = copy.deepcopy(document)
    document["jobDefinitionName"] = LAUNCHER_NAME
    document["containerProperties"]["command"] = ["workflow", "--help"]
    document["retryStrategy"] = {
        "attempts": 3,
        "evaluateOnExit": [
            {"onExitCode": "75", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    }
    document["timeout"] = {"attemptDurationSeconds": 1800}
    return document
