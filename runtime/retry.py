"""When a failure is worth another try, and how long to wait before it: one table, one policy.

Log sinks, progress delivery, S3 and HTTP reads all ask the same two questions. Answering them
here keeps a throttled CloudWatch call, a 503 from a webhook and a SlowDown from S3 on one
rule, and keeps that rule in step with the exit code a task gets for the same failure (75,
which AWS Batch retries). Works on class names, so neither boto3 nor botocore is imported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 429})
"""HTTP statuses worth another try besides every 5xx: request timeout, too many requests."""

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "500",
        "502",
        "503",
        "504",
    }
)
"""AWS error codes (botocore's `ClientError.response["Error"]["Code"]`) that mean "later"."""

RETRYABLE_NETWORK = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "ResponseStreamingError",
        "HTTPException",
    }
)
"""Exception classes (botocore's, http.client's) raised when the network, not the request,
failed. Python's own ConnectionError and TimeoutError count too."""


def retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def retryable(exc: BaseException) -> bool:
    """True for throttling, 5xx, timeouts and dropped connections; False for everything else,
    including refusals no retry fixes (403, 404, a bad request)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ClientError" in names:
        response = getattr(exc, "response", {})
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in RETRYABLE_CODES or retryable_status(status)
    return bool(names & RETRYABLE_NETWORK) or isinstance(exc, ConnectionError | TimeoutError)


class Retry(Exception):
    """A delivery failed in a way worth another try; `after` is the server's own delay
    (Retry-After) when it named one."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter.

    The jitter keeps the children of a large array job that lost the same endpoint from coming
    back in lockstep. A server's Retry-After wins, up to `longest_server_delay`.
    """

    first: float
    cap: float
    longest_server_delay: float = 60.0

    def delay(self, failures: int, after: float | None = None) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1 for the first)."""
        if after is not None:
            return min(max(0.0, after), self.longest_server_delay)
        ceiling = min(self.cap, self.first * 2 ** max(0, failures - 1))
        return ceiling * random.uniform(0.5, 1.0)


SINK_BACKOFF = Backoff(first=0.1, cap=5.0)
"""Log sinks: a run's events queue up behind a failure, so try again soon; the exit budget
(5 s) cuts a long wait short anyway."""

PROGRESS_BACKOFF = Backoff(first=0.25, cap=30.0)
"""Progress: a newer event replaces a waiting RUNNING one, so waiting longer loses nothing."""
