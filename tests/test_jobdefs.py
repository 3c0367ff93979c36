"""The job definitions in docker/job-definitions/: valid for AWS, runnable by our tasks, and read
by `batch-task local` with Batch's rules.

Validity is checked against botocore's own Batch service model, the same check boto3 makes
before it sends `RegisterJobDefinition`, so no AWS account is needed.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from runtime import params, registry
from runtime.batch import jobdef
from runtime.errors import UsageError
from tests.conftest import ROOT

DEFINITIONS = sorted((ROOT / "docker" / "job-definitions").glob("*.json"))
REQUIRED = {"source": "s3://bucket/in.tif", "destination": "s3://bucket/out.tif"}


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def validation_errors(document: dict[str, Any]) -> str:
    model = botocore.session.get_session().get_service_model("batch")
    shape = model.operation_model("RegisterJobDefinition").input_shape
    report = ParamValidator().validate(document, shape)
    return report.generate_report() if report.has_errors() else ""


def test_both_builtin_tasks_have_a_definition() -> None:
    assert [p.stem for p in DEFINITIONS] == ["export", "ingest"]


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.stem)
def test_definition_is_valid_register_job_definition_input(path: Path) -> None:
    assert validation_errors(load_json(path)) == ""


def test_the_model_check_is_real() -> None:
    """A definition with a misspelt key or a wrongly typed value must fail the same check."""
    broken = copy.deepcopy(load_json(DEFINITIONS[0]))
    broken["retryStrategy"]["attempts"] = "3"
    broken["containerProperties"]["linuxParameters"]["initProcesEnabled"] = True
    report = validation_errors(broken)
    assert "attempts" in report and "initProcesEnabled" in report


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.stem)
def test_definition_follows_the_contract(path: Path) -> None:
    document = load_json(path)
    definition = jobdef.parse(document, str(path))
    assert definition.command[0] == path.stem
    assert definition.init_process
    assert definition.attempt_seconds and definition.attempt_seconds >= 60
    assert 1 < definition.attempts <= 10
    assert {"CLOUDWATCH_LOG_GROUP", "PAPERTRAIL_URL", "PROGRESS_URL"} <= set(definition.environment)
    task_timeout = float(definition.environment["TASK_TIMEOUT"])
    assert task_timeout < definition.attempt_seconds, "the soft deadline must come first"
    assert set(definition.placeholders) - set(definition.defaults) == set(REQUIRED)


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.stem)
def test_retry_strategy_retries_temporary_failures_and_lost_hosts_only(path: Path) -> None:
    definition = jobdef.load(path)
    exited = "Essential container in task exited"
    assert definition.action_after(75, exited, None) == "RETRY"
    lost_host = "Host EC2 (instance i-0123456789abcdef0) terminated."
    assert definition.action_after(None, lost_host, None) == "RETRY"
    assert definition.action_after(143, lost_host, None) == "RETRY"
    assert definition.action_after(137, lost_host, None) == "RETRY"
    for code in (1, 64, 65, 66, 70, 73, 77, 124, 137, 139, 143):
        assert definition.action_after(code, exited, None) == "EXIT", code
    oom = "OutOfMemoryError: Container killed due to memory usage"
    assert definition.action_after(137, exited, oom) == "EXIT"


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.stem)
def test_command_with_defaults_parses_as_the_task_parameters(path: Path) -> None:
    """What Batch would run with only the required parameters given: valid for the task."""
    tasks = registry.load(os.environ)
    if path.stem not in tasks:
        pytest.skip(f"the {path.stem} task is not registered yet")
    definition = jobdef.load(path)
    command = definition.command_for(REQUIRED)
    task = tasks[command[0]]
    kwargs = params.parse(task.params, command[1:])
    assert kwargs["destination"] == REQUIRED["destination"]
    assert {p.name for p in task.params} >= set(definition.placeholders)


def test_placeholders_are_substituted_from_given_values_over_defaults() -> None:
    definition = jobdef.parse(
        {
            "jobDefinitionName": "demo",
            "parameters": {"codec": "mp4"},
            "containerProperties": {
                "command": ["ffmpeg", "-i", "Ref::inputfile", "-c", "Ref::codec", "x=Ref::codec"]
            },
        },
        "demo.json",
    )
    assert definition.command_for({"inputfile": "a.mov"}) == [
        "ffmpeg",
        "-i",
        "a.mov",
        "-c",
        "mp4",
        "x=Ref::codec",
    ]
    assert definition.command_for({"inputfile": "a", "codec": "h264"})[4] == "h264"
    with pytest.raises(UsageError, match=r"-p inputfile=VALUE"):
        definition.command_for({})
    with pytest.raises(UsageError, match=r"'inputfle'.*did you mean 'inputfile'"):
        definition.command_for({"inputfle": "a"})


def rules(*entries: dict[str, str]) -> jobdef.JobDefinition:
    return jobdef.parse(
        {
            "jobDefinitionName": "r",
            "containerProperties": {"command": ["echo"]},
            "retryStrategy": {"attempts": 3, "evaluateOnExit": list(entries)},
        },
        "r.json",
    )


def test_first_matching_rule_wins_and_no_match_means_retry() -> None:
    definition = rules(
        {"onExitCode": "6*", "action": "exit"},
        {"onExitCode": "65", "action": "RETRY"},
        {"onExitCode": "7", "onStatusReason": "Essential*", "action": "EXIT"},
    )
    exited = "Essential container in task exited"
    assert definition.action_after(65, exited, None) == "EXIT"
    assert definition.action_after(7, exited, None) == "EXIT"
    assert definition.action_after(7, "Host EC2 terminated", None) == "RETRY"
    assert definition.action_after(70, exited, None) == "RETRY"


def test_globs_match_whole_text_or_a_prefix() -> None:
    assert jobdef.glob_match("75", "75")
    assert not jobdef.glob_match("7", "75")
    assert jobdef.glob_match("7*", "75")
    assert jobdef.glob_match("*", "")
    assert not jobdef.glob_match("Host EC2*", "host ec2 terminated")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"jobDefinitionName": "x", "containerProperties": {}}, "command"),
        (
            {
                "jobDefinitionName": "x",
                "containerProperties": {"command": ["a"]},
                "retryStrategy": {"attempts": 11},
            },
            "attempts",
        ),
        (
            {
                "jobDefinitionName": "x",
                "containerProperties": {"command": ["a"]},
                "retryStrategy": {"evaluateOnExit": [{"onExitCode": "1", "action": "MAYBE"}]},
            },
            "RETRY or EXIT",
        ),
        (
            {
                "jobDefinitionName": "x",
                "type": "multinode",
                "containerProperties": {"command": ["a"]},
            },
            "only container",
        ),
        (
            {
                "jobDefinitionName": "x",
                "containerProperties": {"command": ["a"]},
                "timeout": {"attemptDurationSeconds": "60"},
            },
            "attemptDurationSeconds",
        ),
    ],
)
def test_unusable_definitions_are_usage_errors_naming_the_file(document: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        jobdef.parse(document, "my-def.json")
    assert "my-def.json" in str(raised.value)
