"""Where runs are kept: `WORKFLOW_STATE`, a local directory or `s3://bucket/prefix`.

Each run is a folder named by its run id: `run.json` (the run record, SPEC's shape, read by
`status`, `resume` and the board), `compiled.json` (what the run was compiled to, for
`resume`), and the manifests and parameter documents its jobs read.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import TaskError, UsageError


@dataclass(frozen=True)
class Store:
    base: str

    @classmethod
    def from_env(cls) -> Store:
        raw = os.environ.get("WORKFLOW_STATE", "").strip()
        if raw:
            return cls(raw if raw.startswith("s3://") else str(Path(raw).expanduser().absolute()))
        from runtime.simulator.state import home

        return cls(str(home() / "runs"))

    @property
    def is_s3(self) -> bool:
        return self.base.startswith("s3://")

    def uri(self, run_id: str, name: str) -> str:
        return f"{self.base.rstrip('/')}/{run_id}/{name}"

    def write(self, run_id: str, name: str, text: str, client: Any = None) -> None:
        """Write a file of the run whole: readers see the old content or the new."""
        uri = self.uri(run_id, name)
        if self.is_s3:
            bucket, key = _split(uri)
            s3 = client or _s3()
            _call(lambda: s3.put_object(Bucket=bucket, Key=key, Body=text.encode()), uri)
            return
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)

    def read(self, run_id: str, name: str) -> str:
        uri = self.uri(run_id, name)
        if self.is_s3:
            bucket, key = _split(uri)
            s3 = _s3()
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as exc:
                if type(exc).__name__ == "NoSuchKey" or "NoSuchKey" in str(exc):
                    raise UsageError(_missing(run_id, self.base)) from None
                raise _as_error(exc, uri) from exc
            return body.decode()
        try:
            return Path(uri).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(_missing(run_id, self.base)) from None


def _missing(run_id: str, base: str) -> str:
    return (
        f"no workflow run {run_id!r} in {base} (WORKFLOW_STATE); give a run id that "
        "`workflow local` or `workflow submit` printed, with the WORKFLOW_STATE it used"
    )


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _s3() -> Any:
    from runtime.ops import aws

    return aws.client("s3")


def _call(fn: Any, uri: str) -> Any:
    try:
        return fn()
    except Exception as exc:
        raise _as_error(exc, uri) from exc


def _as_error(exc: Exception, uri: str) -> BaseException:
    from runtime import uris

    error = uris.as_task_error(exc, uri)
    return error if isinstance(error, TaskError) else exc
