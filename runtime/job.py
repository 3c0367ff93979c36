"""The job as AWS Batch describes it to the container, through `AWS_BATCH_*` variables."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    job_id: str
    attempt: int = 1
    array_index: int | None = None
    queue: str | None = None
    compute_environment: str | None = None
    node_index: int | None = None
    num_nodes: int | None = None
    main_node_index: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Job:
        """Read the job; outside Batch, a `local-...` id and attempt 1."""

        def number(name: str) -> int | None:
            value = environ.get(name, "").strip()
            return int(value) if value.isdigit() else None

        return cls(
            job_id=environ.get("AWS_BATCH_JOB_ID") or f"local-{uuid.uuid4().hex[:12]}",
            attempt=number("AWS_BATCH_JOB_ATTEMPT") or 1,
            array_index=number("AWS_BATCH_JOB_ARRAY_INDEX"),
            queue=environ.get("AWS_BATCH_JQ_NAME") or None,
            compute_environment=environ.get("AWS_BATCH_CE_NAME") or None,
            node_index=number("AWS_BATCH_JOB_NODE_INDEX"),
            num_nodes=number("AWS_BATCH_JOB_NUM_NODES"),
            main_node_index=number("AWS_BATCH_JOB_MAIN_NODE_INDEX"),
        )

    def log_keys(self) -> dict[str, Any]:
        """The keys SPEC puts on every log event: always job_id and attempt, others when known."""
        keys: dict[str, Any] = {"job_id": self.job_id, "attempt": self.attempt}
        optional = {
            "array_index": self.array_index,
            "queue": self.queue,
            "compute_environment": self.compute_environment,
        }
        keys.update({k: v for k, v in optional.items() if v is not None})
        return keys
