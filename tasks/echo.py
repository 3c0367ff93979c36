"""A diagnostic task: proves that an image, its job definition, logs and progress work."""

from __future__ import annotations

from runtime import TaskContext, task


@task
def echo(
    ctx: TaskContext, message: str = "hello from batch-task", steps: int = 5, delay: float = 0.0
) -> dict[str, object]:
    """Log a message and report progress in steps; return the message and the job.

    Args:
        message: text to log and return.
        steps: how many progress steps to report.
        delay: seconds to wait between steps (cancellable).
    """
    ctx.log.info("echo", message=message)
    for step in range(1, steps + 1):
        if ctx.wait(delay):
            ctx.check_cancelled()
        ctx.progress(step / steps, stage="echo", message=f"step {step} of {steps}")
    return {
        "message": message,
        "job_id": ctx.job.job_id,
        "attempt": ctx.job.attempt,
        "array_index": ctx.job.array_index,
    }
