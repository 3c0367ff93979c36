"""`barrier`: a job that does nothing, so that a workflow can wait for more than 20 jobs.

AWS Batch lets a job depend on at most 20 others. A workflow's wider fan-in waits on small
barrier jobs, each depending on up to 20 jobs; Batch fails a barrier when one of its
dependencies fails, and that failure reaches the node waiting behind it.
"""

from __future__ import annotations

from runtime import task


@task
def barrier() -> dict:
    """Wait for dependencies: succeeds at once, used by workflows for fan-ins wider than 20."""
    return {}
