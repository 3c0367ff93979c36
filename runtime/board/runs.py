"""Workflow runs for the board: `$WORKFLOW_STATE/{run_id}/run.json`, a directory or s3://.

Records are re-read only when they change (file stat locally, ETag with If-None-Match on S3),
and each node's status and children counts are overlaid with what the board currently knows
of the node's job, so a run's graph moves as its jobs do.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from runtime.simulator.state import home


def location(state: str | None, environ: Any = os.environ) -> str:
    return state or environ.get("WORKFLOW_STATE") or str(home(environ) / "runs")


class Runs:
    """Run records under one location, newest first."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.calls: Counter[str] = Counter()
        self._records: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._s3: Any = None
        if where.startswith("s3://"):
            import boto3

            self._s3 = boto3.client("s3")

    def refresh(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Every run record with a version that changes when the record does."""
        found = self._refresh_s3() if self._s3 is not None else self._refresh_dir()
        self._records = found
        return found

    def _refresh_dir(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        found = {}
        root = Path(self.where)
        for path in root.glob("*/run.json"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            version = (st.st_mtime_ns, st.st_size)
            known = self._records.get(path.parent.name)
            if known and known[0] == version:
                found[path.parent.name] = known
                continue
            try:
                found[path.parent.name] = (version, json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                if known:
                    found[path.parent.name] = known
        return found

    def _refresh_s3(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        bucket, _, prefix = self.where.removeprefix("s3://").partition("/")
        prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        found = {}
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            self.calls["ListObjectsV2"] += 1
            page = self._s3.list_objects_v2(**request)
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/run.json"):
                    continue
                run_id = obj["Key"][len(prefix) :].split("/", 1)[0]
                known = self._records.get(run_id)
                if known and known[0] == obj["ETag"]:
                    found[run_id] = known
                    continue
                self.calls["GetObject"] += 1
                body = self._s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                found[run_id] = (obj["ETag"], json.loads(body))
            if not page.get("IsTruncated"):
                return found
            request["ContinuationToken"] = page["NextContinuationToken"]


def overlay(record: dict[str, Any], jobs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The record with each node's status and children as the board sees its job now."""
    nodes = {}
    for name, node in (record.get("nodes") or {}).items():
        node = dict(node)
        job = jobs.get(str(node.get("job_id")))
        if job is not None:
            node["status"] = job["status"]
            if node.get("array_size"):
                node["children"] = job["children"] or node.get("children") or {}
        nodes[name] = node
    return {**record, "nodes": nodes}


def sort_key(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record.get("created_at") or ""), str(record.get("run_id") or ""))
