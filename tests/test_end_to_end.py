"""
End-to-end tests: the real C{twistd -n mailfront} on 127.0.0.1, asked over
real HTTP and HTTPS connections.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from lxml import etree
from twisted.internet import reactor
from twisted.internet.ssl import Certificate
from twisted.trial.unittest import TestCase
from treq.client import HTTPClient
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool

from .running import EXAMPLE_CONFIG, ROOT, TWISTD, RunningService, startMailfront

# The example configuration's settings, written out by hand: the test
# compares the served XML against these values, not against the renderer.
_HOSTING = {
    "incoming": [
        ("imap", "mail.example-hosting.net", "993", "SSL", "%EMAILADDRESS%"),
        ("imap", "mail.example-hosting.net", "143", "STARTTLS", "%EMAILADDRESS%"),
        ("pop3", "mail.example-hosting.net", "995", "SSL", "%EMAILADDRESS%"),
    ],
    "outgoing": [
        ("smtp", "smtp.example-hosting.net", "465", "SSL", "%EMAILADDRESS%"),
        ("smtp", "smtp.example-hosting.net", "587", "STARTTLS", "%EMAILADDRESS%"),
    ],
    "displayName": "Example Hosting Mail",
    "authentication": ["password-cleartext"],
}
_SCHOOL = {
    "incoming": [("imap", "imap.school.example", "993", "SSL", "%EMAILLOCALPART%")],
    "outgoing": [("smtp", "smtp.school.example", "587", "STARTTLS", "%EMAILLOCALPART%")],
    "displayName": "Example School",
    "authentication": ["OAuth2", "password-cleartext"],
}


def _servers(root: etree._Element, tag: str) -> list[tuple[Any, ...]]:
    return [
        (s.get("type"), s.findtext("hostname"), s.findtext("port"), s.findtext("socketType"),
         s.findtext("username"))
        for s in root.iterfind(f"emailProvider/{tag}")
    ]


class AutoconfigEndToEndTests(TestCase):
    """
    A client fetching both Autoconfig URLs from the running service gets each
    domain's own settings over HTTP and over HTTPS.
    """

    timeout = 60

    def setUp(self) -> None:
        self.service: RunningService = startMailfront(self)
        with open(self.service.certificatePath, "rb") as f:
            trustRoot = Certificate.loadPEM(f.read())
        pool = HTTPConnectionPool(reactor, persistent=False)
        policy = BrowserLikePolicyForHTTPS(trustRoot=trustRoot)
        self.https = HTTPClient(Agent(reactor, contextFactory=policy, pool=pool))
        self.http = HTTPClient(Agent(reactor, pool=pool))

    async def fetch(self, client: Any, url: str, host: str) -> bytes:
        response = await client.get(url, headers={"Host": host})
        body: bytes = await response.content()
        self.assertEqual(response.code, 200, body)
        self.assertEqual(response.headers.getRawHeaders(b"content-type"),
                         [b"application/xml; charset=utf-8"])
        return body

    def check(self, body: bytes, domain: str, expected: dict[str, Any]) -> None:
        root = etree.fromstring(body)
        self.assertEqual(root.findtext("emailProvider/domain"), domain)
        self.assertEqual(root.find("emailProvider").get("id"), domain)  # type: ignore[union-attr]
        self.assertEqual(root.findtext("emailProvider/displayName"), expected["displayName"])
        self.assertEqual(_servers(root, "incomingServer"), expected["incoming"])
        self.assertEqual(_servers(root, "outgoingServer"), expected["outgoing"])
        for server in root.iterfind("emailProvider/*[authentication]"):
            self.assertEqual([a.text for a in server.findall("authentication")],
                             expected["authentication"])

    async def test_httpsAndHttp(self) -> None:
        """
        Both URLs, over HTTPS with the generated certificate verified and over
        plain HTTP, serve each domain with its own servers.
        """
        https = f"https://127.0.0.1:{self.service.httpsPort}"
        http = f"http://127.0.0.1:{self.service.httpPort}"
        cases = [
            ("example.com", _HOSTING, "fred%40example.com"),
            ("school.example", _SCHOOL, "pupil%40school.example"),
        ]
        for domain, expected, address in cases:
            for base, client in ((https, self.https), (http, self.http)):
                for path in ("/mail/config-v1.1.xml",
                             "/.well-known/autoconfig/mail/config-v1.1.xml"):
                    body = await self.fetch(client, f"{base}{path}?emailaddress={address}",
                                            f"autoconfig.{domain}")
                    self.check(body, domain, expected)
                    body = await self.fetch(client, f"{base}{path}", f"autoconfig.{domain}")
                    self.check(body, domain, expected)

    async def test_unknownDomain(self) -> None:
        """
        An unknown domain gets 404 over the network too.
        """
        response = await self.http.get(
            f"http://127.0.0.1:{self.service.httpPort}/mail/config-v1.1.xml"
            "?emailaddress=a%40unknown.example"
        )
        self.assertEqual(response.code, 404)
        await response.content()

    def test_selfSignedLogged(self) -> None:
        """
        The first start logs that it generated a self-signed certificate.
        """
        self.assertIn("generated a self-signed certificate", self.service.log())


class TacEndToEndTests(TestCase):
    """
    C{twistd -ny mailfront.tac} serves the same service.
    """

    timeout = 60

    async def test_tac(self) -> None:
        """
        The tac file's service serves Autoconfig over plain HTTP.
        """
        service = startMailfront(self, tac=os.path.join(ROOT, "mailfront.tac"))
        client = HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False)))
        response = await client.get(
            f"http://127.0.0.1:{service.httpPort}/mail/config-v1.1.xml",
            headers={"Host": "autoconfig.school.example"},
        )
        body = await response.content()
        self.assertEqual(response.code, 200)
        self.assertEqual(etree.fromstring(body).findtext("emailProvider/domain"),
                         "school.example")


class CommandLineTests(TestCase):
    """
    The command line reports a bad configuration in one message, without a
    traceback.
    """

    def test_invalidConfiguration(self) -> None:
        """
        C{twistd mailfront} with a broken file exits with the file, key and
        reason, and no traceback.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "bad.toml"), "w") as f:
            f.write('[providers.x]\ndisplay-nam = "X"\n')
        environment = dict(os.environ, PYTHONPATH=ROOT)
        result = subprocess.run(
            [*TWISTD, "--nodaemon", "--pidfile=", "mailfront",
             "--config", directory],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
        )
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("bad.toml: providers.x.display-nam: unknown key; did you mean "
                      "'display-name'?", output)
        self.assertNotIn("Traceback", output)

    def test_check(self) -> None:
        """
        C{mailfront check} accepts the example configuration.
        """
        result = subprocess.run(
            [sys.executable, "-m", "mailfront.cli", "check", EXAMPLE_CONFIG],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("valid, 2 providers, 7 domains", result.stdout)
