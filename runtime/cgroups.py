"""The memory and CPU this process may really use, from its cgroup (v2, v1, or both at once).

`os.cpu_count()` and /proc/meminfo describe the host; a Batch container gets what its job's
resourceRequirements say, which only the cgroup knows. Hosts may mount v1 controllers beside
a v2 hierarchy that has none of them, so each controller is looked up where it is mounted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
UNLIMITED = 1 << 60


@dataclass(frozen=True)
class Limit:
    value: float | None
    """Bytes of memory or CPUs; None when the cgroup sets no limit."""
    source: str
    """Where the value came from, e.g. `cgroup v2 cpu.max`, for a person to check."""


def memory(root: Path = ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> Limit:
    groups = _groups(proc_cgroup)
    if "memory" in groups:
        raw = _read(root / "memory", groups["memory"], "memory.limit_in_bytes")
        value = int(raw) if raw and raw.isdigit() and int(raw) < UNLIMITED else None
        return Limit(value, "cgroup v1 memory.limit_in_bytes")
    raw = _read(_v2_mount(root), groups.get("", "/"), "memory.max")
    if raw is None:
        return Limit(None, "no memory cgroup")
    return Limit(int(raw) if raw.isdigit() else None, "cgroup v2 memory.max")


def cpus(root: Path = ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> Limit:
    groups = _groups(proc_cgroup)
    if "cpu" in groups:
        quota = _read(root / "cpu", groups["cpu"], "cpu.cfs_quota_us")
        period = _read(root / "cpu", groups["cpu"], "cpu.cfs_period_us")
        source = "cgroup v1 cpu.cfs_quota_us"
        if quota and period and quota.isdigit() and period.isdigit() and int(period):
            return Limit(int(quota) / int(period), source)
        return Limit(None, source)
    raw = _read(_v2_mount(root), groups.get("", "/"), "cpu.max")
    if raw is None:
        return Limit(None, "no cpu cgroup")
    quota, _, period = raw.partition(" ")
    if quota.isdigit() and period.isdigit() and int(period):
        return Limit(int(quota) / int(period), "cgroup v2 cpu.max")
    return Limit(None, "cgroup v2 cpu.max")


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def usable_cpus() -> int:
    """CPUs the scheduler lets this process run on (the affinity mask, e.g. a cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _groups(proc_cgroup: Path) -> dict[str, str]:
    """Controller -> cgroup path from /proc/self/cgroup; the v2 entry is under ``""``."""
    groups: dict[str, str] = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


def _v2_mount(root: Path) -> Path:
    return root if (root / "cgroup.controllers").exists() else root / "unified"


def _read(mount: Path, group: str, name: str) -> str | None:
    """The file in the process's own cgroup, or at the mount's top inside a container.

    A container's cgroup namespace (or bind mount) shows its own cgroup at the top of the
    mount while /proc/self/cgroup may still name the host's path for it.
    """
    for path in (mount / group.lstrip("/") / name, mount / name):
        try:
            return path.read_text().strip()
        except OSError:
            continue
    return None
