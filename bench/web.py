"""
The HTTP part of the benchmark: every scenario against mailfront, the
ceiling and automx2, and mailfront's scaling from one worker to two.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator, Optional, Sequence

from .mailfront import hasOption, startMailfront
from .peer import PeerUnavailable, preparePeer, startAutomx2
from .registry import BenchRegistry, writeRegistry
from .report import CEILING, MAILFRONT, PEER, Measurement, Report
from .scenarios import SCENARIOS, Answer, Scenario, fetch, sampleRequests
from .servers import ROOT, ServerProcess, StartError, freePort, startProcess, twistdCommand
from .settings import Settings
from .wrk import LoadResult, WrkError, runWrk, writeRequestList

__all__ = ["runHttp", "runWorkers"]

#: Responses checked on each server before it is loaded.
CHECKED_RESPONSES = 5


@contextlib.contextmanager
def _running(server: Optional[ServerProcess]) -> Iterator[Optional[ServerProcess]]:
    try:
        yield server
    finally:
        if server is not None:
            server.stop()


def _checkServer(
    server: ServerProcess,
    scenario: Scenario,
    registry: BenchRegistry,
    pairs: list[tuple[str, str]],
    peer: bool = False,
) -> tuple[Optional[Answer], Optional[str]]:
    """
    Fetch a few responses and check them.

    @return: The first response, and a problem or C{None}.
    """
    first = None
    for address, domain in pairs[:CHECKED_RESPONSES]:
        answer = fetch(server.port, scenario, address, domain, peer=peer)
        first = first or answer
        if answer.status != 200:
            return first, f"{server.name} answered {answer.status} for {domain}"
        index = int(domain.split("-")[1].split(".")[0])
        problem = scenario.check(answer, domain, registry.providerOf(index))
        if problem is not None:
            return first, f"{server.name} for {domain}: {problem}"
    return first, None


def _startCeiling(settings: Settings, scenario: Scenario, sample: Answer) -> ServerProcess:
    body = settings.path(f"ceiling-{scenario.name}.body")
    with open(body, "wb") as f:
        f.write(sample.body)
    port = freePort()
    return startProcess(
        CEILING,
        twistdCommand("-y", os.path.join(ROOT, "bench", "ceiling.tac"),
                      logPath=settings.path(f"ceiling-{scenario.name}.log")),
        port,
        settings.path(f"ceiling-{scenario.name}.log"),
        cpus=settings.serverCPUs,
        environment={
            "BENCH_CEILING_PORT": str(port),
            "BENCH_CEILING_BODY": body,
            "BENCH_CEILING_CONTENT_TYPE": sample.contentType or "application/octet-stream",
        },
    )


def _requestList(
    settings: Settings, scenario: Scenario, pairs: list[tuple[str, str]], peer: bool
) -> str:
    path = settings.path(f"requests-{scenario.name}{'-peer' if peer else ''}.txt")
    makePath = scenario.peerPath if peer else scenario.mailfrontPath
    writeRequestList(
        path,
        [
            (scenario.method, scenario.hostPrefix + domain, makePath(address), address)
            for address, domain in pairs
        ],
    )
    return path


def _bodyTemplate(settings: Settings, scenario: Scenario) -> Optional[str]:
    if scenario.body is None:
        return None
    path = settings.path(f"body-{scenario.name}.xml")
    with open(path, "wb") as f:
        f.write(scenario.body)
    return path


def _loadOnce(
    settings: Settings,
    scenario: Scenario,
    server: ServerProcess,
    requestList: str,
    connections: int,
    seconds: float,
) -> LoadResult:
    return runWrk(
        url=server.url,
        requestList=requestList,
        connections=connections,
        seconds=seconds,
        cpus=settings.clientCPUs,
        bodyTemplate=_bodyTemplate(settings, scenario),
        contentType=scenario.contentType,
    )


def _load(
    settings: Settings,
    report: Report,
    section: str,
    scenario: Scenario,
    targets: Sequence[tuple[str, ServerProcess, str]],
    connections: int,
    warm: bool,
) -> None:
    """
    Load every target C{settings.repeat} times in turn and record the
    fastest run of each.
    """
    best: dict[str, LoadResult] = {}
    try:
        if warm and settings.warmupSeconds > 0:
            for target, server, requestList in targets:
                _loadOnce(settings, scenario, server, requestList, connections,
                          settings.warmupSeconds)
        for _ in range(settings.repeat):
            for target, server, requestList in targets:
                result = _loadOnce(settings, scenario, server, requestList, connections,
                                   settings.seconds)
                _checkLoad(report, scenario, target, result)
                if target not in best or result.requestsPerSecond > best[target].requestsPerSecond:
                    best[target] = result
    except WrkError as e:
        report.fail(f"{scenario.title}, {connections} connections: {e}")
    for target, _, _ in targets:
        if target in best:
            report.add(Measurement(section, scenario.title, target, best[target]))


def _checkLoad(report: Report, scenario: Scenario, target: str, result: LoadResult) -> None:
    if not result.failures:
        return
    message = (
        f"{scenario.title} on {target}, {result.connections} connections: "
        f"{result.failures} answers were not 200 with a body (statuses "
        f"{dict(result.statuses)}, socket errors {dict(result.socketErrors)})"
    )
    if target == PEER:
        report.note(message)
    else:
        report.fail(message)


def _startPeer(
    settings: Settings, report: Report, registry: BenchRegistry
) -> Optional[ServerProcess]:
    if not settings.peer:
        report.note("automx2 is not measured (--no-peer)")
        return None
    try:
        venv = preparePeer(settings.workDirectory)
        return startAutomx2(venv, registry, settings.workDirectory, settings.serverCPUs)
    except PeerUnavailable as e:
        report.fail(f"automx2 could not be installed or started, so it is not measured: {e}")
        return None


def runHttp(settings: Settings, report: Report) -> None:
    """
    Measure every scenario on mailfront, the ceiling and the peer, at every
    connection count, and record each result in C{report}.

    A scenario for which mailfront returns 404 is skipped with a note,
    because its protocol is not in the code under test.
    """
    registry = writeRegistry(settings.path("registries", str(settings.domains)), settings.domains)
    pairs = sampleRequests(registry, settings.addresses)
    mailfront = startMailfront(
        registry.directory, settings.path("mailfront.log"), settings.serverCPUs
    )
    with _running(mailfront), _running(_startPeer(settings, report, registry)) as peer:
        for scenario in SCENARIOS:
            if scenario.name not in settings.scenarios:
                continue
            sample, problem = _checkServer(mailfront, scenario, registry, pairs)
            if sample is not None and sample.status == 404:
                report.note(
                    f"{scenario.title} skipped: mailfront returns 404 for "
                    f"{scenario.mailfrontPath('user@domain').split('?')[0]}, so the code "
                    "under test does not serve it yet"
                )
                continue
            if problem is not None or sample is None:
                report.fail(f"{scenario.title}: {problem}")
                continue
            _runScenario(settings, report, scenario, registry, pairs, mailfront, peer, sample)


def _runScenario(
    settings: Settings,
    report: Report,
    scenario: Scenario,
    registry: BenchRegistry,
    pairs: list[tuple[str, str]],
    mailfront: ServerProcess,
    peer: Optional[ServerProcess],
    sample: Answer,
) -> None:
    targets: list[tuple[str, ServerProcess, str]] = []
    mailfrontList = _requestList(settings, scenario, pairs, peer=False)
    try:
        ceiling = _startCeiling(settings, scenario, sample)
    except StartError as e:
        report.fail(f"the ceiling did not start: {e}")
        return
    with _running(ceiling):
        targets.append((MAILFRONT, mailfront, mailfrontList))
        targets.append((CEILING, ceiling, mailfrontList))
        if peer is not None:
            _, problem = _checkServer(peer, scenario, registry, pairs, peer=True)
            if problem is None:
                targets.append((PEER, peer, _requestList(settings, scenario, pairs, peer=True)))
            else:
                report.note(f"{scenario.title}: automx2 not measured, because {problem}")
        for number, connections in enumerate(settings.connections):
            _load(settings, report, "http", scenario, targets, connections, warm=number == 0)


#: Seconds the workers get to report that they serve.
WORKERS_TIMEOUT = 60.0


def _waitForWorkers(server: ServerProcess, count: int) -> bool:
    """
    Wait until worker 0 has logged that each other worker serves.
    """
    deadline = time.monotonic() + WORKERS_TIMEOUT
    while time.monotonic() < deadline and server.running():
        if server.log().count(" is serving, pid ") >= count - 1:
            return True
        time.sleep(0.1)
    return False


def runWorkers(settings: Settings, report: Report, workerCounts: tuple[int, ...] = (1, 2)) -> None:
    """
    Measure Autoconfig at the highest connection count with one worker
    process and with two sharing the listening socket.

    The workers may use every CPU but the first, plus the first when there
    are only two: then the second worker shares a CPU with C{wrk}.
    """
    if not hasOption("--workers"):
        report.note("worker scaling skipped: twistd mailfront has no --workers option")
        return
    registry = writeRegistry(settings.path("registries", str(settings.domains)), settings.domains)
    pairs = sampleRequests(registry, settings.addresses)
    scenario = SCENARIOS[0]
    requestList = _requestList(settings, scenario, pairs, peer=False)
    connections = max(settings.connections)
    cpuCount = os.cpu_count() or 1
    for count in workerCounts:
        cpus = settings.serverCPUs
        if count > 1 and settings.serverCPUs is not None:
            cpus = ",".join(str(cpu) for cpu in range(cpuCount)) if cpuCount <= count else (
                ",".join(str(cpu) for cpu in range(1, count + 1))
            )
        target = f"{MAILFRONT}, {count} worker{'s' if count > 1 else ''} (CPUs {cpus or 'any'})"
        server = startMailfront(
            registry.directory, settings.path(f"mailfront-workers-{count}.log"), cpus, workers=count
        )
        with _running(server):
            if not _waitForWorkers(server, count):
                report.fail(f"{target}: the workers did not report serving within "
                            f"{WORKERS_TIMEOUT:g} s")
                continue
            _, problem = _checkServer(server, scenario, registry, pairs)
            if problem is not None:
                report.fail(f"{target}: {problem}")
                continue
            _load(settings, report, "workers", scenario, [(target, server, requestList)],
                  connections, warm=True)
