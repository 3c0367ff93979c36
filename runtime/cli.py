"""The `batch-task` command line: which command or task the arguments name, and nothing more.

Kept light on purpose: `--help`, `--version`, `list` and `describe` import neither boto3 nor
rasterio, so the container answers them at Python's start-up speed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import runtime
from runtime import registry
from runtime.errors import ExitCode, TaskError, UsageError, classify

SIGPIPE_EXIT = 128 + 13
USAGE = """\
usage: batch-task TASK [--name value]...        run a task (same as `run TASK`)
       batch-task run TASK [--name value]...
       batch-task list [--json]                  the registered tasks
       batch-task describe TASK [--json]         a task's parameters
       batch-task doctor                         check GDAL, scratch, AWS and every sink
       batch-task local JOBDEF.json [-p NAME=VALUE]... [--array-size N] [--image IMAGE]
                                                 run a job definition as AWS Batch would
       batch-task submit JOBDEF --queue Q [-p NAME=VALUE]... [--array-size N | --manifest URI]
                  [--depends-on JOB_ID] [--dry-run]   validate, then SubmitJob
       batch-task schedule create NAME --expression EXPR JOBDEF --queue Q [-p ...] --role-arn ARN
       batch-task schedule list | schedule delete NAME   EventBridge Scheduler
       batch-task status JOB_ID [--json]         Batch status with the latest progress
       batch-task logs JOB_ID [--follow]         the job's log events from CloudWatch
       batch-task workflow validate|local|submit|status|resume ...   a graph of jobs
       batch-task board [--port N] [--queue Q]... [--local] [--state URI]   the job board
       batch-task --version | --help

Parameters: --name value or --name=value (--dst-crs and --dst_crs are the same);
  lists by repeating the flag or as one JSON array; --params JSON|@file|s3://|https://
  for a JSON object of parameters (flags override it); --manifest URI with
  AWS_BATCH_JOB_ARRAY_INDEX for array jobs.
Exit codes: 0 ok, 64 usage, 65 bad input, 66 input not found, 69 unreachable (doctor),
  70 bug, 73 output, 75 temporary (retry), 77 permission denied, 124 TASK_TIMEOUT,
  130/143 SIGINT/SIGTERM, 137 killed (out of memory), 139 crashed (e.g. in GDAL).
Environment: docs/environment.md; writing a task: docs/cli.md; all of it: docs/index.md.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; whatever happens, the answer is an exit code from SPEC's table and
    at most one line on stderr, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args)
    except TaskError as exc:
        print(f"batch-task: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("batch-task: interrupted", file=sys.stderr)
        return ExitCode.SIGINT
    except BrokenPipeError:
        # The reader went away (`batch-task describe x | head -1`): not a bug. Point stdout at
        # /dev/null so the interpreter's final flush is quiet, and exit as SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_EXIT
    except Exception as exc:
        kind = classify(exc)
        if kind is not None:  # AWS or the network said no: not a bug, and it has its code
            print(f"batch-task: {type(exc).__name__}: {exc}", file=sys.stderr)
            return int(kind.exit_code)
        print(bug_report(exc), file=sys.stderr)
        return ExitCode.SOFTWARE


def bug_report(exc: BaseException) -> str:
    """One line for an exception nobody expected: what it was and where, so that a report of
    it can be acted on without a traceback in front of a user."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    detail = " ".join(str(exc).split())
    if len(detail) > 200:
        detail = detail[:197] + "..."
    return (
        f"batch-task: internal error (a bug, exit 70): {type(exc).__name__}: {detail}{where}; "
        "please report it with the command that caused it"
    )


def _dispatch(args: list[str]) -> int:
    _refuse_undecodable(args)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return ExitCode.OK if args else ExitCode.USAGE
    if args[0] in ("-V", "--version"):
        print(f"batch-task {runtime.__version__}")
        return ExitCode.OK
    command, rest = args[0], args[1:]
    handler = COMMANDS.get(command)
    if handler is not None:
        return handler(rest)
    if command in registry.RESERVED:
        raise UsageError(f"`{command}` is not available in this version of batch-task")
    if command.startswith("-"):
        raise UsageError(f"unknown option {command!r}; see `batch-task --help`")
    return _run([command, *rest])


def _refuse_undecodable(args: list[str]) -> None:
    """Arguments that were not UTF-8 reach Python as lone surrogates, which no log line, JSON
    document or AWS request can carry: refuse them here rather than fail later as a bug."""
    for number, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(
                f"argument {number} is not UTF-8 text (byte 0x{ord(arg[exc.start]) & 0xFF:02x} "
                f"at position {exc.start}); batch-task takes UTF-8 arguments"
            ) from None


def _run(args: list[str]) -> int:
    if not args:
        raise UsageError("`run` needs a task name; `batch-task list` shows them")
    task = registry.get(args[0], os.environ)
    if any(a in ("-h", "--help") for a in args[1:]):
        print(_describe_text(task))
        return ExitCode.OK
    from runtime import lifecycle

    return lifecycle.run(task, args[1:], os.environ)


def _list(args: list[str]) -> int:
    as_json = _only_flag(args, "list")
    tasks = registry.load(os.environ)
    if as_json:
        print(
            json.dumps([{"name": t.name, "summary": t.summary} for t in tasks.values()], indent=2)
        )
    else:
        width = max((len(name) for name in tasks), default=0)
        for task in tasks.values():
            print(f"{task.name:<{width}}  {task.summary}")
    return ExitCode.OK


def _describe(args: list[str]) -> int:
    names = [a for a in args if a != "--json"]
    if len(names) != 1:
        raise UsageError("usage: batch-task describe TASK [--json]")
    task = registry.get(names[0], os.environ)
    if "--json" in args:
        print(
            json.dumps(
                {
                    "name": task.name,
                    "summary": task.summary,
                    "description": task.description,
                    "parameters": [p.describe() for p in task.params],
                },
                indent=2,
            )
        )
    else:
        print(_describe_text(task))
    return ExitCode.OK


def _describe_text(task: registry.Task) -> str:
    lines = [f"batch-task {task.name} [--name value]...", "", task.description, "", "parameters:"]
    for p in task.params:
        d = p.describe()
        notes = ["required" if p.required else f"default {json.dumps(d['default'])}"]
        if p.secret:
            notes.append("secret")
        lines.append(f"  {p.flag} ({p.type_name}; {', '.join(notes)})")
        if p.help:
            lines.append(f"      {p.help}")
    return "\n".join(lines)


def _only_flag(args: list[str], command: str) -> bool:
    if any(a != "--json" for a in args):
        raise UsageError(f"usage: batch-task {command} [--json]")
    return bool(args)


def _lazy(module: str) -> Callable[[list[str]], int]:
    """A command whose module (and its boto3 or rasterio) is imported only when it runs."""

    def command(args: list[str]) -> int:
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (exc.name and (module == exc.name or module.startswith(exc.name + "."))):
                raise
            word = next(name for name, handler in COMMANDS.items() if handler is command)
            raise UsageError(
                f"`{word}` is not available in this installation of batch-task ({module} is "
                "missing); see `batch-task --help`"
            ) from None
        return int(loaded.main(args))

    return command


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": _run,
    "list": _list,
    "describe": _describe,
    "doctor": _lazy("runtime.doctor"),
    "local": _lazy("runtime.simulator.local"),
    "submit": _lazy("runtime.ops.submit"),
    "schedule": _lazy("runtime.ops.schedule"),
    "status": _lazy("runtime.ops.status"),
    "logs": _lazy("runtime.ops.joblogs"),
    "workflow": _lazy("runtime.workflow.cli"),
    "board": _lazy("runtime.board.cli"),
}
