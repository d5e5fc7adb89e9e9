"""
The scale part: how long registries of many domains take to load, how much
memory they hold, and what a reload of the largest does to requests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

from .mailfront import startMailfront
from .registry import BenchRegistry, writeRegistry
from .report import Report
from .scenarios import SCENARIOS, fetch, sampleRequests
from .servers import ROOT, ServerProcess
from .settings import Settings
from .wrk import LoadResult, WrkError, runWrk, writeRequestList

__all__ = ["runScale"]

#: Targets for the largest registry: load time in seconds and resident
#: memory in MiB, and how much a reload may raise the p99 latency of
#: concurrent requests, in milliseconds.
LOAD_SECONDS_TARGET = 15.0
RESIDENT_MIB_TARGET = 1024.0
RELOAD_P99_TARGET = 50.0

#: Seconds a reload may take before the benchmark gives up waiting: for the
#: probe with the smallest registry, and for the largest registry.
PROBE_TIMEOUT = 15.0
RELOAD_TIMEOUT = 120.0

_MARKER_PROVIDER_FILE = "zz-reload-marker.toml"


def _probe(directory: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadprobe", directory],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"loading {directory} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def runScale(settings: Settings, report: Report) -> None:
    """
    Measure load time and memory for each registry size, then reload the
    largest registry under load.
    """
    registries = []
    for count in settings.scaleDomains:
        registry = writeRegistry(settings.path("registries", str(count)), count)
        registries.append(registry)
        try:
            probe = _probe(registry.directory)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            report.fail(f"loading {count} domains: {e}")
            continue
        resident = probe["residentKiB"] / 1024
        report.addRow(
            "Registry load",
            {
                "Domains": f"{count:,}",
                "Parse and validate s": f"{probe['loadSeconds']:.2f}",
                "Snapshot s": f"{probe['snapshotSeconds']:.2f}",
                "Total s": f"{probe['totalSeconds']:.2f}",
                "Resident MiB": f"{resident:.0f}",
                "Peak resident MiB": f"{probe['peakResidentKiB'] / 1024:.0f}",
            },
        )
        if count >= 1_000_000:
            met = probe["totalSeconds"] < LOAD_SECONDS_TARGET and resident < RESIDENT_MIB_TARGET
            report.note(
                f"target for {count:,} domains (load under {LOAD_SECONDS_TARGET:g} s, under "
                f"{RESIDENT_MIB_TARGET:g} MiB resident): {'met' if met else 'MISSED'}, "
                f"{probe['totalSeconds']:.1f} s and {resident:.0f} MiB"
            )
    if registries:
        _runReload(settings, report, registries[0], registries[-1])


def _reloadDirectory(settings: Settings, registry: BenchRegistry) -> str:
    """
    Make a configuration directory that links to the registry's files, so
    that a marker file can be added without changing the registry.
    """
    directory = settings.path("reload", str(registry.domainCount))
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    for name in os.listdir(registry.directory):
        if name.endswith(".toml"):
            os.symlink(os.path.join(registry.directory, name), os.path.join(directory, name))
    return directory


def _markerDomain(number: int) -> str:
    return f"reload-marker-{number}.example"


def _reload(
    server: ServerProcess,
    directory: str,
    registry: BenchRegistry,
    number: int,
    timeout: float,
) -> Optional[float]:
    """
    Add a marker domain, send SIGHUP, and wait until the marker is served.

    @return: Seconds from the change to the first response for the marker, or
        C{None} if the server exited or did not serve it in time.
    """
    scenario = SCENARIOS[0]
    marker = _markerDomain(number)
    started = time.monotonic()
    with open(os.path.join(directory, _MARKER_PROVIDER_FILE), "w", encoding="ascii") as f:
        f.write(f'[domains."{marker}"]\nprovider = "{registry.providers[0].id}"\n')
    os.kill(server.pid, signal.SIGHUP)
    deadline = started + timeout
    while time.monotonic() < deadline:
        if not server.running():
            return None
        try:
            answer = fetch(server.port, scenario, f"reload@{marker}", marker)
        except OSError:
            answer = None
        if answer is not None and answer.status == 200:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def _peakResidentMiB(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _runReload(
    settings: Settings, report: Report, smallest: BenchRegistry, largest: BenchRegistry
) -> None:
    """
    Check that mailfront reloads on SIGHUP with the smallest registry, then
    measure a reload of the largest under load.
    """
    directory = _reloadDirectory(settings, smallest)
    server = startMailfront(directory, settings.path("reload-probe.log"), settings.serverCPUs)
    try:
        if _reload(server, directory, smallest, 1, PROBE_TIMEOUT) is None:
            reason = "exited on SIGHUP" if not server.running() else (
                f"did not serve an added domain within {PROBE_TIMEOUT:g} s of SIGHUP"
            )
            report.note(f"reload skipped: mailfront {reason}, so the code under test has no reload")
            return
    finally:
        server.stop()

    directory = _reloadDirectory(settings, largest)
    server = startMailfront(directory, settings.path("reload.log"), settings.serverCPUs)
    try:
        _measureReload(settings, report, server, directory, largest)
    finally:
        server.stop()


def _measureReload(
    settings: Settings,
    report: Report,
    server: ServerProcess,
    directory: str,
    registry: BenchRegistry,
) -> None:
    scenario = SCENARIOS[0]
    requestList = settings.path(f"requests-reload-{registry.domainCount}.txt")
    writeRequestList(
        requestList,
        [
            (scenario.method, scenario.hostPrefix + domain, scenario.mailfrontPath(address),
             address)
            for address, domain in sampleRequests(registry, settings.addresses)
        ],
    )
    connections = max(settings.connections)

    def load(seconds: float) -> LoadResult:
        return runWrk(server.url, requestList, connections, seconds, cpus=settings.clientCPUs)

    try:
        baseline = load(settings.seconds)
        during: list[LoadResult] = []
        # Twice as long, so that the load covers a reload of many seconds.
        worker = threading.Thread(target=lambda: during.append(load(2 * settings.seconds)))
        worker.start()
        time.sleep(min(1.0, settings.seconds / 4))
        reloadSeconds = _reload(server, directory, registry, 2, RELOAD_TIMEOUT)
        worker.join()
    except WrkError as e:
        report.fail(f"load during reload: {e}")
        return
    if reloadSeconds is None or not during:
        report.fail(f"reload of {registry.domainCount:,} domains did not finish")
        return
    increase = during[0].p99Milliseconds - baseline.p99Milliseconds
    report.addRow(
        "Reload",
        {
            "Domains": f"{registry.domainCount:,}",
            "Reload s": f"{reloadSeconds:.2f}",
            "p99 ms before": f"{baseline.p99Milliseconds:.1f}",
            "p99 ms during": f"{during[0].p99Milliseconds:.1f}",
            "Requests/s during": f"{during[0].requestsPerSecond:,.0f}",
            "Non-200 during": during[0].failures,
            "Peak resident MiB": f"{_peakResidentMiB(server.pid) or 0:.0f}",
        },
    )
    if during[0].failures or baseline.failures:
        report.fail(f"requests failed around the reload: {during[0].failures} during")
    if registry.domainCount >= 1_000_000:
        report.note(
            f"target for a reload of {registry.domainCount:,} domains (p99 raised by at most "
            f"{RELOAD_P99_TARGET:g} ms): {'met' if increase <= RELOAD_P99_TARGET else 'MISSED'}, "
            f"raised by {increase:.1f} ms"
        )
