"""The board's HTTP side: its pages, its JSON API, its events stream and its static files.

The standard library's threading server is enough for a page or two kept open on a laptop:
one thread per connection, the events stream included. Requests are answered from the hub's
memory; only a job's page (its detail, logs, children) reaches a source. Only requests whose
Host is this machine are answered (a web page elsewhere can't read the board through DNS
rebinding), and terminating takes `--allow-terminate` plus a header a cross-site form can't send.
"""

from __future__ import annotations

import json
import mimetypes
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from runtime.board.hub import Hub
from runtime.errors import UsageError

STATIC = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0
_PAGES = re.compile(r"^/(?:jobs/[^/]+|runs/[^/]+)?$")
_API_JOB = re.compile(r"^/api/jobs/([^/]+)(/logs|/children|/terminate)?$")
_API_RUN = re.compile(r"^/api/runs/([^/]+)$")


class Board(ThreadingHTTPServer):
    daemon_threads = True

    hub: Hub

    def __init__(self, port: int, allow_terminate: bool) -> None:
        """Binds at once (a port in use raises here); the hub is set before serving."""
        self.allow_terminate = allow_terminate
        self.stopping = False
        super().__init__(("127.0.0.1", port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: Board
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal running the board shows its own errors only."""

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost", "[::1]")

    def do_GET(self) -> None:
        """Pages, files and the API; a failing AWS call is answered 502 with its message."""
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:
            self._send_json({"error": f"{type(exc).__name__}: {exc}"}, 502)

    def _get(self) -> None:
        if not self._host_ok():
            return self._send_json({"error": "the board answers only to 127.0.0.1"}, 403)
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        hub = self.server.hub
        if _PAGES.match(path):
            return self._send_file(STATIC / "index.html")
        if path.startswith("/static/") and "/." not in path:
            return self._send_file(STATIC / path.removeprefix("/static/"))
        if path == "/events":
            return self._events()
        if path == "/api/jobs":
            first = {k: v[0] for k, v in query.items() if v[0]}
            if not first:
                return self._send_body(hub.jobs_body())
            rows = hub.jobs(first.get("status"), first.get("queue"), first.get("q"))
            return self._send_json(rows)
        if path == "/api/runs":
            return self._send_json(hub.run_records())
        if path == "/api/stats":
            return self._send_json({**hub.stats(), "allow_terminate": self.server.allow_terminate})
        if m := _API_RUN.match(path):
            return self._found(hub.run_record(m[1]), f"workflow run {m[1]}")
        if (m := _API_JOB.match(path)) and m[2] != "/terminate":
            job_id, what = m[1], m[2]
            if what == "/logs":
                since = int((query.get("since") or ["0"])[0] or 0)
                return self._found(hub.logs(job_id, max(0, since)), f"job {job_id}")
            if what == "/children":
                return self._found(hub.children(job_id), f"job {job_id}")
            return self._found(hub.detail(job_id), f"job {job_id}")
        return self._send_json({"error": f"nothing at {path}"}, 404)

    def do_POST(self) -> None:
        m = _API_JOB.match(unquote(urlsplit(self.path).path))
        if not self._host_ok() or not m or m[2] != "/terminate":
            return self._send_json({"error": "not found"}, 404)
        if not self.server.allow_terminate:
            return self._send_json(
                {"error": "the board is read-only; start it with --allow-terminate"}, 403
            )
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = {}
        if self.headers.get("X-Board-Confirm") != m[1] or body.get("confirm") != m[1]:
            return self._send_json({"error": "confirm by sending the job id"}, 400)
        found = self.server.hub.find(m[1])
        if found is None:
            return self._send_json({"error": f"no job {m[1]} on this board"}, 404)
        try:
            found[0].terminate(m[1], str(body.get("reason") or "terminated from the job board"))
        except UsageError as exc:
            return self._send_json({"error": str(exc)}, 409)
        except Exception as exc:
            return self._send_json({"error": f"TerminateJob failed: {exc}"}, 502)
        return self._send_json({"terminated": m[1]}, 202)

    def _found(self, value: Any, what: str) -> None:
        if value is None:
            return self._send_json({"error": f"the board knows no {what}"}, 404)
        return self._send_json(value)

    def _send_json(self, value: Any, status: int = 200) -> None:
        self._send_body(json.dumps(value).encode(), status)

    def _send_body(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, path: Path) -> None:
        try:
            resolved = path.resolve(strict=True)
            if STATIC.resolve() not in resolved.parents:
                raise FileNotFoundError(path)
            body = resolved.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return self._send_json({"error": "not found"}, 404)
        kind = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8" if "text" in kind else kind)
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """`job` and `run` events as they happen; `Last-Event-ID` replays what was missed."""
        hub = self.server.hub
        given = self.headers.get("Last-Event-ID") or ""
        last = int(given) if given.isdigit() else hub.next_id
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not self.server.stopping:
                events = hub.since(last)
                if events is None:
                    last = hub.next_id
                    events = [(last, "reset", "{}")]
                for event_id, kind, data in events:
                    self.wfile.write(f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n".encode())
                    last = event_id
                if not events:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                hub.wait(last, KEEPALIVE_SECONDS)
        except (BrokenPipeError, ConnectionResetError):
            return
