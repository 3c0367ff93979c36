"""`batch-task board`: serve the job board on 127.0.0.1 until interrupted.

The port is bound before anything else happens, so a port in use is refused at once (exit 69)
instead of after AWS has been called; bad arguments exit 64.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading

from runtime.errors import ExitCode
from runtime.ops.arguments import Parser

DEFAULT_PORT = 8750
EPILOG = """\
With neither --queue nor --local, --local is implied; the two combine. Jobs recorded by
`batch-task local` and `workflow local` are read from BATCH_TASK_HOME; workflow runs from
--state, else WORKFLOW_STATE, else $BATCH_TASK_HOME/runs. AWS is reached as boto3 is
configured (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL). Read-only unless --allow-terminate.
Exit status: 0 after Ctrl-C or SIGTERM, 64 for bad arguments, 69 when the port is in use.
"""


def _parser() -> Parser:
    import argparse

    parser = Parser(
        prog="batch-task board",
        description="The job board: a live web page over jobs, arrays, workflow runs and logs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="default 8750")
    parser.add_argument("--queue", action="append", default=[], metavar="Q", help="repeatable")
    parser.add_argument("--local", action="store_true", help="jobs of `batch-task local`")
    parser.add_argument("--state", metavar="URI", help="workflow runs: a directory or s3://")
    parser.add_argument("--allow-terminate", action="store_true", help="a button per job")
    parser.add_argument(
        "--interval", type=_seconds, default=5.0, help="seconds between AWS refreshes (5)"
    )
    return parser


def _port(text: str) -> int:
    import argparse

    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value >= 0.2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds of 0.2 or more")
    return value


def main(args: list[str]) -> int:
    ns = _parser().parse_args(args)
    from runtime.board.server import Board

    try:
        board = Board(ns.port, ns.allow_terminate)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"batch-task board: port {ns.port} on 127.0.0.1 is already in use;"
            " stop what holds it or choose another with --port",
            file=sys.stderr,
        )
        return ExitCode.UNAVAILABLE
    from runtime.board import runs, secrets
    from runtime.board.hub import Hub
    from runtime.board.sources import LocalSource, Source
    from runtime.simulator.state import home

    sources: list[Source] = []
    if ns.local or not ns.queue:
        sources.append(LocalSource(home(os.environ)))
    if ns.queue:
        from runtime.board.awsjobs import AwsSource

        sources.append(AwsSource(ns.queue, ns.interval))
    hub = Hub(sources, runs.Runs(runs.location(ns.state)), secrets.Secrets(os.environ))
    board.hub = hub
    signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    threading.Thread(target=hub.run_forever, args=(stop,), name="refresh", daemon=True).start()
    shown = [f"queue {q}" for q in ns.queue] + ["local jobs"] * (ns.local or not ns.queue)
    print(
        f"batch-task board: http://127.0.0.1:{ns.port}/ ({', '.join(shown)}); Ctrl-C stops it",
        file=sys.stderr,
    )
    try:
        board.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        board.stopping = True
        board.server_close()
    return ExitCode.OK


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the board as Ctrl-C does: the port is released, the exit status is 0."""
    raise KeyboardInterrupt
