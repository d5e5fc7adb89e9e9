"""
The benchmark command: C{python -m bench}.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
from typing import Optional, Sequence, TextIO

from .machine import describeMachine
from .report import Report
from .settings import Settings

__all__ = ["main", "run"]

#: Directory of generated files, unless --work-dir names another.
DEFAULT_WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")

_SECTIONS = ("http", "workers", "dns", "scale")


def _cpuList(text: str) -> Optional[str]:
    return None if text == "none" else text


def buildParser() -> argparse.ArgumentParser:
    """
    Build the parser of the benchmark's options.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure mailfront against the Twisted ceiling and automx2 over loopback.",
    )
    parser.add_argument("--smoke", action="store_true",
                        help="run every part for about a second each, without the peer "
                        "and without pinning, to check the harness (what CI runs)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of each measured load run, in seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unmeasured load before each server's first run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured runs per server and connection count, interleaved; "
                        "the fastest is reported (default 3)")
    parser.add_argument("--connections", default="10,100",
                        help="comma-separated connection counts (default 10,100)")
    parser.add_argument("--domains", type=int, default=1000,
                        help="domains in the registry of the HTTP scenarios (default 1000)")
    parser.add_argument("--addresses", type=int, default=10000,
                        help="distinct addresses the requests go to (default 10000)")
    parser.add_argument("--server-cpus", type=_cpuList, default="1",
                        help="taskset CPU list for the servers, or 'none' (default 1)")
    parser.add_argument("--client-cpus", type=_cpuList, default="0",
                        help="taskset CPU list for wrk and dnsperf, or 'none' (default 0)")
    parser.add_argument("--scale", default="1000,100000,1000000",
                        help="comma-separated registry sizes of the scale part")
    parser.add_argument("--only", default=",".join(_SECTIONS),
                        help=f"comma-separated parts to run, of {', '.join(_SECTIONS)}")
    parser.add_argument("--scenarios", default="autoconfig,autodiscover,apple",
                        help="comma-separated HTTP scenarios")
    parser.add_argument("--no-peer", action="store_true", help="do not install or measure automx2")
    parser.add_argument("--work-dir", default=DEFAULT_WORK,
                        help="directory for registries, logs and automx2's venv")
    parser.add_argument("--output", help="write the results as JSON to this file")
    return parser


def _settings(arguments: argparse.Namespace) -> Settings:
    if arguments.smoke:
        return Settings.forSmoke(arguments.work_dir)
    sections = tuple(s for s in arguments.only.split(",") if s)
    unknown = set(sections) - set(_SECTIONS)
    if unknown:
        raise SystemExit(f"unknown part {sorted(unknown)}; use {', '.join(_SECTIONS)}")
    return Settings(
        workDirectory=arguments.work_dir,
        seconds=arguments.seconds,
        warmupSeconds=arguments.warmup,
        repeat=arguments.repeat,
        connections=tuple(int(c) for c in arguments.connections.split(",")),
        domains=arguments.domains,
        addresses=arguments.addresses,
        serverCPUs=arguments.server_cpus,
        clientCPUs=arguments.client_cpus,
        peer=not arguments.no_peer,
        scaleDomains=tuple(int(n) for n in arguments.scale.split(",")),
        sections=sections,
        scenarios=tuple(s for s in arguments.scenarios.split(",") if s),
    )


def _missingTools(settings: Settings) -> list[str]:
    tools = ["wrk"]
    if settings.serverCPUs is not None or settings.clientCPUs is not None:
        tools.append("taskset")
    return [tool for tool in tools if shutil.which(tool) is None]


def run(settings: Settings, out: TextIO) -> Report:
    """
    Run the parts of the benchmark that C{settings} selects.
    """
    from .dns import runDNS
    from .scale import runScale
    from .web import runHttp, runWorkers

    os.makedirs(settings.workDirectory, exist_ok=True)
    report = Report(out)
    out.write(describeMachine() + "\n")
    out.write(f"# started {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    missing = _missingTools(settings)
    if missing:
        report.fail(f"missing tools: {', '.join(missing)} (Debian packages wrk, util-linux)")
        return report
    parts = {"http": runHttp, "workers": runWorkers, "dns": runDNS, "scale": runScale}
    before = os.getloadavg()
    for name in settings.sections:
        out.write(f"\n# {name}\n")
        parts[name](settings, report)
    after = os.getloadavg()
    report.note(
        f"load average (1, 5, 15 min) {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} at the "
        f"start, {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} at the end; other work on the "
        "machine lowers the figures"
    )
    return report


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    """
    Run the benchmark and print its tables.

    @return: 0, or 1 if a check failed (a wrong or non-2xx response, a server
        that did not start, a missing tool).
    """
    arguments = buildParser().parse_args(argv)
    settings = _settings(arguments)
    report = run(settings, out)
    report.write()
    if arguments.output:
        report.save(arguments.output)
    return 1 if report.failed else 0
