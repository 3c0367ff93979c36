"""Papertrail sink: each event as the message of an RFC 5424 line, over TLS, TCP or UDP.

App name is the task and hostname the job id, so Papertrail's viewer groups a job's lines and
links to its task. Lines are newline-framed on TCP and TLS (JSON lines never contain a raw
newline) and one per datagram on UDP, cut to Papertrail's limits: 100,000 bytes per TCP line,
1,024 bytes per UDP packet.
"""

from __future__ import annotations

import os
import re
import select
import socket
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime.errors import UsageError
from runtime.job import Job
from runtime.sinks.queue import QueuedSink, Retry
from runtime.sinks.truncate import fit

SCHEMES = ("tls", "tcp", "udp")
TCP_LINE_LIMIT = 100_000
UDP_PACKET_LIMIT = 1024
CONNECT_TIMEOUT = 5.0
SEND_TIMEOUT = 5.0
SEND_INTERVAL = 0.2
_FACILITY_USER = 1
_SEVERITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}
_HEAD = re.compile(r'\{"timestamp": "([^"]+)", "level": "(\w+)"')
_NOT_PRINTABLE = re.compile(r"[^\x21-\x7e]")
_MAX_HOSTNAME = 255
_MAX_APP_NAME = 48


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int


def from_env(environ: Mapping[str, str], *, task: str, job: Job) -> QueuedSink[bytes]:
    endpoint = parse_url(environ["PAPERTRAIL_URL"])
    syslog = Syslog(app_name=task, hostname=job.job_id, udp=endpoint.scheme == "udp")
    if endpoint.scheme == "udp":
        return QueuedSink("papertrail", DatagramTransport(endpoint, syslog))
    context = tls_context(environ) if endpoint.scheme == "tls" else None
    return QueuedSink("papertrail", StreamTransport(endpoint, syslog, context))


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
    """Formats RFC 5424 lines: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`."""

    def __init__(self, *, app_name: str, hostname: str, udp: bool) -> None:
        self._fields = f"{_token(hostname, _MAX_HOSTNAME)} {_token(app_name, _MAX_APP_NAME)}"
        self._procid = os.getpid()
        self._limit = UDP_PACKET_LIMIT if udp else TCP_LINE_LIMIT - 1
        self._end = b"" if udp else b"\n"
        self._last = ("", b"")

    def line(self, event: str) -> bytes:
        match = _HEAD.match(event)
        head = match[0] if match else ""
        if head != self._last[0] or not head:
            self._last = (head, self._header(match))
        header = self._last[1]
        return header + fit(event, self._limit - len(header)).encode() + self._end

    def _header(self, match: re.Match[str] | None) -> bytes:
        """Built once per timestamp and level: consecutive events mostly share both."""
        if match:
            timestamp, level = match[1], match[2]
        else:
            timestamp, level = datetime.now(UTC).isoformat(timespec="milliseconds"), "info"
        pri = _FACILITY_USER * 8 + _SEVERITY.get(level, _SEVERITY["info"])
        return f"<{pri}>1 {timestamp} {self._fields} {self._procid} - - ".encode()


def _token(value: str, longest: int) -> str:
    """RFC 5424 header fields are printable ASCII without spaces; '-' stands for none."""
    return _NOT_PRINTABLE.sub("_", value)[:longest] or "-"


class _Transport:
    """What TCP, TLS and UDP share: syslog framing, the queue's batch limits, one socket that
    a failure closes (the queue's retry opens a new one)."""

    interval = SEND_INTERVAL
    max_count = 5_000
    max_bytes = 1_048_576

    def __init__(self, endpoint: Endpoint, syslog: Syslog) -> None:
        self._endpoint = endpoint
        self._syslog = syslog
        self._sock: socket.socket | None = None

    def prepare(self, line: str) -> tuple[bytes, int]:
        data = self._syslog.line(line)
        return data, len(data)

    def send(self, batch: list[bytes]) -> int:
        try:
            self._write(batch)
        except OSError as exc:
            self.close()
            raise Retry(str(exc) or type(exc).__name__) from exc
        return 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _write(self, batch: list[bytes]) -> None:
        raise NotImplementedError


class StreamTransport(_Transport):
    """TCP or TLS, one connection reused."""

    def __init__(self, endpoint: Endpoint, syslog: Syslog, context: ssl.SSLContext | None) -> None:
        super().__init__(endpoint, syslog)
        self._context = context

    def _write(self, batch: list[bytes]) -> None:
        self._connected().sendall(b"".join(batch))

    def _connected(self) -> socket.socket:
        if self._sock is not None and _closed_by_peer(self._sock):
            self.close()
        if self._sock is None:
            address = (self._endpoint.host, self._endpoint.port)
            sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
            if self._context is not None:
                try:
                    sock = self._context.wrap_socket(sock, server_hostname=self._endpoint.host)
                except OSError:
                    sock.close()
                    raise
            sock.settimeout(SEND_TIMEOUT)
            self._sock = sock
        return self._sock


def _closed_by_peer(sock: socket.socket) -> bool:
    """Papertrail never writes on a syslog connection, so a readable one has been closed.

    Checked before each batch: writing into a connection the peer already closed succeeds
    once and loses that batch without an error.
    """
    if not select.select([sock], [], [], 0)[0]:
        return False
    sock.settimeout(0)
    try:
        return sock.recv(1) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(SEND_TIMEOUT)


class DatagramTransport(_Transport):
    """UDP: one packet per event, sent unconnected, so nothing learns if nobody listens."""

    def __init__(self, endpoint: Endpoint, syslog: Syslog) -> None:
        super().__init__(endpoint, syslog)
        self._address: Any = None

    def _write(self, batch: list[bytes]) -> None:
        if self._sock is None:
            family, kind, proto, _, address = socket.getaddrinfo(
                self._endpoint.host, self._endpoint.port, type=socket.SOCK_DGRAM
            )[0]
            self._sock = socket.socket(family, kind, proto)
            self._address = address
        for packet in batch:
            self._sock.sendto(packet, self._address)
