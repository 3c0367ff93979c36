"""A progress bar on stderr for a person at a terminal (`docker run -it`, a local run).

Imported only when stdout is a terminal, so tqdm costs nothing in AWS Batch. The bar reads
the reporter's state on its own thread, five times a second: the task's thread never draws,
and a slow progress endpoint never freezes the bar. Log lines go to the same terminal through
`writing()`, which clears the bar, lets the line be written at column 0 and redraws the bar
below it, as `tqdm.write` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

from runtime.progress.snapshot import FINAL, Snapshot

REFRESH_SECONDS = 0.2
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}"


class TerminalBar:
    def __init__(self, read: Callable[[], Snapshot], stream: TextIO, *, label: str) -> None:
        self._read = read
        self._label = label
        self._stream = stream
        self._bar = tqdm(
            total=1.0,
            desc=label,
            file=stream,
            bar_format=_FORMAT,
            dynamic_ncols=True,
            mininterval=REFRESH_SECONDS,
            leave=True,
        )
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-bar", daemon=True)
        self._thread.start()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with tqdm.external_write_mode(file=self._stream):
            yield

    def close(self) -> None:
        self._done.set()
        self._thread.join(REFRESH_SECONDS * 5)
        if not self._thread.is_alive():
            self._show(self._read())
        self._bar.close()

    def _run(self) -> None:
        while not self._done.wait(REFRESH_SECONDS):
            self._show(self._read())

    def _show(self, state: Snapshot) -> None:
        note = state.status if state.status in FINAL else state.message
        self._bar.set_description_str(state.stage or self._label, refresh=False)
        self._bar.set_postfix_str(note or "", refresh=False)
        self._bar.update(state.progress - self._bar.n)
        self._bar.refresh()
