"""The reporter in this process, against the real HTTP server: what a task's calls become."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from runtime.job import Job
from runtime.logs import Redactor
from runtime.progress import Reporter
from runtime.progress.http import HttpEndpoint, retry_after
from tests.fixtures.progress_http import ProgressServer

INTERVAL = 0.05


def reporter_for(server: ProgressServer, redact: Redactor | None = None) -> Reporter:
    return Reporter(
        task="unit",
        job=Job("job-unit"),
        log=structlog.get_logger(),
        endpoint=HttpEndpoint(server.url, None),
        redact=redact or Redactor(),
        interval=INTERVAL,
    )


def test_progress_never_goes_down_nor_past_one(progress_http: ProgressServer) -> None:
    reporter = reporter_for(progress_http)
    reporter.starting()
    for value in (0.5, 0.2, 1.7, -3.0, float("nan")):
        reporter.update(value, stage="work")
        time.sleep(INTERVAL * 3)
    reporter.failed("InputError", "bad input", 65, False)
    reporter.close(5)

    events = progress_http.accepted()
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), progress
    assert set(progress) == {0.0, 0.5, 1.0}, progress
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["status"] == "FAILED" and events[-1]["progress"] == 1.0


def test_known_secrets_are_masked_in_events(progress_http: ProgressServer) -> None:
    redact = Redactor()
    redact.add("hunter2-secret")
    reporter = reporter_for(progress_http, redact)
    reporter.starting()
    reporter.update(0.5, message="connecting with hunter2-secret")
    reporter.succeeded({"echo": "hunter2-secret"})
    reporter.close(5)

    running, final = progress_http.accepted()[-2:]
    assert running["message"] == "connecting with ***"
    assert final["result"] == {"echo": "***"}


def test_exactly_one_final_event_and_nothing_after_it(progress_http: ProgressServer) -> None:
    reporter = reporter_for(progress_http)
    reporter.starting()
    reporter.succeeded(None)
    reporter.failed("Interrupted", "received SIGTERM", 143, True)
    reporter.update(0.9, message="late")
    reporter.close(5)

    assert [e["status"] for e in progress_http.accepted()] == ["STARTING", "SUCCEEDED"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("7", 7.0), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_reads_seconds_and_dates(header: str | None, expected: float | None) -> None:
    assert retry_after(header) == expected


def test_retry_after_reads_a_future_date() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (retry_after(later) or 0) <= 30
