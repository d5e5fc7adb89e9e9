"""
End-to-end tests of what a running C{twistd mailfront} writes to its log,
as text and as JSON lines: access lines with their fields, and no address
or credential anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from typing import Sequence

import treq
from twisted.trial.unittest import TestCase
from twisted.web.http_headers import Headers

from .running import EXAMPLE_CONFIG, RunningService, startMailfront
from .test_log_privacy import CASES, LOCAL_PART, SECRETS
from .test_logs import ACCESS_FIELDS
from .test_reload_e2e import Client, waitForReloads

#: A configuration file whose problem quotes an address in its key and
#: reason.
BROKEN = '[domains."fred.secret@example.com"]\nprovider = "example-hosting"\n'


class LogFileSetup:
    """
    Runs a service on a copy of the example configuration, sends every
    request of the privacy table, has it reject a configuration whose
    problem quotes an address, and sends an admin request with its token.
    """

    async def exercise(self, testCase: TestCase, twistdArguments: Sequence[str]) -> RunningService:
        directory = os.path.abspath(testCase.mktemp())
        shutil.copytree(EXAMPLE_CONFIG, directory)
        service = startMailfront(
            testCase,
            config=directory,
            extraArguments=["--watch", "off"],
            twistdArguments=twistdArguments,
        )
        client = Client(testCase)
        for case in CASES:
            response = await treq.request(
                case.method.decode(),
                f"http://127.0.0.1:{service.httpPort}{case.target.decode()}",
                headers=Headers({name: [value] for name, value in case.headers}),
                data=case.body or None,
                pool=client.pool,
                timeout=10,
            )
            await treq.content(response)
            testCase.assertEqual(response.code, case.status, case.name)

        with open(os.path.join(directory, "broken.toml"), "w") as f:
            f.write(BROKEN)
        os.kill(service.process.pid, signal.SIGHUP)
        await waitForReloads(client, service, 0, 1)

        with open(service.adminTokenPath) as f:
            token = f.read().strip()
        for value in (f"Bearer {token}", f"Bearer {LOCAL_PART}"):
            response = await treq.post(
                f"http://127.0.0.1:{service.adminPort}/reload",
                headers=Headers({"Authorization": [value]}),
                pool=client.pool,
                timeout=10,
            )
            await treq.content(response)
        self.token = token
        return service

    def assertClean(self, testCase: TestCase, log: str) -> None:
        for secret in (*SECRETS, self.token):
            testCase.assertNotIn(secret, log)


class TextLogTests(TestCase, LogFileSetup):
    """
    The default text log.
    """

    async def test_textLog(self) -> None:
        """
        The text log has one access line per request with protocol,
        domain, status, client and duration. It logs the rejected
        configuration with the local part replaced, and contains no
        address, credential or admin token.
        """
        service = await self.exercise(self, [])
        log = service.log()

        access = [line for line in log.splitlines() if "[mailfront.access#info]" in line]
        self.assertEqual(len(access), len(CASES))
        self.assertRegex(
            access[0],
            r"\] GET /mail/config-v1\.1\.xml 200 protocol=autoconfig domain=example\.com "
            r"client=127\.0\.0\.1 duration=\d+\.\d{6}$",
        )
        self.assertIn('broken.toml: domains."*@example.com": ', log)
        self.assertClean(self, log)


class JSONLogTests(TestCase, LogFileSetup):
    """
    JSON lines with C{twistd --logger mailfront.logs.jsonLogObserver}.
    """

    async def test_jsonLog(self) -> None:
        """
        Every line of the log is a JSON object, and access records carry
        their fields as keys. The rejected configuration is logged with the
        local part replaced. No address, credential or admin token appears.
        """
        service = await self.exercise(self, ["--logger", "mailfront.logs.jsonLogObserver"])
        log = service.log()

        records = [json.loads(line) for line in log.splitlines()]
        access = [r for r in records if r["namespace"] == "mailfront.access"]
        self.assertEqual(len(access), len(CASES))
        first = access[0]
        self.assertEqual({k: first[k] for k in ACCESS_FIELDS}, ACCESS_FIELDS)
        self.assertIsInstance(first["duration"], float)
        rejected = [r for r in records if r["level"] == "error"]
        self.assertEqual(rejected[0]["key"], 'domains."*@example.com"')
        self.assertClean(self, log)
