"""The documents a user reads stay true: their links, README's layout, the exit-code table.

README.md and docs/ are the project's reference, read in a clone with nothing beside it, so a
link that leaves the repository or leads nowhere is a bug. README's layout section and the
exit-code table describe things the code owns (the tree, `ExitCode`, the job definitions'
retry rules): these tests compare them, and say exactly what to change when they drift.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from runtime.batch import jobdef
from runtime.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXIT_CODES_PAGE = ROOT / "docs" / "exit-codes.md"
JOB_DEFINITIONS = sorted((ROOT / "docker" / "job-definitions").glob("*.json"))
# README's layout details every file under these folders; elsewhere it names top-level entries.
DETAILED = ("runtime/", "tasks/")
UNLISTED_NAMES = {"__init__.py"}
# What Batch says of an attempt whose container exited by itself.
EXITED = "Essential container in task exited"

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]+)>")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s)>\]`'\"]+")
_PARENT_PATH = re.compile(r"(?<![\w.])(?:\.\./)+[\w.\-/]*")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~])/[\w.\-]+(?:/[\w.\-]+)*")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"}


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for match in _HEADING.finditer(text):
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _inside(path: Path) -> bool:
    return path == ROOT or ROOT in path.parents


def _link_problem(document: Path, target: str) -> str | None:
    """What is wrong with one link target, or None when it leads somewhere in the repository."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", target)
    if scheme:
        kind = scheme.group(1).lower()
        if kind == "mailto":
            return None
        if kind not in ("http", "https"):
            return f"a {kind}: link leads outside the repository"
        host = re.sub(r"^[a-zA-Z]+://", "", target).split("/", 1)[0].rsplit(":", 1)[0]
        if host.lower() in _LOCAL_HOSTS:
            return "a link to this machine, which a reader's machine does not have"
        return None
    path_part, _, anchor = target.partition("#")
    if path_part.startswith("/"):
        return "an absolute path; link relative to the document instead"
    resolved = (document.parent / path_part).resolve() if path_part else document
    if not _inside(resolved):
        return "leads outside the repository"
    if not resolved.exists():
        return f"{_name(resolved)} does not exist"
    if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
        return f"{_name(resolved)} has no heading with the anchor #{anchor}"
    return None


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_links_stay_inside_the_repository_and_resolve(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    targets = [*_LINK.findall(text), *_REFERENCE.findall(text), *_AUTOLINK.findall(text)]
    problems = [
        f"link {target!r}: {problem}"
        for target in targets
        if (problem := _link_problem(document, target)) is not None
    ]
    bare = _URL.sub(" ", text)
    for found in _PARENT_PATH.findall(bare):
        resolved = (document.parent / found).resolve()
        if not _inside(resolved):
            problems.append(f"path {found!r} leads outside the repository")
        elif not resolved.exists():
            problems.append(f"path {found!r} leads to {_name(resolved)}, which does not exist")
    outside = str(ROOT.parent) + "/"
    problems += [
        f"path {found!r} names this machine's directories, which a clone does not have"
        for found in _ABSOLUTE_PATH.findall(bare)
        if found.startswith(outside)
    ]
    if problems:
        pytest.fail(f"{_name(document)}:\n  " + "\n  ".join(problems), pytrace=False)


def _tree() -> set[str]:
    """The repository's files as a commit would hold them: tracked or new, not ignored."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the layout is compared with git's view of the tree: {exc}")
    return {name for name in listed.split("\0") if name and (ROOT / name).is_file()}


def _layout_lines() -> list[str]:
    """The paths of README's layout: the first fenced block under `## Layout`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Layout\s*$(.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no `## Layout` section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    assert block, "README.md's layout section has no fenced block of `path  description` lines"
    paths = []
    for line in block.group(1).splitlines():
        if not line.strip() or line[0].isspace():
            continue
        path, *description = line.split(None, 1)
        assert description, f"README.md's layout line {line!r} has no description"
        paths.append(path)
    return paths


def test_readme_layout_lists_exactly_the_tree() -> None:
    tree = _tree()
    lines = _layout_lines()
    top = {p for p in lines if "/" not in p.rstrip("/")}
    detail = [p for p in lines if p not in top]
    top_expected = {
        name.split("/", 1)[0] + "/" if "/" in name else name
        for name in tree
        if "/" in name or not name.startswith(".")
    }
    files = {
        name
        for name in tree
        if name.startswith(DETAILED) and name.rsplit("/", 1)[-1] not in UNLISTED_NAMES
    }
    extra = sorted(top - top_expected)
    twice = sorted({p for p in lines if lines.count(p) > 1})
    covered: set[str] = set()
    for path in detail:
        under = {f for f in files if f.startswith(path)} if path.endswith("/") else {path} & files
        if not path.startswith(DETAILED) or not under:
            extra.append(path)
        twice += sorted(covered & under)
        covered |= under
    missing = sorted(top_expected - top) + sorted(files - covered)
    found = [
        (label, paths)
        for label, paths in (
            ("missing (in the tree, not in the layout)", missing),
            ("extra (in the layout, not in the tree, or under a folder it does not detail)", extra),
            ("listed twice", twice),
        )
        if paths
    ]
    if found:
        pytest.fail(
            "README.md's layout section does not match the tree: it lists every top-level "
            f"entry (dotfiles aside) and every file under {' and '.join(DETAILED)} except "
            f"{', '.join(sorted(UNLISTED_NAMES))} (a line ending in / stands for a folder)."
            + "".join(f"\n  {label}:\n    " + "\n    ".join(paths) for label, paths in found),
            pytrace=False,
        )


def _table(text: str, header: str) -> list[list[str]]:
    """The rows of the first markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    assert start is not None, f"no table starting with {header!r}"
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _exit_rows(path: Path) -> dict[int, tuple[str, str]]:
    rows = _table(path.read_text(encoding="utf-8"), "| code |")
    return {int(code): (meaning, retry) for code, meaning, retry in rows}


def test_exit_code_table_names_every_exit_code() -> None:
    rows = _exit_rows(EXIT_CODES_PAGE)
    missing = sorted(code for code in ExitCode if code not in rows)
    unknown = []
    for code, (meaning, _) in rows.items():
        if code in set(ExitCode):
            continue
        number = code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = None
        if name is None or name not in meaning:
            unknown.append(code)
    assert not missing, f"docs/exit-codes.md lacks ExitCode values {missing}"
    assert not unknown, (
        f"docs/exit-codes.md lists {unknown}: neither runtime.errors.ExitCode values nor "
        "128 + a signal named in the row"
    )


def test_exit_code_table_says_what_the_job_definitions_retry() -> None:
    rows = _exit_rows(EXIT_CODES_PAGE)
    assert {retry for _, retry in rows.values()} <= {
        "yes",
        "no",
        "-",
        "decided by the job definition",
    }
    wrong = []
    for path in JOB_DEFINITIONS:
        definition = jobdef.load(path)
        for code, (_, retry) in rows.items():
            if retry not in ("yes", "no"):
                continue
            retried = definition.action_after(code, EXITED, None) == "RETRY"
            if retried != (retry == "yes"):
                wrong.append(f"{path.name} {'retries' if retried else 'does not retry'} {code}")
    assert not wrong, "docs/exit-codes.md's retry column is wrong:\n  " + "\n  ".join(wrong)


def test_exit_code_page_quotes_the_job_definitions_rules() -> None:
    page = EXIT_CODES_PAGE.read_text(encoding="utf-8")
    section = page.split("## The shipped job definitions", 1)[-1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block, "docs/exit-codes.md quotes no evaluateOnExit rules"
    quoted = json.loads("{" + block.group(1) + "}")["evaluateOnExit"]
    for path in JOB_DEFINITIONS:
        rules = json.loads(path.read_text(encoding="utf-8"))["retryStrategy"]["evaluateOnExit"]
        assert rules == quoted, f"{path.name}'s evaluateOnExit differs from docs/exit-codes.md's"


def test_readme_exit_codes_are_the_reference_table() -> None:
    assert _exit_rows(ROOT / "README.md") == _exit_rows(EXIT_CODES_PAGE), (
        "README.md's exit-code table differs from docs/exit-codes.md's: copy the reference"
    )
