"""Submissions retried while Batch throttles: moto never throttles, so a stand-in for Batch's
client answers TooManyRequestsException first, as Batch does past its SubmitJob rate."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from runtime.errors import UsageError
from runtime.workflow import submit


class ThrottlingBatch:
    def __init__(self, refusals: int, code: str = "TooManyRequestsException") -> None:
        self.refusals = refusals
        self.code = code
        self.calls = 0

    def submit_job(self, **request: Any) -> dict[str, str]:
        self.calls += 1
        if self.calls <= self.refusals:
            error = {"Error": {"Code": self.code, "Message": "Too Many Requests"}}
            raise ClientError(error, "SubmitJob")
        return {"jobId": "job-1", "jobName": request["jobName"]}


def test_a_throttled_submission_is_retried_until_it_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(submit.time, "sleep", lambda _s: None)
    batch = ThrottlingBatch(refusals=3)
    assert submit._submit(batch, {"jobName": "x"})["jobId"] == "job-1"
    assert batch.calls == 4


def test_other_refusals_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submit.time, "sleep", lambda _s: None)
    batch = ThrottlingBatch(refusals=1, code="ClientException")
    with pytest.raises(ClientError):
        submit._submit(batch, {"jobName": "x"})
    assert batch.calls == 1


def test_throttling_that_never_ends_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submit.time, "sleep", lambda _s: None)
    batch = ThrottlingBatch(refusals=100)
    with pytest.raises(ClientError):
        submit._submit(batch, {"jobName": "x"})
    assert batch.calls == submit.MAX_TRIES


def test_submit_needs_a_queue() -> None:
    with pytest.raises(UsageError):
        submit.main(["flow.yaml"])
