"""argparse for the operator commands, with exit code 64 for usage errors as SPEC's table says
(argparse's own choice is 2)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from runtime.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")
