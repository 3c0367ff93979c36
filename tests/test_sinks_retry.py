"""The one table of what is worth another try, and the one backoff, as botocore's real
exceptions and Python's network errors meet them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from runtime.retry import PROGRESS_BACKOFF, SINK_BACKOFF, retryable, retryable_status


def client_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutLogEvents")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("ThrottlingException", 400), True),
        (client_error("SlowDown", 503), True),
        (client_error("InternalFailure", 500), True),
        (client_error("Unknown", 502), True),
        (client_error("Unknown", 429), True),
        (client_error("AccessDenied", 403), False),
        (client_error("NoSuchKey", 404), False),
        (client_error("InvalidParameterException", 400), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (NoCredentialsError(), False),
        (FileNotFoundError("x"), False),
        (ValueError("x"), False),
    ],
)
def test_what_is_worth_another_try(exc: BaseException, expected: bool) -> None:
    assert retryable(exc) is expected


def test_http_statuses() -> None:
    assert [
        s for s in (200, 301, 400, 403, 404, 408, 429, 500, 503, 599) if retryable_status(s)
    ] == [
        408,
        429,
        500,
        503,
        599,
    ]


def test_backoff_grows_with_jitter_up_to_its_cap() -> None:
    for policy in (SINK_BACKOFF, PROGRESS_BACKOFF):
        first = [policy.delay(1) for _ in range(200)]
        assert policy.first / 2 <= min(first) and max(first) <= policy.first
        assert len(set(first)) > 1
        assert all(policy.cap / 2 <= policy.delay(40) <= policy.cap for _ in range(50))


def test_a_servers_delay_wins_within_reason() -> None:
    assert PROGRESS_BACKOFF.delay(1, after=7.0) == 7.0
    assert PROGRESS_BACKOFF.delay(1, after=3600.0) == 60.0
    assert PROGRESS_BACKOFF.delay(3, after=-1.0) == 0.0
