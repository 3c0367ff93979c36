"""`batch-task schedule`: recurring submissions through EventBridge Scheduler.

AWS Batch has no schedules of its own. EventBridge Scheduler's universal target calls Batch's
SubmitJob directly, so a schedule is just a validated SubmitJob request and an expression.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from runtime.errors import UsageError
from runtime.ops import aws
from runtime.ops.arguments import Parser
from runtime.ops.submit import add_job_arguments, request_from

TARGET_ARN = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
GROUP = "default"
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#L W-]+$")


def check_expression(expression: str) -> str:
    """Refuse what EventBridge Scheduler would refuse, with a message that shows the fix."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise UsageError(f"--expression {expression!r}: the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            fixed = unit.rstrip("s") if value == 1 else unit + ("" if unit.endswith("s") else "s")
            raise UsageError(f"--expression {expression!r}: write rate({value} {fixed})")
        return expression
    if _AT.match(expression):
        return expression
    if expression.startswith("cron(") and expression.endswith(")"):
        fields = expression[5:-1].split()
        if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
            raise UsageError(
                f"--expression {expression!r}: cron takes six fields, "
                "minutes hours day-of-month month day-of-week year, e.g. cron(0 3 * * ? *)"
            )
        if "?" not in (fields[2], fields[4]):
            raise UsageError(
                f"--expression {expression!r}: one of day-of-month and day-of-week must be "
                "'?', e.g. cron(0 3 * * ? *)"
            )
        return expression
    raise UsageError(
        f"--expression {expression!r} is not a schedule expression: use rate(N unit), "
        "cron(m h dom mon dow year) or at(yyyy-mm-ddThh:mm:ss)"
    )


def universal_input(request: dict[str, Any]) -> dict[str, Any]:
    """The SubmitJob request as the universal target expects it: member names capitalised
    (JobName, ContainerOverrides.Command), map keys such as parameter names left alone."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("batch")
    return _pascal(request, model.operation_model("SubmitJob").input_shape)


def _pascal(value: Any, shape: Any) -> Any:
    if shape.type_name == "structure":
        return {k[:1].upper() + k[1:]: _pascal(v, shape.members[k]) for k, v in value.items()}
    if shape.type_name == "list":
        return [_pascal(v, shape.member) for v in value]
    if shape.type_name == "map":
        return {k: _pascal(v, shape.value) for k, v in value.items()}
    return value


def main(args: list[str]) -> int:
    if args[:1] == ["create"] and any(a.split("=")[0] == "--workflow" for a in args):
        from runtime.workflow.schedule import create

        return create(args[1:])
    parser = Parser(prog="batch-task schedule", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a recurring submission")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--expression", required=True, help="rate(...), cron(...) or at(...)")
    create.add_argument("--role-arn", required=True, help="role Scheduler assumes to submit")
    create.add_argument("--timezone", help="IANA time zone of a cron expression (default UTC)")
    create.add_argument("--workflow", metavar="FLOW", help="schedule a workflow (no JOBDEF)")
    add_job_arguments(create)
    commands.add_parser("list", help="list the schedules")
    delete = commands.add_parser("delete", help="delete a schedule")
    delete.add_argument("name", metavar="NAME")
    ns = parser.parse_args(args)
    if ns.command == "create":
        return _create(ns)
    scheduler = aws.client("scheduler")
    if ns.command == "list":
        found = aws.call(scheduler.list_schedules, "ListSchedules", GroupName=GROUP)
        for item in found["Schedules"]:
            print(f"{item['Name']}\t{item.get('State', '')}\t{item.get('Target', {}).get('Arn')}")
        return 0
    aws.call(scheduler.delete_schedule, f"DeleteSchedule({ns.name})", Name=ns.name, GroupName=GROUP)
    print(f"deleted schedule {ns.name}", file=sys.stderr)
    return 0


def _create(ns: Any) -> int:
    return create(ns, request_from(ns, job_name=ns.name))


def create(ns: Any, submit: dict[str, Any], before: Callable[[], None] = lambda: None) -> int:
    """Schedule the SubmitJob request `submit` as `ns` says (name, expression, timezone, role,
    --dry-run); `before` runs just before the schedule is created, for what it will need."""
    request: dict[str, Any] = {
        "Name": ns.name,
        "GroupName": GROUP,
        "ScheduleExpression": check_expression(ns.expression),
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": TARGET_ARN,
            "RoleArn": ns.role_arn,
            "Input": json.dumps(universal_input(submit)),
        },
    }
    if ns.timezone:
        request["ScheduleExpressionTimezone"] = ns.timezone
    aws.validate("scheduler", "CreateSchedule", request)
    if ns.dry_run:
        print(json.dumps(request, indent=2))
        return 0
    before()
    scheduler = aws.client("scheduler")
    answer = aws.call(scheduler.create_schedule, f"CreateSchedule({ns.name})", **request)
    print(answer["ScheduleArn"])
    return 0
