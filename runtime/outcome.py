"""How a run ended, as the one `task.succeeded` or `task.failed` event and its exit code.

Every way a run can end has a constructor here, so that the supervisor's loop reads as a list
of cases: the task returned or raised (`reported`), it was cancelled (`cancelled`), its process
died of a signal (`died`), or it exited without a word (`vanished`).
"""

from __future__ import annotations

import json
import signal
import traceback
from dataclasses import dataclass
from typing import Any

from runtime.errors import ExitCode, TaskError, classify

# Signals that mean the process was stopped from outside (the OOM killer sends SIGKILL);
# any other fatal signal is the process's own crash, most often in native code.
_KILLED = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE})

CANCELLED = {
    signal.SIGTERM: (ExitCode.SIGTERM, "Interrupted", "received SIGTERM", True),
    signal.SIGINT: (ExitCode.SIGINT, "Interrupted", "received SIGINT", False),
}


@dataclass
class Outcome:
    exit_code: int
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    retryable: bool = False
    exception: str | None = None
    """The traceback text of a bug, shown once in `task.failed`."""
    signal: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error_type is None

    @classmethod
    def of_result(cls, result: Any) -> Outcome:
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            return cls(
                ExitCode.SOFTWARE,
                error_type="ResultNotSerializable",
                error=f"the task returned a value that is not JSON-serialisable: {exc}",
            )
        return cls(ExitCode.OK, result=result)

    @classmethod
    def of_exception(cls, exc: BaseException) -> Outcome:
        kind = classify(exc)
        text = "".join(traceback.format_exception(exc))
        if kind is None:
            return cls(
                ExitCode.SOFTWARE,
                error_type=type(exc).__name__,
                error=f"unexpected {type(exc).__name__}: {exc}",
                exception=text,
            )
        return cls(
            kind.exit_code,
            error_type=kind.__name__,
            error=str(exc),
            retryable=kind.retryable,
            exception=None if isinstance(exc, TaskError) else text,
        )

    @classmethod
    def cancelled(cls, signum: int) -> Outcome:
        code, kind, message, retryable = CANCELLED[signal.Signals(signum)]
        return cls(code, error_type=kind, error=message, retryable=retryable)

    @classmethod
    def timed_out(cls, timeout: float) -> Outcome:
        return cls(
            ExitCode.TIMEOUT, error_type="Timeout", error=f"TASK_TIMEOUT of {timeout:g} s reached"
        )

    @classmethod
    def died(cls, signum: int) -> Outcome:
        """The task's process ended by a signal: no Python code of its own ran to report it."""
        name = _signal_name(signum)
        if signum in _KILLED:
            kind = "Killed"
            why = (
                "the task's process was killed by SIGKILL (in a container, almost always the "
                "out-of-memory killer: raise the job's memory or lower GDAL_CACHEMAX)"
                if signum == signal.SIGKILL
                else f"the task's process was killed by {name}"
            )
        else:
            kind = "Crashed"
            why = f"the task's process crashed with {name} (in native code, e.g. inside GDAL)"
        return cls(128 + signum, error_type=kind, error=why, signal=name)

    @classmethod
    def vanished(cls, status: int) -> Outcome:
        return cls(
            ExitCode.SOFTWARE,
            error_type="Exited",
            error=f"the task's process exited with status {status} before reporting an outcome",
        )


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
