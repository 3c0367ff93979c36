"""`batch-task submit`: validate a job's parameters against its task, then call SubmitJob.

A typo in a parameter should cost nothing, not a container start: the definition's command
names the task, `Ref::` placeholders are filled from `-p` and the definition's defaults, and
the result goes through the same parser the container will run. Only then is Batch called.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime import params, registry, uris
from runtime.errors import UsageError
from runtime.ops import aws
from runtime.ops.args import Parser

REF = "Ref::"
_JOB_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Definition:
    """A job definition, from a local RegisterJobDefinition file or from Batch."""

    name: str
    body: dict[str, Any]
    source: str
    registered: str | None = None

    @property
    def command(self) -> list[str]:
        command = self.body.get("containerProperties", {}).get("command")
        if not command:
            raise UsageError(f"{self.source} has no containerProperties.command to validate")
        return list(command)

    @property
    def defaults(self) -> dict[str, str]:
        return dict(self.body.get("parameters") or {})


def load_definition(ref: str) -> Definition:
    """A path ending in .json is a local file; anything else names a registered definition."""
    if ref.endswith(".json"):
        path = Path(ref)
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"job definition file {ref!r} does not exist") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"job definition file {ref!r} is not valid JSON: {exc}") from None
        if "jobDefinitionName" not in body:
            raise UsageError(
                f"{ref!r} has no jobDefinitionName; is it RegisterJobDefinition input?"
            )
        return Definition(body["jobDefinitionName"], body, ref)
    batch = aws.client("batch")
    name, _, revision = ref.partition(":")
    request: dict[str, Any] = {"jobDefinitionName": name, "status": "ACTIVE"}
    found = aws.call(batch.describe_job_definitions, f"DescribeJobDefinitions({ref})", **request)
    revisions = [
        d for d in found["jobDefinitions"] if not revision or str(d["revision"]) == revision
    ]
    if not revisions:
        raise UsageError(f"no ACTIVE job definition {ref!r} is registered in this account/region")
    latest = max(revisions, key=lambda d: d["revision"])
    return Definition(name, latest, ref, f"{name}:{latest['revision']}")


def task_of(command: list[str]) -> tuple[registry.Task, list[str]]:
    """The task a definition's command runs, and the arguments that follow its name."""
    head = command[1:] if command[:1] == ["run"] else command
    if not head or head[0].startswith(REF):
        raise UsageError(f"the command {command} does not start with a task name")
    return registry.get(head[0], os.environ), head[1:]


def substitute(args: list[str], values: dict[str, str], problems: list[str]) -> list[str]:
    """Fill `Ref::name` arguments as Batch does; report the ones left without a value."""
    out = []
    for arg in args:
        if arg.startswith(REF):
            name = arg[len(REF) :]
            if name not in values:
                problems.append(f"Ref::{name} has no value: give -p {name}=... or a default")
                continue
            out.append(values[name])
        else:
            out.append(arg)
    return out


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"-p {pair!r}: give parameters as NAME=VALUE")
        values[name] = value
    return values


def build_request(
    definition: Definition,
    queue: str,
    given: dict[str, str],
    *,
    array_size: int | None = None,
    manifest: str | None = None,
    depends_on: list[str] | None = None,
    job_name: str | None = None,
) -> dict[str, Any]:
    """Validate everything a container would, then return the SubmitJob request."""
    task, args = task_of(definition.command)
    problems: list[str] = []
    refs = {a[len(REF) :] for a in args if a.startswith(REF)}
    for name in sorted(set(given) - refs):
        close = difflib.get_close_matches(name, refs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"-p {name}: the job definition's command has no Ref::{name}{hint}")
    argv = substitute(args, {**definition.defaults, **given}, problems)
    if problems:
        raise UsageError("invalid parameters:\n  - " + "\n  - ".join(problems))
    size = array_size
    if manifest is not None:
        size = _check_manifest(task, argv, manifest)
    else:
        params.parse(task.params, argv)
    request: dict[str, Any] = {
        "jobName": job_name or _default_job_name(definition.name),
        "jobQueue": queue,
        "jobDefinition": definition.registered or definition.name,
    }
    if given:
        request["parameters"] = given
    if size is not None:
        if not 2 <= size <= 10_000:
            raise UsageError(f"array size {size} is outside AWS Batch's 2 to 10,000")
        request["arrayProperties"] = {"size": size}
    if manifest is not None:
        request["containerOverrides"] = {"command": [*definition.command, "--manifest", manifest]}
    if depends_on:
        request["dependsOn"] = [{"jobId": job_id} for job_id in depends_on]
    aws.validate("batch", "SubmitJob", request)
    return request


def _check_manifest(task: registry.Task, argv: list[str], manifest: str) -> int:
    """Parse every manifest item as its array child will; return the number of items."""
    text = uris.read_text(manifest)
    stripped = text.lstrip()
    count = (
        len(json.loads(stripped))
        if stripped.startswith("[")
        else sum(1 for line in text.splitlines() if line.strip())
    )
    for index in range(count):
        try:
            params.parse(
                task.params,
                [*argv, "--manifest", manifest],
                array_index=index,
                read_text=lambda _uri: text,
            )
        except UsageError as exc:
            raise UsageError(f"manifest item {index}: {exc}") from None
    return count


def _default_job_name(definition: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _JOB_NAME.sub("-", f"{definition}-{stamp}")[:128]


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `submit` and `schedule create` share."""
    parser.add_argument("jobdef", metavar="JOBDEF", help="registered name[:revision] or .json")
    parser.add_argument("--queue", required=True, help="job queue name or ARN")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    array = parser.add_mutually_exclusive_group()
    array.add_argument("--array-size", type=int, help="run N array children")
    array.add_argument("--manifest", help="JSON array or JSON Lines of parameter objects")
    parser.add_argument("--depends-on", action="append", default=[], metavar="JOB_ID")
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")


def request_from(ns: argparse.Namespace, job_name: str | None = None) -> dict[str, Any]:
    definition = load_definition(ns.jobdef)
    return build_request(
        definition,
        ns.queue,
        parse_assignments(ns.params),
        array_size=ns.array_size,
        manifest=ns.manifest,
        depends_on=ns.depends_on,
        job_name=job_name or getattr(ns, "name", None),
    )


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task submit", description=__doc__)
    add_job_arguments(parser)
    parser.add_argument("--name", help="job name (default: definition name and a timestamp)")
    ns = parser.parse_args(args)
    request = request_from(ns)
    if ns.dry_run:
        print(json.dumps(request, indent=2))
        return 0
    batch = aws.client("batch")
    if ns.jobdef.endswith(".json"):
        _register_if_missing(batch, load_definition(ns.jobdef))
    answer = aws.call(batch.submit_job, f"SubmitJob to {ns.queue}", **request)
    print(answer["jobId"])
    print(f"submitted {answer['jobName']} as {answer['jobId']}", file=sys.stderr)
    return 0


def _register_if_missing(batch: Any, definition: Definition) -> None:
    """A local definition is submitted by name; register it first if Batch doesn't know it."""
    found = aws.call(
        batch.describe_job_definitions,
        f"DescribeJobDefinitions({definition.name})",
        jobDefinitionName=definition.name,
        status="ACTIVE",
    )
    if not found["jobDefinitions"]:
        aws.call(
            batch.register_job_definition,
            f"RegisterJobDefinition({definition.source})",
            **definition.body,
        )
        print(f"registered {definition.source} as {definition.name}", file=sys.stderr)
