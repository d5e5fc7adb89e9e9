"""
End-to-end tests of live reload against a running C{twistd mailfront}:
SIGHUP, C{mailfront reload}, and reloads under concurrent load.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
from typing import Any, Awaitable, Callable

import attrs
import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool

from mailfront.cli import main

from .running import RunningService, freePort, startMailfront
from .versioned import (
    DOMAIN,
    FILE_NAME,
    INVALID_SYNTAX,
    invalidVersion,
    validVersion,
    versionsOf,
    writeConfig,
)

#: Seconds a test waits for a reload to show before it fails.
RELOAD_TIMEOUT = 15.0


class Client:
    """
    An HTTP client for one test, whose connections are closed when the
    test ends.
    """

    def __init__(self, testCase: TestCase, connections: int = 2) -> None:
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = connections
        testCase.addCleanup(self.pool.closeCachedConnections)

    async def get(self, url: str) -> tuple[int, bytes]:
        response = await treq.get(url, pool=self.pool, timeout=10)
        body = await treq.content(response)
        return response.code, body


def autoconfigURL(service: RunningService) -> str:
    return f"http://127.0.0.1:{service.httpPort}/mail/config-v1.1.xml?emailaddress=fred%40{DOMAIN}"


def adminURL(service: RunningService, path: str = "") -> str:
    return f"http://127.0.0.1:{service.adminPort}{path}"


async def readiness(client: Client, service: RunningService) -> dict[str, Any]:
    code, body = await client.get(adminURL(service, "/readyz"))
    assert code == 200, body
    report: dict[str, Any] = json.loads(body)
    return report


async def servedVersions(client: Client, service: RunningService) -> set[str]:
    code, body = await client.get(autoconfigURL(service))
    assert code == 200, body
    return set(versionsOf(body))


async def waitUntil(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """
    Poll C{check} every 50 ms until it is true, for at most
    L{RELOAD_TIMEOUT} seconds.
    """
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {RELOAD_TIMEOUT} s waiting for {what}")
        await deferLater(reactor, 0.05, lambda: None)


def configDirectory(testCase: TestCase, version: str, extraDomains: int = 0) -> str:
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    writeConfig(directory, validVersion(version, extraDomains))
    return directory


async def waitForReloads(
    client: Client, service: RunningService, succeeded: int, failed: int
) -> dict[str, Any]:
    """
    Wait until the service has completed at least this many reloads of
    each kind, and return its readiness report.
    """
    report: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal report
        report = await readiness(client, service)
        counts = report["reloads"]
        return bool(counts["succeeded"] >= succeeded and counts["failed"] >= failed)

    await waitUntil(done, f"{succeeded} applied and {failed} rejected reloads")
    return report


class HangupEndToEndTests(TestCase):
    """
    SIGHUP reloads a running service.
    """

    async def test_sighup(self) -> None:
        """
        After SIGHUP, a valid change is served; after another SIGHUP, an
        invalid change is rejected, the previous configuration keeps
        serving and C{/readyz} names the problem.
        """
        directory = configDirectory(self, "a")
        service = startMailfront(self, config=directory, extraArguments=["--watch", "off"])
        client = Client(self)
        self.assertEqual(await servedVersions(client, service), {"a"})

        writeConfig(directory, validVersion("b"))
        os.kill(service.process.pid, signal.SIGHUP)
        report = await waitForReloads(client, service, 1, 0)

        self.assertEqual(report["generation"], 2)
        self.assertEqual(report["lastReload"]["trigger"], "SIGHUP")
        self.assertEqual(await servedVersions(client, service), {"b"})

        writeConfig(directory, INVALID_SYNTAX)
        os.kill(service.process.pid, signal.SIGHUP)
        report = await waitForReloads(client, service, 1, 1)

        self.assertEqual(await servedVersions(client, service), {"b"})
        self.assertEqual(report["generation"], 2)
        error = report["lastReload"]["errors"][0]
        self.assertEqual(error["file"], os.path.join(directory, FILE_NAME))
        self.assertIn("invalid TOML", error["reason"])
        log = service.log()
        self.assertIn("Reloaded the configuration (SIGHUP): generation 2", log)
        self.assertIn(
            f"Configuration rejected: {os.path.join(directory, FILE_NAME)}: invalid TOML", log
        )
        self.assertEqual(service.process.poll(), None)

    async def test_directoryChange(self) -> None:
        """
        With the default C{--watch auto}, rewriting the configuration file
        is enough for the change to be served.
        """
        directory = configDirectory(self, "a")
        service = startMailfront(self, config=directory)
        client = Client(self)

        writeConfig(directory, validVersion("b"))

        async def servesB() -> bool:
            return await servedVersions(client, service) == {"b"}

        await waitUntil(servesB, "version b to be served")
        report = await readiness(client, service)
        self.assertEqual(report["lastReload"]["trigger"], "configuration directory changed")


def runCommand(*arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(arguments), out, err)
    return status, out.getvalue(), err.getvalue()


class ReloadCommandEndToEndTests(TestCase):
    """
    C{mailfront reload} against a running service.
    """

    async def test_adminRequest(self) -> None:
        """
        Through the admin listener, the command prints the new generation
        after an applied reload and exits 0, prints every problem of a
        rejected one and exits 1, and exits 2 when the token is wrong.
        """
        directory = configDirectory(self, "a")
        service = startMailfront(self, config=directory, extraArguments=["--watch", "off"])
        client = Client(self)
        command = ("reload", "--admin", adminURL(service), "--token-file", service.adminTokenPath)

        writeConfig(directory, validVersion("b"))
        status, out, err = runCommand(*command)

        self.assertEqual((status, out, err), (0, "reloaded: generation 2 is serving\n", ""))
        self.assertEqual(await servedVersions(client, service), {"b"})

        writeConfig(directory, invalidVersion())
        status, out, err = runCommand(*command)

        path = os.path.join(directory, FILE_NAME)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err.split("\n"),
            [
                "reload rejected; generation 2 is still serving:",
                f"  {path}: providers.versioned.incoming[0].port: port 70001 is out of range; "
                "use 1 to 65535",
                f"  {path}: providers.versioned.outgoing[0].port: port 70002 is out of range; "
                "use 1 to 65535",
                "",
            ],
        )
        self.assertEqual(await servedVersions(client, service), {"b"})

        wrongToken = self.mktemp()
        with open(wrongToken, "w") as f:
            f.write("not-the-token\n")
        status, out, err = runCommand(
            "reload", "--admin", adminURL(service), "--token-file", wrongToken
        )

        self.assertEqual((status, out), (2, ""))
        self.assertEqual(
            err,
            f"reload through {adminURL(service)} failed: HTTP Error 401: Unauthorized\n",
        )

    async def test_pidfile(self) -> None:
        """
        With C{--pidfile}, the command sends SIGHUP to the process and the
        service reloads.
        """
        directory = configDirectory(self, "a")
        service = startMailfront(self, config=directory, extraArguments=["--watch", "off"])
        client = Client(self)
        pidfile = self.mktemp()
        with open(pidfile, "w") as f:
            f.write(f"{service.process.pid}\n")

        writeConfig(directory, validVersion("b"))
        status, out, _ = runCommand("reload", "--pidfile", pidfile)

        self.assertEqual(status, 0)
        self.assertTrue(out.startswith(f"sent SIGHUP to process {service.process.pid};"), out)
        await waitForReloads(client, service, 1, 0)
        self.assertEqual(await servedVersions(client, service), {"b"})

    def test_missingTokenFile(self) -> None:
        """
        Without the token file, the command names it and exits 2.
        """
        path = self.mktemp()

        status, out, err = runCommand("reload", "--token-file", path)

        self.assertEqual((status, out), (2, ""))
        self.assertEqual(
            err, f"cannot read the admin token file {path}: No such file or directory\n"
        )

    def test_unreachable(self) -> None:
        """
        When nothing listens at the admin URL, the command reports it and
        exits 2.
        """
        token = self.mktemp()
        with open(token, "w") as f:
            f.write("token\n")
        url = f"http://127.0.0.1:{freePort()}"

        status, out, err = runCommand("reload", "--admin", url, "--token-file", token)

        self.assertEqual((status, out), (2, ""))
        self.assertTrue(err.startswith(f"reload through {url} failed: "), err)
        self.assertIn("Connection refused", err)


@attrs.define
class LoadRecord:
    """
    What the load generator saw.

    @ivar versions: How many consistent responses came from each version.
    @ivar failures: Descriptions of failed requests.
    @ivar mixed: Responses whose fields name more than one version.
    """

    versions: dict[str, int] = attrs.Factory(dict)
    failures: list[str] = attrs.Factory(list)
    mixed: list[list[str]] = attrs.Factory(list)
    sent: int = 0
    stop: bool = False


class ReloadUnderLoadTests(TestCase):
    """
    Reloads while clients keep asking never fail a request and never mix
    two configurations in one response.
    """

    #: Concurrent clients, rewrites of the configuration, and the most
    #: requests and seconds the test may spend.
    WORKERS = 8
    ROUNDS = 30
    MAX_REQUESTS = 20000
    MAX_SECONDS = 90.0

    #: Domains added to each version, so that building each snapshot takes
    #: long enough for requests to arrive while it runs.
    EXTRA_DOMAINS = 10000

    async def worker(self, client: Client, url: str, record: LoadRecord) -> None:
        while not record.stop and record.sent < self.MAX_REQUESTS:
            record.sent += 1
            responding: Deferred[tuple[int, bytes]] = Deferred.fromCoroutine(client.get(url))
            # A failed request is counted, not raised, so the load goes on.
            outcome: Any = await responding.addErrback(lambda failure: [failure])
            if isinstance(outcome, list):
                failure: Failure = outcome[0]
                record.failures.append(failure.getErrorMessage())
                continue
            code, body = outcome
            if code != 200:
                record.failures.append(f"status {code}: {body[:200]!r}")
                continue
            versions = versionsOf(body)
            if len(set(versions)) != 1:
                record.mixed.append(versions)
                continue
            record.versions[versions[0]] = record.versions.get(versions[0], 0) + 1

    async def rewrite(
        self, directory: str, service: RunningService, client: Client, record: LoadRecord
    ) -> int:
        """
        Write valid and invalid versions in turn, with a SIGHUP after each
        write on top of what the directory watcher notices, and wait for each
        to take effect or be rejected.

        @return: The number of invalid versions written.
        """
        previous = "a"
        invalid = 0
        for round in range(self.ROUNDS):
            if round % 2 == 0:
                version = "b" if previous == "a" else "a"
                writeConfig(directory, validVersion(version, self.EXTRA_DOMAINS))
                os.kill(service.process.pid, signal.SIGHUP)

                async def serving(version: str = version) -> bool:
                    return await servedVersions(client, service) == {version}

                await waitUntil(serving, f"version {version} to be served")
                previous = version
            else:
                before = (await readiness(client, service))["reloads"]["failed"]
                if round % 4 == 1:
                    writeConfig(directory, INVALID_SYNTAX)
                else:
                    writeConfig(directory, invalidVersion(self.EXTRA_DOMAINS))
                os.kill(service.process.pid, signal.SIGHUP)
                invalid += 1

                async def rejected(before: int = before) -> bool:
                    report = await readiness(client, service)
                    return bool(report["reloads"]["failed"] > before and not report["reloading"])

                await waitUntil(rejected, "the invalid version to be rejected")
                self.assertEqual(await servedVersions(client, service), {previous})
        return invalid

    async def test_consistentResponses(self) -> None:
        """
        Eight clients request the same domain continuously while the
        configuration is rewritten thirty times, alternating valid and
        invalid versions. No request fails, and every response comes from
        one version entirely. Both valid versions are served, and every
        invalid version is rejected.
        """
        directory = configDirectory(self, "a", self.EXTRA_DOMAINS)
        service = startMailfront(self, config=directory)
        loadClient = Client(self, self.WORKERS)
        controlClient = Client(self)
        record = LoadRecord()
        started = time.monotonic()

        workers = [
            Deferred.fromCoroutine(self.worker(loadClient, autoconfigURL(service), record))
            for _ in range(self.WORKERS)
        ]
        try:
            invalid = await self.rewrite(directory, service, controlClient, record)
        finally:
            record.stop = True
            await DeferredList(workers)

        self.assertLess(time.monotonic() - started, self.MAX_SECONDS)
        self.assertEqual(record.failures, [])
        self.assertEqual(record.mixed, [])
        self.assertEqual(sorted(record.versions), ["a", "b"])
        self.assertGreaterEqual(sum(record.versions.values()), 200)
        report = await readiness(controlClient, service)
        self.assertGreaterEqual(report["reloads"]["failed"], invalid)
        self.assertEqual(service.process.poll(), None)
