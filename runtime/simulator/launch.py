"""One attempt of a job as a process: started through the image's entrypoint, stopped as Batch does.

Batch stops a container with SIGTERM and, 30 seconds later, SIGKILL; `run_attempt` does the
same when the attempt's duration runs out or the local run is interrupted. On this machine
the attempt runs `entrypoint.sh` in its own process group (so a terminal's Ctrl-C reaches the
runner, which decides what the job sees); with an image it runs `podman run` or `docker run`.
Its stdout and stderr come back through pipes, line by line, for the runner to show and record.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from runtime.errors import ExitCode, TaskError

KILL_AFTER_SECONDS = 30.0
POLL_SECONDS = 0.1
EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
INTERRUPTED = "Terminated: batch-task local was interrupted"
PROGRESS_LOG = "BATCH_TASK_PROGRESS_LOG"
CONTAINER_JOB_DIR = "/batch-task-job"
# Lines still in the pipes when the attempt's process has exited are read for this long at most
# (a process the job left behind may hold them open).
DRAIN_SECONDS = 5.0
# What a container gets from the host besides the definition's environment: credentials and
# endpoints (as a job role and VPC endpoints would give them) and the runtime's own settings.
# Variables holding host paths are left out: those paths don't exist inside the container.
PASSTHROUGH = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_LOGS",
    "AWS_EC2_METADATA_DISABLED",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "CLOUDWATCH_LOG_GROUP",
    "CLOUDWATCH_LOG_STREAM",
    "PAPERTRAIL_URL",
    "PROGRESS_URL",
    "PROGRESS_TOKEN",
    "TASK_MODULES",
    "TASK_TIMEOUT",
)


class Unavailable(TaskError):
    """What `local` needs to start a job is missing from this machine."""

    exit_code = ExitCode.UNAVAILABLE


@dataclass
class Attempt:
    """An attempt as `describe-jobs` reports it: times in seconds since the epoch."""

    exit_code: int | None
    started_at: float
    stopped_at: float
    status_reason: str
    reason: str | None = None
    timed_out: bool = False


class Process(Protocol):
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def wait(self) -> int: ...
    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


class Launcher(Protocol):
    def start(
        self, command: Sequence[str], env: Mapping[str, str], name: str, progress_log: Path
    ) -> Process:
        """Start the attempt with its stdout and stderr piped and `PROGRESS_LOG` set."""
        ...


class HostLauncher:
    """Runs the command through entrypoint.sh, with this interpreter first on PATH."""

    def __init__(self, entrypoint: Path) -> None:
        self.entrypoint = entrypoint

    def start(
        self, command: Sequence[str], env: Mapping[str, str], name: str, progress_log: Path
    ) -> Process:
        # A job sees only the AWS_BATCH_* variables of its own attempt, none left in the shell.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_BATCH_")}
        full = {**inherited, **env, PROGRESS_LOG: str(progress_log)}
        python_dir = str(Path(sys.executable).parent)
        full["PATH"] = os.pathsep.join([python_dir, full.get("PATH", os.defpath)])
        proc = subprocess.Popen(
            ["/bin/sh", str(self.entrypoint), *command],
            env=full,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return _Group(proc)


class ContainerLauncher:
    """Runs the command in IMAGE with `podman run` or `docker run` on the host network.

    The definition's resourceRequirements become --cpus and --memory, so a job that Batch would
    kill for its memory is killed here too, and initProcessEnabled becomes --init.
    """

    def __init__(
        self,
        engine: str,
        image: str,
        *,
        init: bool = False,
        vcpus: str | None = None,
        memory_mib: str | None = None,
    ) -> None:
        self.engine = engine
        self.image = image
        self.init = init
        self.limits = [
            *(["--cpus", vcpus] if vcpus else []),
            *(["--memory", f"{memory_mib}m"] if memory_mib else []),
        ]

    def start(
        self, command: Sequence[str], env: Mapping[str, str], name: str, progress_log: Path
    ) -> Process:
        inherited = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        progress_log.chmod(0o666)  # the image's user is not this machine's
        in_container = f"{CONTAINER_JOB_DIR}/{progress_log.name}"
        container_env = {**inherited, **env, PROGRESS_LOG: in_container}
        argv = [self.engine, "run", "--rm", "--network=host", "--name", name, *self.limits]
        argv += ["--volume", f"{progress_log.parent}:{CONTAINER_JOB_DIR}"]
        if self.init:
            argv.append("--init")
        for key in container_env:
            argv += ["--env", key]
        argv += [self.image, *command]
        # Values travel in the engine's environment, never on its command line (`ps` shows that).
        proc = subprocess.Popen(
            argv,
            env={**os.environ, **container_env},
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return _Container(proc, self.engine, name)


class _Group:
    """A process started in its own session: signals go to its whole process group."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def wait(self) -> int:
        return self.proc.wait()

    def poll(self) -> int | None:
        return self.proc.poll()

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)


class _Container(_Group):
    """Signals go to the container by name, whatever the engine does with its own process."""

    def __init__(self, proc: subprocess.Popen[bytes], engine: str, name: str) -> None:
        super().__init__(proc)
        self.engine = engine
        self.name = name

    def _signal(self, signum: int) -> None:
        subprocess.run(
            [self.engine, "kill", "--signal", signal.Signals(signum).name, self.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )


def run_attempt(
    launcher: Launcher,
    command: Sequence[str],
    env: Mapping[str, str],
    name: str,
    timeout: float | None,
    stop: threading.Event,
    progress_log: Path,
    on_line: Callable[[str, str], None],
) -> Attempt:
    """Run one attempt to its end; on timeout or `stop`, SIGTERM and then SIGKILL.

    Each line the attempt writes goes to `on_line(stream, line)` ("stdout" or "stderr", without
    its newline), from a thread per stream, as it is written.
    """
    started = time.time()
    deadline = None if timeout is None else time.monotonic() + timeout
    process = launcher.start(command, env, name, progress_log)
    readers = [
        threading.Thread(target=_pump, args=(pipe, stream, on_line), daemon=True)
        for stream, pipe in (("stdout", process.stdout), ("stderr", process.stderr))
        if pipe is not None
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    term_at: float | None = None
    killed = False
    while process.poll() is None:
        now = time.monotonic()
        if term_at is None and (stop.is_set() or (deadline is not None and now >= deadline)):
            timed_out = not stop.is_set()
            process.terminate()
            term_at = now
        elif term_at is not None and not killed and now - term_at >= KILL_AFTER_SECONDS:
            process.kill()
            killed = True
        time.sleep(POLL_SECONDS)
    code = process.wait()
    drained_by = time.monotonic() + DRAIN_SECONDS
    for reader in readers:
        reader.join(max(0.0, drained_by - time.monotonic()))
    return Attempt(
        exit_code=128 - code if code < 0 else code,
        started_at=started,
        stopped_at=time.time(),
        status_reason=TIMED_OUT if timed_out else INTERRUPTED if term_at is not None else EXITED,
        timed_out=timed_out,
    )


def _pump(pipe: IO[bytes], stream: str, on_line: Callable[[str, str], None]) -> None:
    with pipe:
        for raw in pipe:
            on_line(stream, raw.decode("utf-8", errors="replace").rstrip("\r\n"))


def find_entrypoint() -> Path:
    """The image's entrypoint.sh: beside the source tree, among installed scripts, or in `/`."""
    candidates = [
        Path(__file__).resolve().parents[2] / "entrypoint.sh",
        Path(sysconfig.get_path("scripts")) / "entrypoint.sh",
        Path("/entrypoint.sh"),
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise Unavailable(
        "entrypoint.sh was not found (looked in "
        + ", ".join(str(p.parent) for p in candidates)
        + "): run from a checkout of batch-task, or use --image IMAGE"
    )


def find_engine() -> str:
    for engine in ("podman", "docker"):
        if shutil.which(engine):
            return engine
    raise Unavailable("--image needs podman or docker on PATH; install one, or leave out --image")
