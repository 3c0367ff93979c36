"""Parameters as SPEC fixes them, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import base_env, run_cli


def result(args: list[str], **env: str) -> dict[str, Any]:
    run = run_cli(["typed", *args], base_env(**env))
    assert run.returncode == 0, run.stdout + run.stderr
    return run.one("task.succeeded")["result"]


def usage_error(args: list[str], **env: str) -> str:
    run = run_cli(["typed", *args], base_env(**env))
    assert run.returncode == 64, run.stdout + run.stderr
    assert not run.named("task.started"), "nothing may run after a usage error"
    return run.one("task.failed")["error"]


def test_values_are_converted_by_the_annotations() -> None:
    got = result(
        [
            *("--name", "n", "--count=3", "--ratio", "0.25", "--flag", "yes", "--mode", "SLOW"),
            *("--color", "green", "--options", '{"a": 1}', "--limit", "7"),
        ]
    )
    assert got["count"] == 3
    assert got["ratio"] == 0.25
    assert got["flag"] is True
    assert got["mode"] == "slow"
    assert got["color"] == "green"
    assert got["options"] == {"a": 1}
    assert got["limit"] == 7


def test_both_spellings_name_the_same_parameter(tmp_path: Path) -> None:
    module = tmp_path / "spelled.py"
    module.write_text(
        "from runtime import task\n\n@task\ndef spelled(dst_crs: str) -> str:\n    return dst_crs\n"
    )
    env = base_env(PYTHONPATH=f"{tmp_path}:{base_env()['PYTHONPATH']}", TASK_MODULES="spelled")
    for flag in ("--dst-crs", "--dst_crs"):
        run = run_cli(["spelled", flag, "EPSG:3857"], env)
        assert run.one("task.succeeded")["result"] == "EPSG:3857"


@pytest.mark.parametrize(
    "args",
    [
        ["--items", "a", "--items", "b"],
        ["--items", '["a", "b"]'],
        ["--items=a", "--items=b"],
    ],
)
def test_lists_take_repeated_flags_or_one_json_array(args: list[str]) -> None:
    assert result(["--name", "n", *args])["items"] == ["a", "b"]


def test_list_items_are_converted() -> None:
    assert result(["--name", "n", "--numbers", "1", "--numbers", "2"])["numbers"] == [1, 2]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("0", False), ("No", False)])
def test_bool_words(text: str, value: bool) -> None:
    assert result(["--name", "n", "--flag", text])["flag"] is value


def test_a_bare_bool_flag_means_true() -> None:
    assert result(["--flag", "--name", "n"])["flag"] is True


def test_empty_string_means_none_for_optional_parameters() -> None:
    """Job definitions default unused `Ref::` parameters to ""; that must mean "not given"."""
    got = result(["--name", "n", "--limit", "", "--items", "", "--numbers", ""])
    assert (got["limit"], got["items"], got["numbers"]) == (None, None, None)


def test_an_empty_bool_means_the_default() -> None:
    """`-p overwrite=` in a job definition gives `--overwrite ""`: not given, not an error."""
    assert result(["--flag", "", "--name", "n"])["flag"] is False


def test_a_secret_may_be_optional_either_way(tmp_path: Path) -> None:
    module = tmp_path / "optional_secret.py"
    module.write_text(
        "from typing import Annotated\nfrom runtime import Secret, task\n\n"
        "@task\ndef keys(a: Annotated[str, Secret] | None = None,\n"
        "         b: Annotated[str | None, Secret] = None) -> int:\n    return 0\n"
    )
    env = base_env(
        PYTHONPATH=f"{tmp_path}:{base_env()['PYTHONPATH']}", TASK_MODULES="optional_secret"
    )
    described = run_cli(["describe", "keys", "--json"], env)
    assert described.returncode == 0, described.stderr
    found = {p["name"]: p for p in json.loads(described.stdout)["parameters"]}
    assert found["a"]["secret"] and found["b"]["secret"]
    run = run_cli(["keys", "--a", "alpha-secret-1", "--b", "beta-secret-2"], env)
    assert run.returncode == 0
    assert "alpha-secret-1" not in run.stdout and "beta-secret-2" not in run.stdout


def test_every_problem_is_reported_at_once() -> None:
    error = usage_error(["--count", "many", "--colour", "red", "--mode", "medium", "x"])
    assert "--count: expected an integer, got 'many'" in error
    assert "unknown parameter --colour; did you mean --color?" in error
    assert "--mode: expected one of fast, slow, got 'medium'" in error
    assert "unexpected argument 'x'" in error
    assert "--name is required (str)" in error


def test_a_single_value_parameter_given_twice_is_refused() -> None:
    assert "--name was given 2 times" in usage_error(["--name", "a", "--name", "b"])


def test_params_json_is_overridden_by_flags(tmp_path: Path) -> None:
    doc = {"name": "from-file", "count": 5, "items": ["x"], "flag": True}
    path = tmp_path / "params.json"
    path.write_text(json.dumps(doc))
    got = result(["--params", f"@{path}", "--count", "9"])
    assert (got["name"], got["count"], got["items"], got["flag"]) == ("from-file", 9, ["x"], True)
    inline = result(["--params", '{"name": "inline", "count": "4"}'])
    assert (inline["name"], inline["count"]) == ("inline", 4)


def test_params_from_s3(s3: Any, bucket: str, aws_env: dict[str, str]) -> None:
    s3.put_object(Bucket=bucket, Key="p.json", Body=b'{"name": "from-s3", "count": 2}')
    got = result(["--params", f"s3://{bucket}/p.json"], **aws_env)
    assert (got["name"], got["count"]) == ("from-s3", 2)


def test_params_from_a_missing_s3_key_is_66(bucket: str, aws_env: dict[str, str]) -> None:
    run = run_cli(["typed", "--params", f"s3://{bucket}/nope.json"], base_env(**aws_env))
    assert run.returncode == 66
    assert f"s3://{bucket}/nope.json" in run.one("task.failed")["error"]


def test_params_that_are_not_an_object_are_refused(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    assert "--params must be a JSON object" in usage_error(["--params", f"@{tmp_path}/list.json"])
    error = usage_error(["--name", "n", "--params", '{"count": "x"'])
    assert "--params is not valid JSON" in error


def test_manifest_item_is_merged_over_the_other_parameters(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"name": "zero"}, {"name": "one", "count": 11}]))
    got = result(
        ["--name", "flag", "--count", "1", "--manifest", str(manifest)],
        AWS_BATCH_JOB_ARRAY_INDEX="1",
    )
    assert (got["name"], got["count"]) == ("one", 11)


def test_an_unresolved_batch_placeholder_counts_as_not_given(tmp_path: Path) -> None:
    """Batch passes `Ref::name` literally when a job gives no value and there is no default."""
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"name": "from-item"}]))
    got = result(
        ["--name", "Ref::name", "--limit", "Ref::limit", "--manifest", str(manifest)],
        AWS_BATCH_JOB_ARRAY_INDEX="0",
    )
    assert (got["name"], got["limit"]) == ("from-item", None)
    assert "--name is required (str)" in usage_error(["--name", "Ref::name"])
    assert "--name is required (str)" in usage_error(["--name", "Ref::dst-name"])
    assert result(["--name", "x=Ref::name"])["name"] == "x=Ref::name", "only whole arguments"


def test_manifest_as_json_lines(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"name": "a"}\n{"name": "b"}\n\n{"name": "c"}\n')
    got = result(["--manifest", str(manifest)], AWS_BATCH_JOB_ARRAY_INDEX="2")
    assert got["name"] == "c"


def test_manifest_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text('[{"name": "a"}]')
    assert "needs AWS_BATCH_JOB_ARRAY_INDEX" in usage_error(["--manifest", str(manifest)])
    error = usage_error(["--manifest", str(manifest)], AWS_BATCH_JOB_ARRAY_INDEX="3")
    assert "AWS_BATCH_JOB_ARRAY_INDEX=3 is outside the manifest's 1 items" in error
    missing = run_cli(["typed", "--manifest", str(tmp_path / "none.json")])
    assert missing.returncode == 66


def test_secret_parameters_are_masked_everywhere() -> None:
    run = run_cli(["typed", "--name", "n", "--token", "hunter2-secret"])
    assert run.returncode == 0
    assert "hunter2-secret" not in run.stdout
    assert run.one("task.started")["params"]["token"] == "***"
    assert run.one("typed.seen")["token_echo"] == "***"


def test_a_bad_secret_value_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    module = tmp_path / "pin_task.py"
    module.write_text(
        "from typing import Annotated\nfrom runtime import Secret, task\n\n"
        "@task\ndef pin(pin: Annotated[int, Secret]) -> int:\n    return pin\n"
    )
    env = base_env(PYTHONPATH=f"{tmp_path}:{base_env()['PYTHONPATH']}", TASK_MODULES="pin_task")
    run = run_cli(["pin", "--pin", "not-a-number-4711"], env)
    assert run.returncode == 64
    assert "not-a-number-4711" not in run.stdout + run.stderr
    assert "--pin: expected an integer, got ***" in run.one("task.failed")["error"]
