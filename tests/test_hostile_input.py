"""Hostile input (issue 13): every document and URI a user hands in gets a documented exit code
and a message naming it, never a traceback, a hang or unbounded memory.

Each runs the real CLI (tests/bounded_cli.py): AWS at a closed port unless moto, 1 GiB, 30 s.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.bounded_cli import assert_clean, closed_port_env, failure, refused, run_bounded
from tests.conftest import ROOT, base_env

MIB = 1024 * 1024
REQUIRED = ["--source", "in.tif", "--destination", "out.tif"]


# --- the five examples of issue 13 -------------------------------------------------------------


def test_export_params_of_5000_characters_is_a_usage_error() -> None:
    """Was: exit 1, `OSError: File name too long` traceback."""
    message = refused(["export", "--params", "a" * 5000], 64, "--params", "too long")
    assert len(message) < 400, "one bad input is one short line, not 5,000 characters"


@pytest.mark.parametrize("flag", ["--source", "--destination"])
def test_an_over_long_source_or_destination_is_a_usage_error(tmp_path: Path, flag: str) -> None:
    """Was: exit 70, `OSError: File name too long` inside the task."""
    args = {"--source": str(ROOT / "tests" / "data" / "RGB.byte.tif")}
    args["--destination"] = str(tmp_path / "out.tif")
    args[flag] = str(tmp_path / ("a" * 300))
    refused(["ingest", *(x for pair in args.items() for x in pair)], 64, "too long")


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        ("s3://", "names no bucket"),
        ("s3:///key.json", "names no bucket"),
        ("s3://bucket", "no object"),
        ("s3://bucket/", "no object"),
        ("s3://bad bucket/m.json", "not a valid S3 bucket name"),
        ("s3://bucket/" + "k" * 1100, "S3 keys hold at most 1024 bytes"),
    ],
)
def test_ingest_manifest_s3_uri_that_names_nothing_is_a_usage_error(uri: str, phrase: str) -> None:
    """Was: exit 1, botocore `ParamValidationError` traceback."""
    refused(["ingest", "--manifest", uri, *REQUIRED], 64, "--manifest", phrase)


def test_ingest_manifest_dev_zero_is_refused_in_bounded_memory() -> None:
    """Was: exit 1, `MemoryError` after reading /dev/zero without a bound."""
    refused(
        ["ingest", "--manifest", "file:///dev/zero", *REQUIRED],
        65,
        "'file:///dev/zero' is a character device",
        AWS_BATCH_JOB_ARRAY_INDEX="0",
    )


def test_local_with_a_binary_file_is_bad_input(tmp_path: Path) -> None:
    """Was: exit 1, `UnicodeDecodeError` traceback."""
    binary = tmp_path / "definition.json"
    binary.write_bytes(bytes(range(256)) * 4)
    refused(["local", str(binary)], 65, "job definition", "binary data", "offset 0")


# --- every kind of hostile document ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "phrase"),
    [("FIFO", "named pipe"), ("/dev/zero", "character device"), ("BINARY", "binary data")],
)
def test_workflow_files_are_read_bounded(tmp_path: Path, name: str, phrase: str) -> None:
    """Was: `workflow validate` hung on a FIFO or /dev/zero and crashed (70) on binary bytes."""
    path = {"FIFO": tmp_path / "flow.yaml", "BINARY": tmp_path / "flow.bin"}.get(name)
    if name == "FIFO":
        os.mkfifo(tmp_path / "flow.yaml")
    elif name == "BINARY":
        (tmp_path / "flow.bin").write_bytes(bytes(range(256)))
    refused(["workflow", "validate", str(path or name)], 64, "workflow file", phrase)


def test_a_yaml_bomb_in_a_workflow_file_is_refused(tmp_path: Path) -> None:
    """Was: `workflow validate` ran until killed on nine aliases nested nine deep."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["name: bomb", "nodes:", "  x:", "    task: echo", "    params: {message: *a8}"]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    refused(["workflow", "validate", str(tmp_path / "bomb.yaml")], 64, "YAML aliases")


def test_export_aoi_from_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "aoi.geojson"
    os.mkfifo(fifo)
    args = ["--source", str(ROOT / "tests" / "data" / "RGB.byte.tif")]
    args += ["--destination", str(tmp_path / "out.tif"), "--aoi", str(fifo)]
    refused(["export", *args], 65, "--aoi file", "named pipe")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "params.fifo"
    os.mkfifo(fifo)
    refused(["typed", "--params", f"@{fifo}"], 65, "--params", "named pipe (FIFO)")
    refused(["local", str(fifo)], 65, "named pipe")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    refused(
        ["typed", "--manifest", str(tmp_path)],
        65,
        "a directory, not a file",
        AWS_BATCH_JOB_ARRAY_INDEX="0",
    )
    refused(["local", str(tmp_path)], 65, "a directory")


def test_a_17_mib_document_is_too_large(tmp_path: Path) -> None:
    big = tmp_path / "params.json"
    big.write_text(json.dumps({"name": "x" * (17 * MIB)}))
    refused(["typed", "--params", f"@{big}"], 65, "--params", "bytes", "16 MiB")


def test_a_missing_document_is_not_found(tmp_path: Path) -> None:
    refused(["typed", "--params", f"@{tmp_path}/none.json"], 66, "does not exist")
    refused(["typed", "--params", f"{tmp_path}/dir/none.json"], 66, "does not exist")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_document_is_permission_denied(tmp_path: Path) -> None:
    secret = tmp_path / "p.json"
    secret.write_text("{}")
    secret.chmod(0)
    refused(["typed", "--params", f"@{secret}"], 77, "permission denied")


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ('{"name": "caf\u00e9"}'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 13)"),
        ('{"name": "x"}'.encode("utf-16"), "is UTF-16 text: save it as UTF-8"),
        (b'{"name": "x"}\x00', "binary data (a NUL byte at offset 13)"),
    ],
    ids=["latin-1", "utf-16", "nul"],
)
def test_text_that_is_not_utf8_is_bad_input(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    refused(["typed", "--params", f"@{path}"], 65, phrase)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'\xef\xbb\xbf{"name": "bom"}')
    outcome = run_bounded(["typed", "--params", f"@{path}"])
    assert_clean(outcome, 0)


def test_an_argument_that_is_not_utf8_is_a_usage_error() -> None:
    refused(["typed", "--name", b"caf\xe9"], 64, "argument 3 is not UTF-8 text (byte 0xe9")


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--params", '{"name": "\\ud800"}'], "lone surrogate"),
        (["--name", "n", "--items", "[" * 100_000], "nested too deeply"),
        (["--params", '{"name": "n", "count": ' + "9" * 5000 + "}"], "--params is not valid"),
        (["--name", "n", "--ratio", "nan"], "expected a finite number"),
        (["--name", "n", "--ratio", "1e999"], "expected a finite number"),
        (["--=x", "--name", "n"], "names no parameter"),
        (["--name", "n", "--" + "x" * 5000, "1"], "unknown parameter"),
    ],
    ids=["surrogate", "nesting", "huge-int", "nan", "inf", "empty-flag", "long-flag"],
)
def test_hostile_values_are_usage_errors(args: list[str], phrase: str) -> None:
    message = refused(["typed", *args], 64, phrase)
    assert len(message) < 1000


def test_an_empty_schedule_name_is_a_usage_error() -> None:
    """Was: exit 70, botocore's ParamValidationError from DeleteSchedule."""
    refused(["schedule", "delete", ""], 64, "DeleteSchedule() can't be sent")


def test_an_unresolved_placeholder_for_params_or_manifest_means_not_given() -> None:
    outcome = run_bounded(
        ["typed", "--params", "Ref::params", "--manifest", "Ref::manifest", "--name", "n"]
    )
    assert_clean(outcome, 0)


def test_a_bug_is_exit_70_in_one_line(tmp_path: Path) -> None:
    """The top-level guard: a task module with an annotation the parser can't handle is a bug
    in that module, reported in one line that says what and where."""
    (tmp_path / "bad_annotation.py").write_text(
        "from runtime import task\n\n@task\ndef odd(values: set[int]) -> None:\n    pass\n"
    )
    env = closed_port_env(PYTHONPATH=f"{tmp_path}:{ROOT}", TASK_MODULES="bad_annotation")
    for args in (["describe", "odd"], ["odd", "--values", "1"]):
        outcome = run_bounded(args, env)
        assert outcome.returncode == 70, outcome.explain()
        assert "Traceback" not in outcome.output
        lines = outcome.stderr.strip().splitlines()
        assert len(lines) == 1, outcome.explain()
        assert "internal error (a bug, exit 70): TypeError: unsupported parameter type" in lines[0]
        assert "convert.py:" in lines[0]


@pytest.mark.parametrize(
    ("document", "phrase"),
    [
        (
            {
                "jobDefinitionName": "x",
                "containerProperties": {"command": ["echo"], "resourceRequirements": 4},
            },
            "resourceRequirements must be a list",
        ),
        (
            {
                "jobDefinitionName": "x",
                "containerProperties": {"command": ["echo"]},
                "retryStrategy": {"evaluateOnExit": [{"action": "EXIT", "onExitCode": 75}]},
            },
            "must be text",
        ),
        ([[[[[]]]]], "must be a JSON object"),
    ],
    ids=["resources", "exit-code-number", "not-an-object"],
)
def test_a_hostile_job_definition_is_a_usage_error(
    tmp_path: Path, document: Any, phrase: str
) -> None:
    path = tmp_path / "def.json"
    path.write_text(json.dumps(document))
    refused(["local", str(path)], 64, phrase)
    path.write_text("[" * 100_000)
    refused(["local", str(path)], 64, "nested too deeply")


# --- documents from S3 and HTTP --------------------------------------------------------------


def test_a_17_mib_document_on_s3_is_refused_before_it_is_read(
    s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    s3.put_object(Bucket=bucket, Key="big.json", Body=b" " * (17 * MIB))
    outcome = run_bounded(["typed", "--params", f"s3://{bucket}/big.json"], base_env(**aws_env))
    assert_clean(outcome, 65)
    assert "17,825,792 bytes" in failure(outcome)


def test_s3_at_a_closed_port_is_temporary() -> None:
    refused(["typed", "--params", "s3://bucket/p.json"], 75, "could not be reached")


@pytest.mark.parametrize(
    ("path", "code", "phrase"),
    [
        ("/big-declared", 65, "17,825,792 bytes"),
        ("/big-chunked", 65, "more than 16 MiB"),
        ("/to-metadata", 65, "redirects to a URL that is refused"),
        ("/binary", 65, "binary data"),
        ("/missing", 66, "does not exist (HTTP 404)"),
        ("/broken", 75, "HTTP 503"),
    ],
)
def test_documents_over_http(documents_http: str, path: str, code: int, phrase: str) -> None:
    refused(["typed", "--params", f"{documents_http}{path}"], code, phrase)


def test_a_document_over_http_is_read(documents_http: str) -> None:
    outcome = run_bounded(["typed", "--params", f"{documents_http}/params.json"])
    assert_clean(outcome, 0)
    assert '"name": "from-http"' in outcome.stdout


@pytest.mark.parametrize(
    ("uri", "code", "phrase"),
    [
        ("http://127.0.0.1:99999/p.json", 64, "invalid port"),
        ("http:///p.json", 64, "names no host"),
        ("https://" + "a" * 70 + ".example/p.json", 64, "not a valid host name"),
        ("http://[::1/p.json", 64, "not a valid URI"),
        ("http://169.254.169.254/latest/meta-data/", 65, "link-local"),
        ("/vsicurl/http://x/p.json", 65, "/vsi"),
        ("ftp://host/p.json", 65, "unsupported scheme"),
        ("S3://bucket/p.json", 64, "write the scheme in lowercase, s3://"),
    ],
)
def test_uris_that_name_nothing_or_are_refused(uri: str, code: int, phrase: str) -> None:
    refused(["typed", "--params", uri], code, phrase)
