"""
Tests for the admin listener: health, readiness, metrics and reload over
HTTP, and the metrics of the public Site.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, Optional

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase

from mailfront.admin import AdminTokenError, buildAdminSite, ensureAdminToken
from mailfront.metrics import Metrics, RequestStatistics
from mailfront.service import buildSite
from mailfront.show import requestInMemory

from .test_reload import PendingThread, ReloaderSetup, runAtOnce
from .versioned import DOMAIN, INVALID_SYNTAX, invalidVersion, validVersion, versionsOf, writeConfig

TOKEN = b"test-token-0123456789"
ADMIN = "http://127.0.0.1:8081"


def sampleValue(exposition: bytes, name: str, labels: Optional[dict[str, str]] = None) -> float:
    """
    Find one sample in a Prometheus text exposition.

    @raise KeyError: If there is no such sample.
    """
    for family in text_string_to_metric_families(exposition.decode("utf-8")):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return float(sample.value)
    raise KeyError(f"no sample {name} {labels}")


class AdminSetup(ReloaderSetup):
    """
    A service's holder, reloader and metrics over a temporary directory
    with version C{a}, and in-memory clients for the admin and public
    Sites.
    """

    def setUpAdmin(self, testCase: SynchronousTestCase, runInThread: Any = runAtOnce) -> None:
        self.setUpReloader(testCase, runInThread, now=1_800_000_000)
        self.metrics = Metrics(self.holder.current, self.clock.seconds())
        self.holder.addObserver(self.metrics.snapshotSwapped)
        self.reloader.addObserver(self.metrics.reloadFinished)
        site = buildAdminSite(self.holder, self.reloader, self.metrics, TOKEN, self.clock)
        # StubTreq makes its request methods at run time, unknown to mypy.
        self.admin: Any = StubTreq(site.resource)
        self.public = buildSite(self.holder, self.clock, requestObserver=self.metrics)

    def get(self, testCase: SynchronousTestCase, path: str) -> tuple[int, bytes]:
        response = testCase.successResultOf(self.admin.get(ADMIN + path))
        body = testCase.successResultOf(response.content())
        return response.code, body

    def readiness(self, testCase: SynchronousTestCase) -> dict[str, Any]:
        code, body = self.get(testCase, "/readyz")
        testCase.assertEqual(code, 200)
        report: dict[str, Any] = json.loads(body)
        return report

    def publicVersions(self, testCase: SynchronousTestCase) -> set[str]:
        """
        Ask the public Site for the domain's Autoconfig document and read
        which versions it shows.
        """
        response = requestInMemory(
            self.public,
            b"GET",
            b"/mail/config-v1.1.xml?emailaddress=fred%40" + DOMAIN.encode(),
        )
        testCase.assertEqual(response.status, 200)
        return set(versionsOf(response.body))


class HealthTests(SynchronousTestCase, AdminSetup):
    """
    C{/healthz} and C{/readyz}.
    """

    def setUp(self) -> None:
        self.setUpAdmin(self)

    def test_healthz(self) -> None:
        """
        C{/healthz} responds C{ok}.
        """
        self.assertEqual(self.get(self, "/healthz"), (200, b"ok\n"))

    def test_readyAtStartUp(self) -> None:
        """
        Right after start-up, C{/readyz} reports generation 1, its domains,
        and the start-up load as the last reload.
        """
        report = self.readiness(self)

        self.assertEqual(report["status"], "ready")
        self.assertEqual(report["generation"], 1)
        self.assertEqual(report["domains"], 1)
        self.assertFalse(report["reloading"])
        self.assertEqual(
            report["lastReload"],
            {
                "result": "success",
                "trigger": "start-up",
                "finishedAt": "2027-01-15T08:00:00Z",
                "generation": 1,
                "errors": [],
            },
        )
        self.assertEqual(report["reloads"], {"succeeded": 0, "failed": 0})

    def test_rejectedReloadVisible(self) -> None:
        """
        After an invalid change, the old configuration still serves
        requests, and C{/readyz} stays ready while naming the file, key and
        reason of each problem.
        """
        writeConfig(self.directory, invalidVersion())
        self.clock.advance(60)
        self.successResultOf(self.reloader.request("SIGHUP"))

        self.assertEqual(self.publicVersions(self), {"a"})
        report = self.readiness(self)
        self.assertEqual(report["generation"], 1)
        last = report["lastReload"]
        self.assertEqual(last["result"], "failure")
        self.assertEqual(last["trigger"], "SIGHUP")
        self.assertEqual(last["finishedAt"], "2027-01-15T08:01:00Z")
        path = os.path.join(self.directory, "service.toml")
        self.assertEqual(
            last["errors"][0],
            {
                "file": path,
                "key": "providers.versioned.incoming[0].port",
                "reason": "port 70001 is out of range; use 1 to 65535",
            },
        )
        self.assertEqual(report["lastSuccessfulReloadAt"], "2027-01-15T08:00:00Z")
        self.assertEqual(report["reloads"], {"succeeded": 0, "failed": 1})

    def test_appliedReloadVisible(self) -> None:
        """
        After a valid change, the new configuration serves and C{/readyz}
        reports the new generation.
        """
        writeConfig(self.directory, validVersion("b"))
        self.successResultOf(self.reloader.request("SIGHUP"))

        self.assertEqual(self.publicVersions(self), {"b"})
        report = self.readiness(self)
        self.assertEqual(report["generation"], 2)
        self.assertEqual(report["lastReload"]["result"], "success")

    def test_unknownPath(self) -> None:
        """
        Other paths are not found.
        """
        self.assertEqual(self.get(self, "/mail/config-v1.1.xml")[0], 404)


class MetricsTests(SynchronousTestCase, AdminSetup):
    """
    C{/metrics} in the Prometheus text format.
    """

    def setUp(self) -> None:
        self.setUpAdmin(self)

    def metricsText(self) -> bytes:
        code, body = self.get(self, "/metrics")
        self.assertEqual(code, 200)
        return body

    def test_configurationGauges(self) -> None:
        """
        The generation, number of domains and time of the last successful
        load are exposed from start-up on.
        """
        body = self.metricsText()

        self.assertEqual(sampleValue(body, "mailfront_config_generation"), 1)
        self.assertEqual(sampleValue(body, "mailfront_domains"), 1)
        self.assertEqual(
            sampleValue(body, "mailfront_config_last_reload_success_timestamp_seconds"),
            1_800_000_000,
        )
        self.assertEqual(sampleValue(body, "mailfront_config_last_reload_successful"), 1)

    def test_reloadCounters(self) -> None:
        """
        Applied and rejected reloads are counted apart; the gauges follow
        the configuration serving.
        """
        writeConfig(self.directory, validVersion("b"))
        self.clock.advance(30)
        self.successResultOf(self.reloader.request("test"))
        writeConfig(self.directory, INVALID_SYNTAX)
        self.clock.advance(30)
        self.successResultOf(self.reloader.request("test"))

        body = self.metricsText()

        self.assertEqual(sampleValue(body, "mailfront_reloads_total", {"result": "success"}), 1)
        self.assertEqual(sampleValue(body, "mailfront_reloads_total", {"result": "failure"}), 1)
        self.assertEqual(sampleValue(body, "mailfront_config_generation"), 2)
        self.assertEqual(
            sampleValue(body, "mailfront_config_last_reload_success_timestamp_seconds"),
            1_800_000_030,
        )
        self.assertEqual(sampleValue(body, "mailfront_config_last_reload_successful"), 0)

    def test_requestsByProtocolAndStatus(self) -> None:
        """
        Requests to the public Site are counted by protocol and status, with
        their latency in a histogram; requests no resource claimed count
        under protocol C{none}.
        """
        for _ in range(3):
            requestInMemory(
                self.public, b"GET", b"/mail/config-v1.1.xml?emailaddress=a%40" + DOMAIN.encode()
            )
        requestInMemory(
            self.public, b"GET", b"/mail/config-v1.1.xml?emailaddress=a%40unknown.example"
        )
        requestInMemory(self.public, b"GET", b"/nothing-here")

        body = self.metricsText()

        def requests(protocol: str, status: str) -> float:
            labels = {"protocol": protocol, "status": status}
            return sampleValue(body, "mailfront_requests_total", labels)

        self.assertEqual(requests("autoconfig", "200"), 3)
        self.assertEqual(requests("autoconfig", "404"), 1)
        self.assertEqual(requests("none", "404"), 1)
        self.assertEqual(
            sampleValue(
                body, "mailfront_request_duration_seconds_count", {"protocol": "autoconfig"}
            ),
            4,
        )
        self.assertEqual(
            sampleValue(
                body,
                "mailfront_request_duration_seconds_bucket",
                {"protocol": "autoconfig", "le": "0.0005"},
            ),
            4,
        )


class RequestStatisticsTests(SynchronousTestCase):
    """
    L{RequestStatistics} builds Prometheus histograms with C{le} semantics.
    """

    def test_bucketBounds(self) -> None:
        """
        A duration equal to a bucket's bound counts in that bucket, a longer
        one in the next, and one beyond every bound only in C{+Inf}; the
        buckets are cumulative.
        """
        statistics = RequestStatistics((0.001, 0.01))
        for duration in (0.001, 0.002, 5.0):
            statistics.count("autoconfig", 200, duration)
        registry = CollectorRegistry()
        registry.register(statistics)
        body = generate_latest(registry)

        def bucket(bound: str) -> float:
            labels = {"protocol": "autoconfig", "le": bound}
            return sampleValue(body, "mailfront_request_duration_seconds_bucket", labels)

        self.assertEqual([bucket("0.001"), bucket("0.01"), bucket("+Inf")], [1, 2, 3])
        self.assertAlmostEqual(
            sampleValue(body, "mailfront_request_duration_seconds_sum", {"protocol": "autoconfig"}),
            5.003,
        )


class ReloadEndpointTests(SynchronousTestCase, AdminSetup):
    """
    C{POST /reload} with the admin token.
    """

    def setUp(self) -> None:
        self.setUpAdmin(self)

    def post(self, authorization: Optional[bytes]) -> tuple[int, bytes]:
        headers = {} if authorization is None else {b"authorization": [authorization]}
        response = self.successResultOf(self.admin.post(ADMIN + "/reload", headers=headers))
        return response.code, self.successResultOf(response.content())

    def test_withoutToken(self) -> None:
        """
        Without a token, the reload is refused with 401 and nothing is
        reloaded.
        """
        writeConfig(self.directory, validVersion("b"))

        code, body = self.post(None)

        self.assertEqual((code, body), (401, b"a valid admin token is required\n"))
        self.assertEqual(self.publicVersions(self), {"a"})
        self.assertEqual(self.reloader.succeeded + self.reloader.failed, 0)

    def test_wrongToken(self) -> None:
        """
        A wrong token is refused like a missing one.
        """
        self.assertEqual(self.post(b"Bearer wrong")[0], 401)
        self.assertEqual(self.post(TOKEN)[0], 401)

    def test_applied(self) -> None:
        """
        With the token, a valid configuration is applied and the response is
        C{200} with the new generation.
        """
        writeConfig(self.directory, validVersion("b"))

        code, body = self.post(b"Bearer " + TOKEN)

        self.assertEqual(code, 200)
        result = json.loads(body)
        self.assertEqual((result["result"], result["generation"]), ("success", 2))
        self.assertEqual(result["trigger"], "admin request")
        self.assertEqual(self.publicVersions(self), {"b"})

    def test_rejected(self) -> None:
        """
        An invalid configuration gets C{422} and its problems.
        """
        writeConfig(self.directory, INVALID_SYNTAX)

        code, body = self.post(b"Bearer " + TOKEN)

        self.assertEqual(code, 422)
        result = json.loads(body)
        self.assertEqual(result["result"], "failure")
        self.assertEqual(result["errors"][0]["file"], os.path.join(self.directory, "service.toml"))
        self.assertIn("invalid TOML", result["errors"][0]["reason"])

    def test_get(self) -> None:
        """
        GET is not a way to reload.
        """
        code, _ = self.get(self, "/reload")

        self.assertEqual(code, 405)
        self.assertEqual(self.reloader.succeeded + self.reloader.failed, 0)


class ReloadEndpointWaitsTests(SynchronousTestCase, AdminSetup):
    """
    The response to C{POST /reload} comes when the reload ends.
    """

    def test_responseAfterReload(self) -> None:
        """
        While the reload builds, the request has no response. When it
        ends, the response carries its result.
        """
        thread = PendingThread()
        self.setUpAdmin(self, thread)
        writeConfig(self.directory, validVersion("b"))

        responding = self.admin.post(
            ADMIN + "/reload", headers={b"authorization": [b"Bearer " + TOKEN]}
        )
        self.admin.flush()
        self.assertNoResult(responding)
        thread.runNext()
        self.admin.flush()

        response = self.successResultOf(responding)
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(self.successResultOf(response.content()))["generation"], 2)


class AdminTokenTests(SynchronousTestCase):
    """
    L{ensureAdminToken} keeps the reload token in a private file.
    """

    def test_generatedOnce(self) -> None:
        """
        Without a file, a random token is written, readable by its owner
        only; the next call reads the same token.
        """
        path = os.path.join(self.mktemp(), "admin-token")

        token = ensureAdminToken(path)

        self.assertGreaterEqual(len(token), 40)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(ensureAdminToken(path), token)

    def test_operatorToken(self) -> None:
        """
        A token the operator wrote is used without its line break.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("chosen-by-operator\n")

        self.assertEqual(ensureAdminToken(path), b"chosen-by-operator")

    def test_emptyFile(self) -> None:
        """
        An empty token file is an error whose message names the fix.
        """
        path = self.mktemp()
        open(path, "w").close()

        error = self.assertRaises(AdminTokenError, ensureAdminToken, path)

        self.assertIn("is empty; write a token into it or delete it", str(error))

    def test_unreadable(self) -> None:
        """
        A token path that cannot be read is an error naming the file and
        the reason.
        """
        blocker = self.mktemp()
        open(blocker, "w").close()
        path = os.path.join(blocker, "admin-token")

        error = self.assertRaises(AdminTokenError, ensureAdminToken, path)

        self.assertEqual(str(error), f"cannot read the admin token file {path}: Not a directory")
