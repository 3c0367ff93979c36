"""Which of a local job's values are secret, so that nothing `local` prints or records shows one.

The job definition does not say which parameters are secret; the task's signature does
(`Annotated[str, Secret]`). So the task is loaded as the job will load it (runtime.batch.tasks),
and its secrets are masked as everywhere else (runtime.masking): in `parameters` and
`container.command` where they stand, and in the lines the job writes. A task that can't be
loaded gives no answer, so then every parameter value is treated as secret.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace

from runtime.batch import jobdef
from runtime.errors import TaskError
from runtime.masking import JobMasks, TaskSecrets, mask_job, secrets_of
from runtime.simulator.output import note


def for_job(
    definition: jobdef.JobDefinition,
    given: Mapping[str, str],
    command: Sequence[str],
    env: Mapping[str, str],
) -> JobMasks:
    """The masks for a job running `command`, its `Ref::`s filled from `given` and defaults,
    with `env` over the definition's environment (as `-e` and containerOverrides)."""
    # A task module may print while it is imported; what it prints (this process's command line
    # with its -p values, say) is shown once the masks are known.
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(printed):
        secrets, problem = _secrets(definition, command, env)
    masks = mask_job(command, {**definition.defaults, **given}, secrets, definition.command)
    sys.stderr.write(masks.redact(printed.getvalue()))
    if problem:
        note(f"{masks.redact(problem)}; every parameter is masked in what is shown and recorded")
    return masks


def _secrets(
    definition: jobdef.JobDefinition, command: Sequence[str], env: Mapping[str, str]
) -> tuple[TaskSecrets | None, str]:
    """The task's secrets, or None and why when its task can't be loaded."""
    try:
        task = replace(definition, environment={**definition.environment, **env}).task(command)
    except TaskError as exc:
        return None, str(exc)
    return secrets_of(task.params), ""
