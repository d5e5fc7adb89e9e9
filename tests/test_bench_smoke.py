"""
The benchmark harness in its smoke mode: every part runs against real
servers for about a second, and the responses are checked. No timing is
asserted.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from bench.registry import domainName, writeRegistry
from mailfront.registry import loadDirectory

from .running import ROOT

#: Seconds the whole smoke run may take before the test fails.
SMOKE_TIMEOUT = 120


@functools.lru_cache(maxsize=None)
def _smokeRun() -> tuple[int, str, str]:
    """
    Run the smoke mode once for every test of L{BenchSmokeTests}.

    @return: The exit status, what it printed, and its results file.
    """
    work = tempfile.mkdtemp(prefix="bench-smoke-", dir=os.getcwd())
    output = os.path.join(work, "results.json")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--work-dir", work, "--output", output],
        cwd=ROOT, capture_output=True, text=True, timeout=SMOKE_TIMEOUT, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr, output


class BenchSmokeTests(SynchronousTestCase):
    """
    C{python -m bench --smoke}, as CI runs it.
    """

    def setUp(self) -> None:
        if shutil.which("wrk") is None:
            raise self.skipTest("wrk is not installed (Debian package wrk)")
        self.exitCode, self.printed, self.output = _smokeRun()

    def results(self) -> dict[str, object]:
        self.assertTrue(os.path.exists(self.output), self.printed)
        with open(self.output, encoding="utf-8") as f:
            results: dict[str, object] = json.load(f)
        return results

    def test_smokeRunSucceeds(self) -> None:
        """
        The smoke run exits with status 0, so every response it checked was
        correct and every load run got only 200 responses with a body.
        """
        self.assertEqual(self.exitCode, 0, self.printed)
        self.assertFalse(self.results()["failed"], self.printed)

    def test_autoconfigMeasuredOnMailfrontAndCeiling(self) -> None:
        """
        Autoconfig GET is loaded on mailfront and on the ceiling, and every
        response counted was a 200.
        """
        runs = [r for r in self.results()["http"] if r["section"] == "http"]  # type: ignore[union-attr]
        targets = {r["target"] for r in runs if r["scenario"] == "Autoconfig GET"}
        self.assertEqual(targets, {"mailfront", "ceiling"}, self.printed)
        for run in runs:
            self.assertGreater(run["requests"], 0, run)
            self.assertEqual(set(run["statuses"]), {"200"}, run)
            self.assertEqual(run["emptyBodies"], 0, run)

    def test_laterScenariosMeasuredOrSkipped(self) -> None:
        """
        Autodiscover and the Apple profile are each either measured or
        named in a note that gives the reason for skipping them.
        """
        results = self.results()
        measured = {r["scenario"] for r in results["http"]}  # type: ignore[union-attr]
        notes = "\n".join(results["notes"])  # type: ignore[arg-type]
        for title in ("Autodiscover POST", "Apple profile GET"):
            self.assertTrue(
                title in measured or f"{title} skipped: mailfront returns 404" in notes,
                f"{title} neither measured nor skipped:\n{self.printed}",
            )

    def test_workersMeasured(self) -> None:
        """
        mailfront is loaded with one worker and with two.
        """
        targets = [r["target"] for r in self.results()["http"] if r["section"] == "workers"]  # type: ignore[union-attr]
        self.assertEqual(len(targets), 2, self.printed)
        self.assertIn("1 worker", targets[0])
        self.assertIn("2 workers", targets[1])

    def test_dnsMeasured(self) -> None:
        """
        SRV queries are answered by mailfront's DNS authority and by Knot
        with the zones mailfront exports, without a lost query.
        """
        rows = self.results()["tables"]["DNS"]  # type: ignore[index]
        self.assertEqual([row["Server"] for row in rows], ["mailfront", "Knot"], self.printed)
        for row in rows:
            self.assertGreater(row["Completed"], 0, row)
            self.assertEqual(row["Lost"], 0, row)
            self.assertTrue(row["Response codes"].startswith("NOERROR"), row)

    def test_reloadMeasured(self) -> None:
        """
        The scale part reloads its registry under load with no failed
        request.
        """
        rows = self.results()["tables"]["Reload"]  # type: ignore[index]
        self.assertEqual(len(rows), 1, self.printed)
        self.assertEqual(rows[0]["Non-200 during"], 0)

    def test_registryLoadMeasured(self) -> None:
        """
        The scale part reports the load time and memory of its registry.
        """
        rows = self.results()["tables"]["Registry load"]  # type: ignore[index]
        self.assertEqual([row["Domains"] for row in rows], ["200"], self.printed)
        self.assertGreater(float(rows[0]["Resident MiB"]), 0)


class GeneratedRegistryTests(SynchronousTestCase):
    """
    The registries the benchmark generates.
    """

    def test_loadsWithEveryDomain(self) -> None:
        """
        A generated registry passes mailfront's validation and serves every
        generated domain with its provider's five servers.
        """
        generated = writeRegistry(self.mktemp(), 25)
        registry = loadDirectory(generated.directory)
        self.assertEqual(len(registry.domains), 25)
        for index in (0, 13, 24):
            entry = registry.lookup(domainName(index))
            assert entry is not None
            provider = generated.providerOf(index)
            self.assertEqual(entry.provider.id, provider.id)
            hosts = [(s.type, s.hostname, s.port, s.socketType)
                     for s in (*entry.provider.incoming, *entry.provider.outgoing)]
            self.assertEqual(hosts, list(provider.servers()))
