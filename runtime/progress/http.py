"""Progress events POSTed as JSON to an http(s) endpoint, with the standard library only.

Logs name the endpoint by scheme, host and port only: a webhook's path or query string is
often its credential. Redirects are not followed: urllib would resend the Authorization
header to wherever a redirect points, so a 3xx is a refusal like any other 4xx.
"""

from __future__ import annotations

import email.utils
import http.client
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import runtime
from runtime.progress.delivery import Rejected
from runtime.retry import Retry, retryable_status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


class HttpEndpoint:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        self.target = f"{parts.scheme}://{parts.hostname}{port}"
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": f"batch-task/{runtime.__version__}",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._opener = urllib.request.build_opener(_NoRedirect())

    def send(self, body: bytes, timeout: float) -> None:
        request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                if retryable_status(exc.code):
                    after = retry_after(exc.headers.get("Retry-After"))
                    raise Retry(f"HTTP {exc.code}", after) from None
                raise Rejected(f"HTTP {exc.code} {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise Retry(f"{type(exc).__name__}: {exc}") from None


def retry_after(value: str | None) -> float | None:
    """Seconds the server asked us to wait: RFC 9110 allows a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
