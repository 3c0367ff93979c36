"""`make test` on a bare machine: the Debian packages the tests need are installed or named."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / ".ci" / "packages"


def default_packages() -> list[str]:
    match = re.search(r"packages=\(([^)]*)\)\n", SCRIPT.read_text().split("[ ${#packages")[1])
    assert match, "the default package list of .ci/packages"
    return match.group(1).split()


def test_the_readme_names_the_packages_make_test_installs() -> None:
    packages = default_packages()
    assert {"rsyslog", "rsyslog-openssl", "chromium", "chromium-driver", "tmux"} <= set(packages)
    assert f"`{' '.join(packages)}`" in " ".join((ROOT / "README.md").read_text().split())


@pytest.mark.skipif(os.geteuid() != 0, reason="drops to an unprivileged user, which needs root")
def test_without_root_a_missing_package_stops_at_once_naming_the_command() -> None:
    missing = "batch-task-no-such-package"
    run = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(SCRIPT),
         "tmux", missing],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1
    assert f"need the Debian packages {missing}, which" in run.stderr
    assert f"sudo apt-get install -y {missing}" in run.stderr


def test_with_everything_installed_it_says_nothing() -> None:
    run = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
