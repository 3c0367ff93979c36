"""How much CPU and memory the container really has, and what GDAL may use of it.

A container on a 64-core host limited to 2 CPUs still sees 64 in `os.cpu_count()`; GDAL
threads sized from that count fight over 2 CPUs and run slower than one thread per CPU.
GDAL's default block cache is 5% of the host's RAM, which can exceed a small container's
whole memory limit, so the cache is sized from the cgroup limit instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from runtime import cgroups

MIB = 1024 * 1024
# A COG copy peaked at 905 MB with GDAL's default cache (5% of 24 GB). The ingest of a 512 MB
# 4-band uint16 raster peaked, summed over its process tree, at 384 MB with a 128 MB cache,
# 279 MB with 64 MB and 280 MB with 32 MB, for the same 35 s of CPU (benchmarks/ingest.py):
# below 64 MB the cache no longer sets the peak, GDAL's worker threads and buffers do.
CACHE_MAX_MIB = 64
CACHE_MIN_MIB = 16
CACHE_SHARE = 16


@dataclass(frozen=True)
class Resources:
    cpus: int
    memory_bytes: int

    @property
    def gdal_cache_mib(self) -> int:
        """GDAL_CACHEMAX: a sixteenth of the memory limit, between 16 and 64 MiB."""
        return max(CACHE_MIN_MIB, min(CACHE_MAX_MIB, self.memory_bytes // CACHE_SHARE // MIB))


def detect() -> Resources:
    """The CPUs (affinity, capped by the cgroup quota) and memory (the cgroup limit, else the
    host's RAM) that this container may use."""
    usable = cgroups.usable_cpus()
    quota = cgroups.cpus().value
    cpus = min(usable, max(1, math.ceil(quota))) if quota else usable
    memory = cgroups.memory().value or cgroups.host_memory()
    return Resources(cpus=cpus, memory_bytes=int(memory))
