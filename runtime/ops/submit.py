"""`batch-task submit`: validate a job's parameters against its task, then call SubmitJob.

A typo in a parameter should cost nothing, not a container start: the definition's command
names the task, `Ref::` placeholders are filled from `-p` and the definition's defaults, and
the result goes through the same parser the container will run. Only then is Batch called.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime import documents, params, registry
from runtime.batch import jobdef, tasks
from runtime.errors import UsageError
from runtime.ops import aws
from runtime.ops.arguments import Parser, pairs

_JOB_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Submittable:
    """A job definition and the name SubmitJob should use for it."""

    definition: jobdef.JobDefinition
    document: dict[str, Any]
    submit_as: str


def load_definition(ref: str) -> Submittable:
    """A path ending in .json is a local RegisterJobDefinition file (submitted by its name);
    anything else names a registered definition, `name` or `name:revision`."""
    if ref.endswith(".json"):
        document = jobdef.load_document(ref)
        definition = jobdef.parse(document, ref)
        return Submittable(definition, document, definition.name)
    batch = aws.client("batch")
    name, _, revision = ref.partition(":")
    found = aws.call(
        batch.describe_job_definitions,
        f"DescribeJobDefinitions({ref})",
        jobDefinitionName=name,
        status="ACTIVE",
    )
    revisions = [
        d for d in found["jobDefinitions"] if not revision or str(d["revision"]) == revision
    ]
    if not revisions:
        raise UsageError(f"no ACTIVE job definition {ref!r} is registered in this account/region")
    latest = max(revisions, key=lambda d: d["revision"])
    definition = jobdef.parse(latest, f"{name}:{latest['revision']}")
    return Submittable(definition, latest, f"{name}:{latest['revision']}")


def build_request(
    job: Submittable,
    queue: str,
    given: dict[str, str],
    *,
    array_size: int | None = None,
    manifest: str | None = None,
    depends_on: list[str] | None = None,
    job_name: str | None = None,
) -> dict[str, Any]:
    """Validate everything a container would, then return the SubmitJob request.

    With a manifest, a placeholder without a value stays `Ref::name`, as Batch passes it, and
    each manifest item must supply that parameter instead (runtime.params.placeholders).
    """
    command = job.definition.command_for(given, supplied_later=manifest is not None)
    task, argv = job.definition.task(command), tasks.arguments(command)
    size = array_size
    if manifest is not None:
        size = _check_manifest(task, argv, manifest)
    else:
        params.parse(task.params, argv)
    request: dict[str, Any] = {
        "jobName": job_name or _default_job_name(job.definition.name),
        "jobQueue": queue,
        "jobDefinition": job.submit_as,
    }
    if given:
        request["parameters"] = given
    if size is not None:
        if not 2 <= size <= 10_000:
            raise UsageError(f"array size {size} is outside AWS Batch's 2 to 10,000")
        request["arrayProperties"] = {"size": size}
    if manifest is not None:
        command = [*job.definition.command, "--manifest", manifest]
        request["containerOverrides"] = {"command": command}
    if depends_on:
        request["dependsOn"] = [{"jobId": job_id} for job_id in depends_on]
    aws.validate("batch", "SubmitJob", request)
    return request


def _check_manifest(task: registry.Task, argv: list[str], manifest: str) -> int:
    """Parse every manifest item as its array child will; return the number of items."""
    text = documents.read_text(manifest, "--manifest")
    try:
        count = len(params.manifest.items(text))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for index in range(count):
        try:
            params.parse(
                task.params,
                [*argv, "--manifest", manifest],
                array_index=index,
                read_text=lambda _uri, _what: text,
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
    return build_request(
        load_definition(ns.jobdef),
        ns.queue,
        pairs(ns.params, "-p"),
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
        _register_if_missing(batch, load_definition(ns.jobdef), ns.jobdef)
    answer = aws.call(batch.submit_job, f"SubmitJob to {ns.queue}", **request)
    print(answer["jobId"])
    print(f"submitted {answer['jobName']} as {answer['jobId']}", file=sys.stderr)
    return 0


def _register_if_missing(batch: Any, job: Submittable, source: str) -> None:
    """A local definition is submitted by name; register it first if Batch doesn't know it."""
    name = job.definition.name
    found = aws.call(
        batch.describe_job_definitions,
        f"DescribeJobDefinitions({name})",
        jobDefinitionName=name,
        status="ACTIVE",
    )
    if not found["jobDefinitions"]:
        aws.call(batch.register_job_definition, f"RegisterJobDefinition({source})", **job.document)
        print(f"registered {source} as {name}", file=sys.stderr)
