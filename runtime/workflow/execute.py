"""Run compiled jobs on this machine through the Batch simulator, with Batch's dependencies.

Each node's job is submitted to the simulator up front (recorded PENDING with its `dependsOn`
and the run's tag) and driven by a thread of its own: it waits for the nodes it depends on
as a whole, is cancelled (FAILED, with a reason naming the dependency) when one of them
failed, and otherwise runs as `batch-task local` runs a job. An `N_TO_N` dependency is waited
for child by child: child i starts when child i of the other node succeeded, and only child
i's failure stops it. One semaphore of `parallel` slots, shared by every job of the run,
bounds how many attempts run at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.simulator import jobs as simulator
from runtime.workflow import compile
from runtime.workflow.plan import Plan

RUN_TAG = "batch-task:run-id"
POLL_SECONDS = 0.1
TERMINAL = ("SUCCEEDED", "FAILED")


@dataclass
class NodeJob:
    """The job a node makes in this execution, what it compiled to, and its simulator job."""

    node: str
    job_id: str
    compiled: compile.CompiledJob
    parameters: dict[str, str]
    local: simulator.LocalJob | None = None
    done: threading.Event = field(default_factory=threading.Event)


def child_by_child(plan: Plan, jobs: dict[str, NodeJob], name: str, dep: str) -> bool:
    """N_TO_N holds when both jobs are arrays over the same items of the same manifest."""
    mine, theirs = jobs[name].compiled, jobs[dep].compiled
    return (
        dep in plan.nodes[name].n_to_n and bool(mine.array_size) and mine.indexes == theirs.indexes
    )


def submit(plan: Plan, jobs: dict[str, NodeJob], env: dict[str, str]) -> None:
    """Record every job as SubmitJob would create it, dependencies included."""
    for name in plan.order:
        if name not in jobs:
            continue
        job = jobs[name]
        definition = plan.nodes[name].definition
        depends_on = [
            {
                "jobId": jobs[d].job_id,
                "type": "N_TO_N" if child_by_child(plan, jobs, name, d) else "SEQUENTIAL",
            }
            for d in plan.nodes[name].depends_on
            if d in jobs
        ]
        command = [*definition.command_for(job.parameters), *job.compiled.extra_args]
        job.local = simulator.submit(
            definition,
            job.parameters,
            env=env,
            job_id=job.job_id,
            array_size=job.compiled.array_size,
            command=command,
            depends_on=depends_on,
            tags={RUN_TAG: plan.run_id},
        )


def run(
    plan: Plan,
    jobs: dict[str, NodeJob],
    parallel: int,
    stop: threading.Event,
    on_change: Callable[[], None],
    env: dict[str, str],
) -> None:
    """Run every job to its end; `on_change()` is called when a job ends and once a second.
    `env` goes over each job definition's environment, as `local -e` does."""
    submit(plan, jobs, env)
    on_change()
    slots = threading.Semaphore(max(1, parallel))
    threads = [
        threading.Thread(
            target=_drive, args=(plan, jobs, name, slots, parallel, stop), name=f"wf-{name}"
        )
        for name in plan.order
        if name in jobs
    ]
    for thread in threads:
        thread.start()
    ended = 0
    next_refresh = time.monotonic() + 1.0
    while any(t.is_alive() for t in threads):
        time.sleep(POLL_SECONDS)
        now_ended = sum(j.done.is_set() for j in jobs.values())
        if now_ended != ended or time.monotonic() >= next_refresh:
            ended, next_refresh = now_ended, time.monotonic() + 1.0
            on_change()
    for thread in threads:
        thread.join()
    on_change()


def _drive(
    plan: Plan,
    jobs: dict[str, NodeJob],
    name: str,
    slots: threading.Semaphore,
    parallel: int,
    stop: threading.Event,
) -> None:
    job = jobs[name]
    local = job.local
    assert local is not None
    try:
        whole = [
            d
            for d in plan.nodes[name].depends_on
            if d in jobs and not child_by_child(plan, jobs, name, d)
        ]
        for dep in whole:
            while not jobs[dep].done.wait(POLL_SECONDS) and not stop.is_set():
                pass
        failed = next((d for d in whole if _status(jobs[d]) != "SUCCEEDED"), None)
        if failed is not None:
            local.cancel(_dependency_reason(jobs[failed], failed, None))
            return
        pairs = [d for d in plan.nodes[name].depends_on if d in jobs and d not in whole]
        local.run(stop, slots=slots, ready=_ready(jobs, pairs, stop), workers=parallel)
    finally:
        job.done.set()


def _ready(
    jobs: dict[str, NodeJob], pairs: list[str], stop: threading.Event
) -> Callable[[int | None], str | None]:
    """Gate child i on child i of each N_TO_N dependency."""

    def ready(index: int | None) -> str | None:
        for dep in pairs:
            other = jobs[dep].local
            assert other is not None and index is not None
            child = other.children[index]
            while child.status not in TERMINAL:
                if stop.is_set():
                    return None
                time.sleep(POLL_SECONDS)
            if child.status != "SUCCEEDED":
                return _dependency_reason(jobs[dep], dep, index)
        return None

    return ready


def _status(job: NodeJob) -> str:
    return job.local.status if job.local is not None else "FAILED"


def _dependency_reason(job: NodeJob, node: str, index: int | None) -> str:
    if job.local is None or (_status(job) != "FAILED" and index is None):
        return "Cancelled: the workflow run was interrupted before the job started"
    child = "" if index is None else f" child {index}"
    job_id = job.job_id if index is None else f"{job.job_id}:{index}"
    return f"Dependency failed: node {node!r}{child} (job {job_id}) ended FAILED"


def exit_code(plan: Plan, jobs: dict[str, NodeJob]) -> int:
    """0 when every job succeeded, else the first failed node's in file order (for an array,
    its lowest-index failed child's); a node that ran goes before one cancelled by another."""
    failed = [
        jobs[n].local
        for n in plan.nodes
        if n in jobs and jobs[n].local is not None and _status(jobs[n]) != "SUCCEEDED"
    ]
    if not failed:
        return 0
    ran = [j for j in failed if j is not None and _ran(j)]
    first = (ran or failed)[0]
    assert first is not None
    return first.exit_code


def _ran(job: simulator.LocalJob) -> bool:
    return any(unit.attempts for unit in [job.main, *job.children])
