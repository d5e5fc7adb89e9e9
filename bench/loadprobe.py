"""
Load a registry and build its snapshot in a fresh process, as the server
does at start, then print the time taken and the process's resident memory
as one JSON line.

Run as C{python -m bench.loadprobe CONFIG_DIR}; L{bench.scale} starts it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

from mailfront.registry import loadDirectory
from mailfront.service import ServiceConfig, prepareSnapshot


class _WallClock:
    """
    The clock C{prepareSnapshot} checks certificate lifetimes against.
    """

    def seconds(self) -> float:
        return time.time()


def residentKiB() -> tuple[int, int]:
    """
    Read the current and the peak resident set size of this process.

    @return: C{(VmRSS, VmHWM)} in KiB, from C{/proc/self/status}.
    """
    values = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def main(directory: str) -> None:
    """
    Time L{loadDirectory} and L{prepareSnapshot} on C{directory}, with an
    HTTPS listener configured and no certificate, as the benchmark runs
    mailfront.
    """
    baseline, _ = residentKiB()
    with tempfile.TemporaryDirectory(prefix="mailfront-loadprobe-") as state:
        config = ServiceConfig(configDirectory=directory, stateDirectory=state)
        started = time.perf_counter()
        registry = loadDirectory(directory)
        loaded = time.perf_counter()
        snapshot = prepareSnapshot(config, registry, 1, _WallClock())  # type: ignore[arg-type]
        built = time.perf_counter()
    resident, peak = residentKiB()
    print(
        json.dumps(
            {
                "domains": len(snapshot.registry.domains),
                "loadSeconds": loaded - started,
                "snapshotSeconds": built - loaded,
                "totalSeconds": built - started,
                "residentKiB": resident,
                "peakResidentKiB": peak,
                "baselineKiB": baseline,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
