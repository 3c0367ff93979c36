"""Argument parsing shared by the commands that take options (local, submit, schedule, ...):
usage errors exit 64 as SPEC's table says (argparse's own choice is 2), and `-p NAME=VALUE`
pairs are read one way everywhere."""

from __future__ import annotations

import argparse
from typing import NoReturn

from runtime.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def pairs(items: list[str], flag: str) -> dict[str, str]:
    """`NAME=VALUE` items (of `-p` or `-e`) as a mapping; the value may be empty."""
    found: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        found[name] = value
    return found


def add_env(parser: argparse.ArgumentParser, help: str) -> None:
    """`-e/--env NAME=VALUE`, repeatable: the environment a local job gets over its definition's."""
    parser.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE", help=help)
