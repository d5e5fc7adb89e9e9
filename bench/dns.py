"""
The DNS part: C{dnsperf} against mailfront's DNS authority and against Knot
DNS serving the zones mailfront exports, in the same run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Optional

import attrs

from .mailfront import hasCommand, hasOption, startMailfront
from .registry import BenchRegistry, writeRegistry
from .report import Report
from .servers import ROOT, ServerProcess, freePort, startProcess
from .settings import Settings

__all__ = ["DNSResult", "runDNS", "runDnsperf", "startKnot"]

#: SRV names queried for every domain; each is published by a mail domain
#: (RFC 6186, RFC 8314, and Microsoft's Autodiscover SRV record).
SRV_PREFIXES = ("_imaps._tcp", "_submissions._tcp", "_autodiscover._tcp")

#: Domains whose names the queries spread over.
QUERIED_DOMAINS = 1000

#: Simultaneous clients of dnsperf.
DNSPERF_CLIENTS = 10


@attrs.frozen
class DNSResult:
    """
    The measurements of one C{dnsperf} run.
    """

    queriesPerSecond: float
    sent: int
    completed: int
    lost: int
    responseCodes: str


def writeQueries(path: str, registry: BenchRegistry) -> None:
    """
    Write C{dnsperf}'s query file: SRV queries spread over the registry's
    first L{QUERIED_DOMAINS} domains.
    """
    with open(path, "w", encoding="ascii") as f:
        for index, domain in registry.domains():
            if index >= QUERIED_DOMAINS:
                break
            for prefix in SRV_PREFIXES:
                f.write(f"{prefix}.{domain} SRV\n")


def startKnot(
    zones: dict[str, str], workDirectory: str, cpus: Optional[str]
) -> ServerProcess:
    """
    Start C{knotd} on 127.0.0.1 serving C{zones} (zone name to zone-file
    text) over UDP and TCP.
    """
    directory = os.path.join(workDirectory, "knot")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(os.path.join(directory, "zones"))
    port = freePort()
    lines = [
        "server:",
        f"    listen: 127.0.0.1@{port}",
        f"    rundir: {directory}",
        "database:",
        f"    storage: {directory}/db",
        "template:",
        "  - id: default",
        f"    storage: {directory}/zones",
        "    journal-content: none",
        "    zonefile-sync: -1",
        "zone:",
    ]
    for name, text in zones.items():
        fileName = f"{name.rstrip('.') or 'root'}.zone"
        with open(os.path.join(directory, "zones", fileName), "w", encoding="utf-8") as f:
            f.write(text)
        lines += [f"  - domain: {name}", f"    file: {fileName}"]
    configuration = os.path.join(directory, "knot.conf")
    with open(configuration, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return startProcess(
        "knot", ["knotd", "--config", configuration], port,
        os.path.join(directory, "knot.log"), cpus=cpus, timeout=60,
    )


def _count(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


def runDnsperf(
    port: int, queries: str, seconds: float, cpus: Optional[str]
) -> DNSResult:
    """
    Run C{dnsperf} against 127.0.0.1 for C{seconds}.

    @raise RuntimeError: If dnsperf fails.
    """
    command = [
        "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
        "-l", f"{seconds:g}", "-c", str(DNSPERF_CLIENTS), "-q", "100",
    ]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=2 * seconds + 30, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"dnsperf exited with {completed.returncode}: {completed.stderr.strip()}"
        )
    text = completed.stdout
    codes = re.search(r"Response codes:\s*(.*)", text)
    return DNSResult(
        queriesPerSecond=_count(r"Queries per second:\s*([\d.]+)", text),
        sent=int(_count(r"Queries sent:\s*(\d+)", text)),
        completed=int(_count(r"Queries completed:\s*(\d+)", text)),
        lost=int(_count(r"Queries lost:\s*(\d+)", text)),
        responseCodes=codes.group(1).strip() if codes else "",
    )


def _exportZones(registry: BenchRegistry, directory: str) -> dict[str, str]:
    """
    Export the registry's complete zones with C{mailfront dns --output-dir},
    which writes each zone to C{ZONE.zone}.

    @return: Zone-file text by zone name.
    """
    shutil.rmtree(directory, ignore_errors=True)
    completed = subprocess.run(
        [sys.executable, "-m", "mailfront.cli", "dns", "--output-dir", directory,
         registry.directory],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"mailfront dns --output-dir failed: {completed.stderr.strip()[-2000:]}")
    zones = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".zone"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                zones[name[: -len(".zone")].rstrip(".") + "."] = f.read()
    return zones


def _row(report: Report, server: str, result: DNSResult, reference: Optional[DNSResult]) -> None:
    ratio = "–" if reference is None or not reference.queriesPerSecond else (
        f"{result.queriesPerSecond / reference.queriesPerSecond:.2f}"
    )
    report.addRow(
        "DNS",
        {
            "Server": server,
            "Queries/s": f"{result.queriesPerSecond:,.0f}",
            "Completed": result.completed,
            "Lost": result.lost,
            "Response codes": result.responseCodes,
            "× Knot": ratio,
        },
    )


def runDNS(settings: Settings, report: Report) -> None:
    """
    Measure SRV queries per second on mailfront's authority and on Knot
    with the same zones.

    Skipped with a note while mailfront has no C{dns} command or no
    C{--dns-port} option.
    """
    if not hasCommand("dns") or not hasOption("--dns-port"):
        report.note(
            "DNS skipped: the code under test has no 'mailfront dns' command or no "
            "--dns-port option of twistd mailfront"
        )
        return
    missing = [tool for tool in ("dnsperf", "knotd") if shutil.which(tool) is None]
    if missing:
        report.fail(f"DNS: missing tools {', '.join(missing)} (Debian packages dnsperf, knot)")
        return
    registry = writeRegistry(
        settings.path("registries", f"dns-{settings.domains}"), settings.domains, dns=True
    )
    queries = settings.path("dns-queries.txt")
    writeQueries(queries, registry)
    try:
        zones = _exportZones(registry, settings.path("dns-zones"))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        report.fail(f"DNS: {e}")
        return

    dnsPort = freePort()
    extra = ["--dns-port", str(dnsPort), "--dns-interface", "127.0.0.1"]
    mailfront = startMailfront(
        registry.directory, settings.path("mailfront-dns.log"), settings.serverCPUs,
        extraArguments=extra, name="mailfront DNS",
    )
    try:
        knot = startKnot(zones, settings.workDirectory, settings.serverCPUs)
    except RuntimeError as e:
        mailfront.stop()
        report.fail(f"DNS: Knot did not start: {e}")
        return
    try:
        knotResult = runDnsperf(knot.port, queries, settings.seconds, settings.clientCPUs)
        mailfrontResult = runDnsperf(dnsPort, queries, settings.seconds, settings.clientCPUs)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        report.fail(f"DNS: {e}")
        return
    finally:
        knot.stop()
        mailfront.stop()
    _row(report, "mailfront", mailfrontResult, knotResult)
    _row(report, "Knot", knotResult, knotResult)
    if mailfrontResult.lost or "NOERROR" not in mailfrontResult.responseCodes:
        report.fail(f"DNS: mailfront lost {mailfrontResult.lost} queries or answered "
                    f"{mailfrontResult.responseCodes}")
