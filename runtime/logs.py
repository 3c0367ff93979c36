"""Structured logs: one JSON object per line on stdout, the same line to every remote sink.

A structlog processor chain builds the event (job keys, level, timestamp, exception), renders
it once as JSON and redacts secrets from the rendered text. The chain ends differently in the
two processes of a run: in the task's process, `WireOutput` sends the line to the supervisor;
in the supervisor, `Output` writes stdout and offers a `Record` to each sink without waiting,
for its own events and for the lines the task's process sent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, TextIO

import structlog

from runtime import wire
from runtime.events import SPEC_KEYS
from runtime.masking import Redactor
from runtime.sinks import Sink
from runtime.sinks.record import Record

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_STD_LOGGER_LEVEL = logging.WARNING
_REPORT_MARGIN = 0.2
Event = dict[str, Any]
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class Output:
    """The supervisor's end of the chain: stdout first (it always has every event), then sinks.

    Lines come from the supervisor's own logger (`msg`) and from the task's process
    (`forward`, already rendered and redacted there). Both pass under one lock, so every sink
    gets the events in stdout's order; `emit` never blocks. `around` is where a progress bar
    steps aside while a line is written, so that log lines never run through it.
    """

    def __init__(self, stream: TextIO, sinks: Iterable[Sink], console: bool = False) -> None:
        self.stream = stream
        self.sinks = list(sinks)
        self.console = structlog.dev.ConsoleRenderer(colors=False) if console else None
        self.around: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
        self._lock = threading.Lock()

    def msg(self, line: str, timestamp: float, level: str, pretty: str | None = None) -> None:
        with self._lock:
            self._write(pretty or line)
            record = Record(line, timestamp, level)
            for sink in self.sinks:
                sink.emit(record)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg

    def forward(self, events: list[tuple[str, float, str]]) -> None:
        """Lines from the task's process, as many as one read of the pipe brought: one write
        and one flush for them all, so the supervisor costs the task as little CPU as it can."""
        shown = (self._pretty(line) for line, _, _ in events) if self.console else None
        with self._lock:
            self._write("\n".join(shown or (line for line, _, _ in events)))
            for sink in self.sinks:
                for line, timestamp, level in events:
                    sink.emit(Record(line, timestamp, level))

    def _write(self, text: str) -> None:
        try:
            with self.around():
                self.stream.write(text + "\n")
                self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def _pretty(self, line: str) -> str:
        assert self.console is not None
        try:
            event = json.loads(line)
        except ValueError:
            return line
        shown = {k: v for k, v in event.items() if k not in ("task", "attempt", "logger")}
        return self.console(None, event.get("level", "info"), shown)


class WireOutput:
    """The task process's end of the chain: each event goes to the supervisor as rendered."""

    def __init__(self, writer: wire.Writer) -> None:
        self.writer = writer

    def msg(self, line: str, timestamp: float, level: str, pretty: str | None = None) -> None:
        self.writer.log(line, timestamp, level)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _Timestamp:
    """RFC 3339 UTC with milliseconds. The text up to the second is formatted once a second:
    strftime was a fifth of the cost of an event. The epoch seconds the sinks get beside the
    line are the same instant cut to the same millisecond, so a syslog header and its line
    never disagree."""

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, _: Any, __: str, event: Event) -> Event:
        now = time.time()
        second, prefix = self._second
        if int(now) != second:
            second = int(now)
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self._second = (second, prefix)
        millis = int((now - second) * 1000)
        event["timestamp"] = f"{prefix}{millis:03d}Z"
        event["_epoch"] = second + millis / 1000
        return event


def _add_exception(_: Any, __: str, event: Event) -> Event:
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if exc_info and exc_info[0] is not None:
        event.setdefault("error_type", exc_info[0].__name__)
        event["exception"] = "".join(traceback.format_exception(*exc_info))
    return event


class _Render:
    """Orders the keys SPEC lists first, renders JSON, redacts, and adds a console form."""

    def __init__(self, job_keys: Mapping[str, Any], redact: Redactor, console: bool) -> None:
        self.job_keys = dict(job_keys)
        self.redact = redact
        self.console = structlog.dev.ConsoleRenderer(colors=False) if console else None

    def __call__(self, logger: Any, method: str, event: Event) -> tuple[tuple[Any, ...], Event]:
        epoch = event.pop("_epoch")
        ordered: Event = {k: event.pop(k) for k in SPEC_KEYS[:4] if k in event}
        ordered.setdefault("logger", "runtime")
        for key, value in self.job_keys.items():
            ordered[key] = event.pop(key, value)
        ordered.update(event)
        line = self.redact(_encode(ordered))
        parts = (line, epoch, ordered.get("level", "info"))
        if self.console is None:
            return parts, {}
        shown = {k: v for k, v in ordered.items() if k not in ("task", "attempt", "logger")}
        return parts, {"pretty": self.redact(self.console(logger, method, shown))}


class _End(Protocol):
    def msg(self, line: str, timestamp: float, level: str, pretty: str | None = None) -> None: ...


class LogPipeline:
    """The logging of one process of a run: the job's keys, redaction, level, and its end.

    The supervisor's end is an `Output` (stdout and sinks), the task process's a `WireOutput`.
    """

    def __init__(
        self,
        *,
        task: str,
        job_keys: Mapping[str, Any],
        end: _End,
        level: str = "info",
        console: bool = False,
        redactor: Redactor | None = None,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.end = end
        render = _Render({"task": task, **job_keys}, self.redactor, console)
        structlog.configure(
            processors=[structlog.processors.add_log_level, _Timestamp(), _add_exception, render],
            wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
            logger_factory=lambda *_: end,
            cache_logger_on_first_use=True,
        )
        self._bridge_stdlib_logging()

    def get_logger(self, name: str = "runtime") -> Any:
        return structlog.get_logger().bind(logger=name)

    def close(self, timeout: float) -> None:
        """Flush every sink within `timeout` seconds in all; report what they had to drop.

        The sinks flush side by side, so one that is down doesn't spend the others' time, and
        stop `_REPORT_MARGIN` early, so the report is written before the budget ends.
        """
        if not isinstance(self.end, Output):
            return
        deadline = time.monotonic() + timeout
        sinks, self.end.sinks = self.end.sinks, []
        lost: dict[str, int] = {}

        def close(sink: Sink) -> None:
            lost[sink.name] = sink.close(max(0.0, deadline - _REPORT_MARGIN - time.monotonic()))

        threads = [threading.Thread(target=close, args=(sink,), daemon=True) for sink in sinks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        dropped = {sink.name: lost.get(sink.name) for sink in sinks if lost.get(sink.name) != 0}
        if dropped:
            errors = {sink.name: sink.error for sink in sinks if sink.name in dropped}
            self.get_logger().warning("log.events_dropped", dropped=dropped, errors=errors)

    def _bridge_stdlib_logging(self) -> None:
        """Route warnings of boto3, rasterio and others into the same stream."""
        root = logging.getLogger()
        root.handlers = [_StructlogHandler()]
        root.setLevel(_STD_LOGGER_LEVEL)


class _StructlogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log = structlog.get_logger().bind(logger=record.name)
        method = getattr(log, record.levelname.lower(), log.warning)
        method(record.getMessage(), exc_info=record.exc_info or None)


def is_console(environ: Mapping[str, str], stream: TextIO) -> bool:
    fmt = environ.get("LOG_FORMAT", "").strip().lower()
    if fmt in ("json", "console"):
        return fmt == "console"
    return stream.isatty()
