"""Syslog over TCP or TLS, counting an event as delivered only once the server is known to
have read it.

Syslog over a stream has no acknowledgement, and a write that succeeds only means the kernel
took the bytes. A reset throws away whatever the server's side had not read yet: closing a TLS
socket while the server's session tickets sit unread in our receive buffer makes the kernel
send one, and rsyslog then lost 1,000 to 1,700 of 2,002 events (FINDINGS "Logs"). So:

- Everything written on a connection stays *unconfirmed* until the connection ends in a way
  that proves the server read it: we send close_notify (TLS) and our FIN, and the server
  closes its side, which a syslog server does only after reading to our FIN.
- A server that closes first confirms as much when its close is clean (a FIN, not a reset:
  a kernel resets instead when unread data remains) and the kernel holds nothing of ours
  unacknowledged (SIOCOUTQ is 0): then the server had read every byte before it closed.
- A connection that fails any other way has its unconfirmed events written again, first, on
  the next one: at least once, in order, possibly twice for events the server did read.
- A connection is closed cleanly and replaced after `ROTATE_BYTES` or `ROTATE_SECONDS`, which
  bounds what a failure can duplicate. A server that keeps failing connections before they
  confirm anything makes the replay grow; past `MAX_REPLAY_BYTES` its oldest events are given
  up on and counted as lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import select
import socket
import ssl
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

from runtime.retry import Retry
from runtime.sinks.record import Record

CONNECT_TIMEOUT = 5.0
SEND_TIMEOUT = 5.0
SETTLE_TIMEOUT = 5.0
SEND_INTERVAL = 0.2
ROTATE_BYTES = 1 << 20
ROTATE_SECONDS = 30.0
MAX_REPLAY_BYTES = 8 << 20


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int


class StreamTransport:
    """TCP or TLS (with a context), one connection at a time."""

    interval = SEND_INTERVAL
    max_count = 5_000
    max_bytes = 1_048_576

    def __init__(
        self,
        endpoint: Endpoint,
        format_line: Callable[[Record], bytes],
        context: ssl.SSLContext | None,
    ) -> None:
        self._endpoint = endpoint
        self._format = format_line
        self._context = context
        self._sock: socket.socket | None = None
        self._opened = 0.0
        self._carried = 0
        self._unconfirmed: list[bytes] = []
        """Written on the current connection, not yet known to be read."""
        self._replay: list[bytes] = []
        """Written on a connection that failed before confirming them: to write again."""
        self._given_up = 0

    def prepare(self, record: Record) -> tuple[bytes, int]:
        data = self._format(record)
        return data, len(data)

    def send(self, batch: list[bytes], timeout: float) -> int:
        """Write the batch, after closing a connection that has carried enough (which confirms
        what it carried); the batch joins the unconfirmed events only once written."""
        if self._sock is not None and (
            self._carried >= ROTATE_BYTES or time.monotonic() - self._opened >= ROTATE_SECONDS
        ):
            with contextlib.suppress(Retry):
                self.settle(min(SETTLE_TIMEOUT, timeout))
        self._write(batch, timeout)
        return 0

    def settle(self, timeout: float) -> None:
        """Close the connection cleanly, which confirms everything written on it."""
        deadline = time.monotonic() + timeout
        if self._replay:
            self._write([], timeout)
        if self._sock is None:
            return
        sock, self._sock = self._sock, None
        if not close_cleanly(sock, deadline):
            self._lose_connection()
            raise Retry("the server did not confirm the connection's end in time")
        self._unconfirmed.clear()

    def unconfirmed(self) -> int:
        return len(self._unconfirmed) + len(self._replay) + self._given_up

    def close(self) -> None:
        if self._sock is not None:
            self._lose_connection()

    def _write(self, batch: list[bytes], timeout: float) -> None:
        try:
            sock = self._connected(timeout)
            sock.settimeout(max(0.001, min(SEND_TIMEOUT, timeout)))
            if self._replay:
                sock.sendall(b"".join(self._replay))
                self._carried += sum(map(len, self._replay))
                self._unconfirmed += self._replay
                self._replay = []
            if batch:
                data = b"".join(batch)
                sock.sendall(data)
                self._carried += len(data)
        except OSError as exc:
            self._lose_connection()
            raise Retry(str(exc) or type(exc).__name__) from exc
        self._unconfirmed.extend(batch)

    def _connected(self, timeout: float) -> socket.socket:
        if self._sock is not None and (closed := _closed_by_peer(self._sock)) is not None:
            if closed and _all_acknowledged(self._sock):
                self._unconfirmed.clear()
            self._lose_connection()
        if self._sock is None:
            address = (self._endpoint.host, self._endpoint.port)
            wait = max(0.001, min(CONNECT_TIMEOUT, timeout))
            sock = socket.create_connection(address, timeout=wait)
            if self._context is not None:
                try:
                    sock = self._context.wrap_socket(sock, server_hostname=self._endpoint.host)
                except OSError:
                    sock.close()
                    raise
            self._sock = sock
            self._opened = time.monotonic()
            self._carried = 0
        return self._sock

    def _lose_connection(self) -> None:
        """Drop the connection; what it carried unconfirmed is written again on the next."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._replay = self._unconfirmed + self._replay
        self._unconfirmed = []
        held = sum(map(len, self._replay))
        while held > MAX_REPLAY_BYTES:
            held -= len(self._replay.pop(0))
            self._given_up += 1


def close_cleanly(sock: socket.socket, deadline: float) -> bool:
    """True once the server closed its side after our close_notify and FIN, by `deadline`.

    Reading until the server closes also empties our receive buffer (TLS 1.3 session tickets
    land there), so our own close sends a FIN, never a reset.
    """
    try:
        if isinstance(sock, ssl.SSLSocket):
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                sock = sock.unwrap()
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return _all_acknowledged(sock)
        sock.shutdown(socket.SHUT_WR)
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not sock.recv(1 << 16):
                return True
        return False
    except OSError:
        return False
    finally:
        sock.close()


def _closed_by_peer(sock: socket.socket) -> bool | None:
    """None while the connection is open; True if the server closed it cleanly, False if it
    was reset. A syslog server never writes, so a readable connection is one that ended.

    Checked before each batch: writing into a connection the peer already closed succeeds
    once and loses that batch without an error.
    """
    if not select.select([sock], [], [], 0)[0]:
        return None
    sock.settimeout(0)
    try:
        while sock.recv(1 << 16):
            pass
        return True
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    except OSError:
        return False


def _all_acknowledged(sock: socket.socket) -> bool:
    """True when the kernel holds no byte the server has not acknowledged (Linux SIOCOUTQ)."""
    try:
        queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    except (OSError, ValueError):
        return False
    return struct.unpack("i", queued)[0] == 0
