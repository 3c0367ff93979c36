"""What Batch knows of a job (DescribeJobs), read once and shared by `status` and `logs`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import InputNotFound
from runtime.ops import aws

TERMINAL = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class BatchJob:
    raw: dict[str, Any]

    @classmethod
    def describe(cls, batch: Any, job_id: str) -> BatchJob:
        found = aws.call(batch.describe_jobs, f"DescribeJobs({job_id})", jobs=[job_id])["jobs"]
        if not found:
            raise InputNotFound(f"AWS Batch has no job {job_id!r} in this account and region")
        return cls(found[0])

    @property
    def job_id(self) -> str:
        return str(self.raw["jobId"])

    @property
    def status(self) -> str:
        return str(self.raw["status"])

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def environment(self) -> dict[str, str]:
        env = self.raw.get("container", {}).get("environment") or []
        return {e["name"]: e.get("value", "") for e in env}

    @property
    def command(self) -> list[str]:
        return list(self.raw.get("container", {}).get("command") or [])

    @property
    def task(self) -> str | None:
        head = self.command[1:] if self.command[:1] == ["run"] else self.command
        return head[0] if head else None

    @property
    def attempts(self) -> list[dict[str, Any]]:
        return list(self.raw.get("attempts") or [])

    @property
    def array_size(self) -> int | None:
        size = self.raw.get("arrayProperties", {}).get("size")
        return int(size) if size else None
