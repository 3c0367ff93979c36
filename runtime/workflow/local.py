"""`workflow local FLOW`: run the graph on this machine through the Batch simulator.

Each job runs as `batch-task local` runs it (retries, timeouts, arrays with
AWS_BATCH_JOB_ARRAY_INDEX), recorded under BATCH_TASK_HOME with the run's tag; the run
record is rewritten whenever a job ends, so `workflow status` and the board follow it live.
Job output and notes go to stderr; stdout gets each node's final status, then the run id as
its last line, so `RUN=$(batch-task workflow local ... | tail -1)` works.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from runtime import cgroups
from runtime.errors import UsageError
from runtime.ops.arguments import Parser, add_env, pairs
from runtime.simulator.local import interrupts
from runtime.workflow import compile, execute, record, status
from runtime.workflow.plan import Plan, make
from runtime.workflow.store import Store


def main(args: list[str]) -> int:
    parser = Parser(prog="batch-task workflow local", description=__doc__)
    parser.add_argument("flow", metavar="FLOW", help="the workflow file (YAML or JSON)")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--parallel", type=int, default=None, metavar="N", help="jobs at once (default: CPUs)"
    )
    add_env(parser, "environment over every job definition's, as for `local` (kept for resume)")
    ns = parser.parse_args(args)
    if ns.parallel is not None and ns.parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {ns.parallel}")
    plan = make(ns.flow, pairs(ns.params, "-p"))
    store = Store.from_env()
    compiled = record.compiled_document(plan, "local")
    compiled["env"] = pairs(ns.env, "-e")
    selection: dict[str, list[int] | None] = dict.fromkeys(plan.nodes)
    return run_local(plan, compiled, store, selection, ns.parallel)


def run_local(
    plan: Plan,
    compiled: dict[str, Any],
    store: Store,
    selection: dict[str, list[int] | None],
    parallel: int | None,
    suffix: str = "",
) -> int:
    """Run the selected nodes (for an array node, the chosen item indexes; None: all)."""
    jobs = {}
    for name, indexes in selection.items():
        node = plan.nodes[name]
        job_id = str(uuid.uuid4())
        compiled_job = compile.compile_node(
            node, lambda rel: store.uri(plan.run_id, rel), indexes, suffix
        )
        for rel, text in compiled_job.files.items():
            store.write(plan.run_id, rel, text)
        parameters = compile.local_parameters(node, compiled_job)
        jobs[name] = execute.NodeJob(name, job_id, compiled_job, parameters)
        compiled["jobs"][name].append(
            {
                "job_id": job_id,
                "indexes": compiled_job.indexes,
                "array_size": compiled_job.array_size,
            }
        )
    record.save(store, compiled)
    lock = threading.Lock()

    def on_change() -> None:
        with lock:
            record.save_record(store, status.refresh(compiled))

    stop = threading.Event()
    with interrupts(stop) as received:
        workers = parallel or cgroups.usable_cpus()
        execute.run(plan, jobs, workers, stop, on_change, compiled.get("env") or {})
    run = status.refresh(compiled)
    record.save_record(store, run)
    print("\n".join(status.lines(run)))
    print(plan.run_id, flush=True)
    if received:
        return 128 + received[0]
    return execute.exit_code(plan, jobs)
