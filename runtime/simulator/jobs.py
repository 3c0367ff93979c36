"""One local job, or one array job and its children, run as AWS Batch would and recorded live.

`local` runs one of these; `workflow local` runs one per node, gating each on its dependencies.
Every change (status, an attempt, a log line) is written to the local state as it happens, so
`status`, `logs` and the board show the job while it runs, under one job id from RUNNABLE on.

    job = submit(definition, params, env=..., array_size=..., depends_on=..., tags=...)
        # recorded: PENDING when it has dependencies, else RUNNABLE
    job.run(stop, slots=..., ready=..., workers=...)   # to SUCCEEDED or FAILED; returns the job
    job.cancel(reason)                    # FAILED without running, e.g. a dependency failed
    job.status, job.status_reason, job.exit_code, job.describe()
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import nullcontext
from typing import Any

from runtime import cgroups
from runtime.batch import jobdef, tasks
from runtime.masking import JobMasks
from runtime.simulator import launch, masking
from runtime.simulator.output import AttemptOutput, note
from runtime.simulator.record import JobRecord, Unit
from runtime.simulator.state import LocalState, child_id

QUEUE = "local"
COMPUTE_ENVIRONMENT = "local"
NOT_STARTED = "Cancelled: batch-task local was interrupted before the job started"
# `ready(array_index)` blocks until the job (or that child) may start; it returns None to start
# it, or a status reason to fail it without running (as Batch fails a job whose dependency did).
Ready = Callable[[int | None], str | None]


class LocalJob:
    """A submitted local job; `children` is empty unless it is an array job."""

    def __init__(
        self,
        definition: jobdef.JobDefinition,
        params: Mapping[str, str],
        command: Sequence[str],
        *,
        job_id: str,
        env: Mapping[str, str],
        array_size: int | None,
        depends_on: Sequence[Mapping[str, str]],
        tags: Mapping[str, str] | None,
        launcher: launch.Launcher,
        state: LocalState,
        masks: JobMasks,
    ) -> None:
        self.definition = definition
        self.command = list(command)
        self.env = dict(env)
        self.launcher = launcher
        self.state = state
        self.masks = masks
        shown = {
            "jobName": definition.name,
            "jobQueue": QUEUE,
            "jobDefinition": definition.name,
            "parameters": masks.parameters,
            "command": masks.command,
            "environment": tasks.loading_environment({**definition.environment, **env}),
            "dependsOn": [dict(d) for d in depends_on],
            "tags": dict(tags or {}),
        }
        status = "PENDING" if depends_on else "RUNNABLE"
        self.main = Unit(job_id, None, status)
        self.children = [Unit(child_id(job_id, i), i, status) for i in range(array_size or 0)]
        self.main.array_size = array_size if self.children else None
        self.record = JobRecord(state, shown, self.main, self.children)

    @property
    def job_id(self) -> str:
        return self.main.job_id

    @property
    def status(self) -> str:
        return self.main.status

    @property
    def status_reason(self) -> str:
        return self.main.status_reason

    @property
    def exit_code(self) -> int:
        """0 on SUCCEEDED; else the last attempt's exit code of the job (of an array job, of
        its lowest-index failed child), or 1 when it has none."""
        if self.status == "SUCCEEDED":
            return 0
        failed = next((c for c in self.children if c.status == "FAILED"), self.main)
        last = failed.attempts[-1].exit_code if failed.attempts else None
        return last or 1

    def describe(self) -> list[dict[str, Any]]:
        """DescribeJobs documents: the job, then each array child in index order."""
        return [self.record.document(u) for u in [self.main, *self.children]]

    def run(
        self,
        stop: threading.Event,
        *,
        slots: threading.Semaphore | None = None,
        ready: Ready | None = None,
        workers: int | None = None,
    ) -> LocalJob:
        """Run to SUCCEEDED or FAILED: an array's children `workers` at a time (default: one
        per usable CPU), each after `ready` lets it start, each attempt holding one of `slots`
        (a limit shared by the jobs of a workflow) while it runs."""
        for unit in [*self.children, self.main]:
            if unit.status == "PENDING":
                self._set(unit, "RUNNABLE", "")
        units = self.children or [self.main]
        workers = min(len(units), workers or cgroups.usable_cpus())
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job") as pool:
            futures = [pool.submit(self._run_unit, u, stop, slots, ready) for u in units]
            while wait(futures, timeout=launch.POLL_SECONDS).not_done:
                self.record.flush()
            for future in futures:
                future.result()
        self.record.flush()
        return self

    def cancel(self, reason: str) -> None:
        """Fail the job without running it, as Batch fails one whose dependency failed."""
        for unit in [*self.children, self.main]:
            self._set(unit, "FAILED", reason)

    def _run_unit(
        self,
        unit: Unit,
        stop: threading.Event,
        slots: threading.Semaphore | None,
        ready: Ready | None,
    ) -> None:
        """Attempts until one succeeds, a rule says EXIT, the attempts run out, or a timeout."""
        blocked = ready(unit.array_index) if ready is not None else None
        if blocked is not None:
            self._set(unit, "FAILED", blocked)
            return
        definition = self.definition
        for number in range(1, definition.attempts + 1):
            with slots or nullcontext():
                if stop.is_set():
                    break
                attempt = self._attempt(unit, number, stop)
            if attempt.exit_code == 0:
                self._set(unit, "SUCCEEDED", attempt.status_reason)
                return
            action = definition.action_after(
                attempt.exit_code, attempt.status_reason, attempt.reason
            )
            retry = (
                action == "RETRY"
                and number < definition.attempts
                and not attempt.timed_out
                and not stop.is_set()
            )
            note(
                f"job {unit.job_id} attempt {number} exited {attempt.exit_code} "
                f"({attempt.status_reason}): " + ("retrying" if retry else "no retry")
            )
            if not retry:
                break
            self._set(unit, "RUNNABLE", attempt.status_reason)
        self._set(unit, "FAILED", unit.attempts[-1].status_reason if unit.attempts else NOT_STARTED)

    def _attempt(self, unit: Unit, number: int, stop: threading.Event) -> launch.Attempt:
        self._set(unit, "RUNNING", "")
        env = {**self.definition.environment, **self.env, **_batch_env(unit, number)}
        name = f"batch-task-{unit.job_id.replace(':', '-')}-{number}"
        progress_log = self.state.progress_log(unit.job_id)
        with self.state.log_writer(unit.job_id) as write_event:
            output = AttemptOutput(
                write_event,
                self.masks.redact,
                unit.job_id,
                number,
                tasks.name_of(self.command),
                unit.array_index,
            )
            attempt = launch.run_attempt(
                self.launcher,
                self.command,
                env,
                name,
                self.definition.attempt_seconds,
                stop,
                progress_log,
                output,
            )
        unit.attempts.append(attempt)
        return attempt

    def _set(self, unit: Unit, status: str, reason: str) -> None:
        self.record.set(unit, status, reason)


def submit(
    definition: jobdef.JobDefinition,
    params: Mapping[str, str],
    *,
    env: Mapping[str, str] | None = None,
    job_id: str | None = None,
    array_size: int | None = None,
    command: Sequence[str] | None = None,
    depends_on: Sequence[Mapping[str, str]] = (),
    tags: Mapping[str, str] | None = None,
    launcher: launch.Launcher | None = None,
    state: LocalState | None = None,
) -> LocalJob:
    """Record a job as SubmitJob would create it, and return it to `run` (nothing runs yet).

    `params` fill the definition's `Ref::`s (UsageError, nothing recorded, when they don't fit);
    `command` replaces the resulting command (containerOverrides.command); `env` goes over the
    definition's environment; `depends_on` is recorded as Batch's `dependsOn` (the caller waits
    on it); `tags` are recorded as the job's tags (`batch-task:run-id` for a workflow's jobs).
    """
    resolved = list(command) if command is not None else definition.command_for(params)
    env = dict(env or {})
    masks = masking.for_job(definition, params, resolved, env)
    return LocalJob(
        definition,
        params,
        resolved,
        job_id=job_id or str(uuid.uuid4()),
        env=env,
        array_size=array_size,
        depends_on=depends_on,
        tags=tags,
        launcher=launcher or launch.HostLauncher(launch.find_entrypoint()),
        state=state or LocalState.from_env(),
        masks=masks,
    )


def _batch_env(unit: Unit, attempt: int) -> dict[str, str]:
    env = {
        "AWS_BATCH_JOB_ID": unit.job_id,
        "AWS_BATCH_JOB_ATTEMPT": str(attempt),
        "AWS_BATCH_JQ_NAME": QUEUE,
        "AWS_BATCH_CE_NAME": COMPUTE_ENVIRONMENT,
    }
    if unit.array_index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(unit.array_index)
    return env
