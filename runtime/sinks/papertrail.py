"""Papertrail sink: each event as the message of an RFC 5424 line, over TLS, TCP or UDP.

App name is the task and hostname the job id, so Papertrail's viewer groups a job's lines and
links to its task. Severity and time come from the `Record`, never from parsing the line.
Lines are newline-framed on TCP and TLS (JSON lines never contain a raw newline) and one per
datagram on UDP, cut to Papertrail's limits: 100,000 bytes per TCP line, 1,024 bytes per UDP
packet. How TCP and TLS know what arrived is in `runtime.sinks.stream`.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from runtime.errors import UsageError
from runtime.job import Job
from runtime.retry import Retry
from runtime.sinks.queue import QueuedSink
from runtime.sinks.record import Record
from runtime.sinks.stream import Endpoint, StreamTransport
from runtime.sinks.truncate import fit

SCHEMES = ("tls", "tcp", "udp")
TCP_LINE_LIMIT = 100_000
UDP_PACKET_LIMIT = 1024
SEND_INTERVAL = 0.2
_FACILITY_USER = 1
_SEVERITY = {
    "debug": 7,
    "info": 6,
    "warning": 4,
    "warn": 4,
    "error": 3,
    "exception": 3,
    "critical": 2,
    "fatal": 2,
}
_MILLIS = tuple(f".{milli:03d}Z".encode() for milli in range(1000))
_NOT_PRINTABLE = re.compile(r"[^\x21-\x7e]")
_MAX_HOSTNAME = 255
_MAX_APP_NAME = 48


def from_env(environ: Mapping[str, str], *, task: str, job: Job) -> QueuedSink[bytes]:
    endpoint = parse_url(environ["PAPERTRAIL_URL"])
    syslog = Syslog(app_name=task, hostname=job.job_id, udp=endpoint.scheme == "udp")
    if endpoint.scheme == "udp":
        return QueuedSink("papertrail", DatagramTransport(endpoint, syslog))
    context = tls_context(environ) if endpoint.scheme == "tls" else None
    return QueuedSink("papertrail", StreamTransport(endpoint, syslog.line, context))


def parse_url(url: str) -> Endpoint:
    """`host:port` means TLS, as Papertrail's own instructions give the destination."""
    raw = url.strip()
    parts = urllib.parse.urlsplit(raw if "://" in raw else f"tls://{raw}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in SCHEMES or not parts.hostname or not port or parts.path.strip("/"):
        raise UsageError(
            f"PAPERTRAIL_URL={url!r} is not tls://host:port (the default), tcp://host:port "
            "or udp://host:port"
        )
    return Endpoint(parts.scheme, parts.hostname, port)


def tls_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    cafile = environ.get("SSL_CERT_FILE") or None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"SSL_CERT_FILE={cafile!r} can't be used for PAPERTRAIL_URL: {exc}"
        ) from None


class Syslog:
    """Formats RFC 5424 lines: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`.

    The supervisor formats every event of the run, so the header is assembled from parts
    made once: the priority and the time to the second (once a second and level), the
    milliseconds (a table), and the rest (once).
    """

    def __init__(self, *, app_name: str, hostname: str, udp: bool) -> None:
        fields = f"{_token(hostname, _MAX_HOSTNAME)} {_token(app_name, _MAX_APP_NAME)}"
        self._rest = f" {fields} {os.getpid()} - - ".encode()
        self._limit = UDP_PACKET_LIMIT if udp else TCP_LINE_LIMIT - 1
        self._end = b"" if udp else b"\n"
        self._head: tuple[int, str, bytes] = (-1, "", b"")

    def line(self, record: Record) -> bytes:
        second, milli = divmod(record.millis, 1000)
        if second != self._head[0] or record.level != self._head[1]:
            self._head = (second, record.level, self._priority_and_second(second, record.level))
        header_size = len(self._head[2]) + len(_MILLIS[milli]) + len(self._rest)
        message = fit(record.line, self._limit - header_size)
        return b"".join((self._head[2], _MILLIS[milli], self._rest, message.encode(), self._end))

    @staticmethod
    def _priority_and_second(second: int, level: str) -> bytes:
        pri = _FACILITY_USER * 8 + _SEVERITY.get(level.lower(), _SEVERITY["info"])
        return f"<{pri}>1 {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(second))}".encode()


def _token(value: str, longest: int) -> str:
    """RFC 5424 header fields are printable ASCII without spaces; '-' stands for none."""
    return _NOT_PRINTABLE.sub("_", value)[:longest] or "-"


class DatagramTransport:
    """UDP: one packet per event, sent unconnected. Best effort by nature: nothing comes back,
    so nothing is known to be lost, and a burst can lose packets even on one machine."""

    interval = SEND_INTERVAL
    max_count = 5_000
    max_bytes = 1_048_576

    def __init__(self, endpoint: Endpoint, syslog: Syslog) -> None:
        self._endpoint = endpoint
        self._syslog = syslog
        self._sock: socket.socket | None = None
        self._address: Any = None

    def prepare(self, record: Record) -> tuple[bytes, int]:
        data = self._syslog.line(record)
        return data, len(data)

    def send(self, batch: list[bytes], timeout: float) -> int:
        try:
            if self._sock is None:
                family, kind, proto, _, address = socket.getaddrinfo(
                    self._endpoint.host, self._endpoint.port, type=socket.SOCK_DGRAM
                )[0]
                self._sock = socket.socket(family, kind, proto)
                self._address = address
            for packet in batch:
                self._sock.sendto(packet, self._address)
        except OSError as exc:
            self.close()
            raise Retry(str(exc) or type(exc).__name__) from exc
        return 0

    def settle(self, timeout: float) -> None:
        """Nothing can be confirmed over UDP."""

    def unconfirmed(self) -> int:
        return 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
