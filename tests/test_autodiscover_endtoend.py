"""
End-to-end tests of Autodiscover: real requests over HTTPS and HTTP to
C{twistd -n mailfront} running on 127.0.0.1 with the example configuration.
"""

from __future__ import annotations

import json
from typing import Any, Generator

from lxml import etree
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.ssl import Certificate
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS

from .autodiscoverdata import (
    MOBILESYNC_NS,
    OUTLOOK_NS,
    ROOT_NS,
    mobileSyncRequest,
    outlookRequest,
    parseAnswer,
)
from .running import startMailfront

#: Credentials as Thunderbird sends them: Basic, with the user's address and
#: password.
CREDENTIALS = "Basic ZnJlZEBleGFtcGxlLmNvbTpob3JzZS1iYXR0ZXJ5"

#: How Outlook reads Encryption, and the Autoconfig socket type it means.
ENCRYPTION = {"SSL": "SSL", "TLS": "STARTTLS", "None": "plain"}


class EndToEndTests(TestCase):
    """
    Requests to the running service, as Outlook, ActiveSync devices and
    Outlook's JSON lookup send them.
    """

    timeout = 60

    def setUp(self) -> None:
        self.service = startMailfront(self)
        with open(self.service.certificatePath, "rb") as f:
            trustRoot = Certificate.loadPEM(f.read())
        agent = Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trustRoot))
        self.client = HTTPClient(agent)
        self.https = f"https://127.0.0.1:{self.service.httpsPort}"
        self.http = f"http://127.0.0.1:{self.service.httpPort}"

    @inlineCallbacks
    def fetch(
        self, method: str, url: str, body: bytes = b"", **headers: str
    ) -> Generator[Deferred[Any], Any, tuple[int, Any, bytes]]:
        """
        Send a request and read the status, headers and body.
        """
        response = yield self.client.request(
            method, url, data=body or None, headers=headers, allow_redirects=False
        )
        content = yield response.content()
        return response.code, response.headers, content

    @inlineCallbacks
    def test_outlookMatchesAutoconfig(self) -> Generator[Deferred[Any], Any, None]:
        """
        Outlook's POST, with credentials, gets settings that name the same
        servers, ports and security as the Autoconfig response of the domain,
        and no authentication challenge.
        """
        status, headers, body = yield self.fetch(
            "POST",
            self.https + "/Autodiscover/Autodiscover.xml",
            outlookRequest("fred@example.com"),
            **{"Content-Type": "text/xml; charset=utf-8", "Authorization": CREDENTIALS},
        )
        self.assertEqual(status, 200)
        self.assertEqual(headers.getRawHeaders(b"content-type"), [b"text/xml; charset=utf-8"])
        self.assertIsNone(headers.getRawHeaders(b"www-authenticate"))
        root = parseAnswer(body)
        self.assertEqual(root.tag, f"{{{ROOT_NS}}}Autodiscover")
        autodiscover = [
            (
                protocol.findtext(f"{{{OUTLOOK_NS}}}Type", "").lower(),
                protocol.findtext(f"{{{OUTLOOK_NS}}}Server"),
                protocol.findtext(f"{{{OUTLOOK_NS}}}Port"),
                ENCRYPTION[protocol.findtext(f"{{{OUTLOOK_NS}}}Encryption", "")],
            )
            for protocol in root.iter(f"{{{OUTLOOK_NS}}}Protocol")
        ]

        status, _, body = yield self.fetch(
            "GET", self.https + "/mail/config-v1.1.xml?emailaddress=fred%40example.com"
        )
        self.assertEqual(status, 200)
        autoconfig = [
            (
                server.get("type"),
                server.findtext("hostname"),
                server.findtext("port"),
                server.findtext("socketType"),
            )
            for server in etree.fromstring(body).iter("incomingServer", "outgoingServer")
        ]
        self.assertEqual(len(autodiscover), 5)
        self.assertEqual(autodiscover, autoconfig)

    @inlineCallbacks
    def test_mobileSync(self) -> Generator[Deferred[Any], Any, None]:
        """
        An ActiveSync device gets the school's ActiveSync URL.
        """
        status, _, body = yield self.fetch(
            "POST",
            self.https + "/autodiscover/autodiscover.xml",
            mobileSyncRequest("pupil@school.example"),
            **{"Content-Type": "text/xml"},
        )
        self.assertEqual(status, 200)
        url = parseAnswer(body).findtext(f".//{{{MOBILESYNC_NS}}}Url")
        self.assertEqual(url, "https://eas.school.example/Microsoft-Server-ActiveSync")

    @inlineCallbacks
    def test_json(self) -> Generator[Deferred[Any], Any, None]:
        """
        Outlook's JSON lookup in its path form gets the provider's
        Autodiscover URL.
        """
        status, _, body = yield self.fetch(
            "GET",
            self.https + "/autodiscover/autodiscover.json/v1.0/fred@example.com"
            "?Protocol=Autodiscoverv1&RedirectCount=1",
        )
        self.assertEqual(status, 200)
        self.assertEqual(
            json.loads(body),
            {
                "Protocol": "AutodiscoverV1",
                "Url": "https://mail.example-hosting.net/autodiscover/autodiscover.xml",
            },
        )

    @inlineCallbacks
    def test_plainHTTPRedirect(self) -> Generator[Deferred[Any], Any, None]:
        """
        Outlook's unauthenticated GET over plain HTTP is redirected to the
        https Autodiscover URL.
        """
        status, headers, _ = yield self.fetch(
            "GET", self.http + "/autodiscover/autodiscover.xml", Host="autodiscover.example.com"
        )
        self.assertEqual(status, 302)
        self.assertEqual(
            headers.getRawHeaders(b"location"),
            [b"https://mail.example-hosting.net/autodiscover/autodiscover.xml"],
        )

    @inlineCallbacks
    def test_hostileBodies(self) -> Generator[Deferred[Any], Any, None]:
        """
        An oversized body gets 413 and an external entity gets error 600,
        and the service keeps responding.
        """
        status, _, _ = yield self.fetch(
            "POST", self.https + "/autodiscover/autodiscover.xml", b"<a>" * 10000
        )
        self.assertEqual(status, 413)

        xxe = (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>"
        )
        status, _, body = yield self.fetch(
            "POST", self.https + "/autodiscover/autodiscover.xml", xxe
        )
        self.assertEqual(status, 200)
        self.assertEqual(parseAnswer(body).findtext(f".//{{{ROOT_NS}}}ErrorCode"), "600")
        self.assertNotIn(b"root:", body)

        status, _, _ = yield self.fetch(
            "POST",
            self.https + "/autodiscover/autodiscover.xml",
            outlookRequest("fred@example.com"),
        )
        self.assertEqual(status, 200)

    @inlineCallbacks
    def test_logs(self) -> Generator[Deferred[Any], Any, None]:
        """
        The service logs the domain of an Autodiscover request, and neither
        the address nor the credentials.
        """
        yield self.fetch(
            "POST",
            self.https + "/autodiscover/autodiscover.xml",
            outlookRequest("fred@example.com"),
            Authorization=CREDENTIALS,
        )
        self.service.process.terminate()
        self.service.process.wait(timeout=10)
        log = self.service.log()
        self.assertIn("protocol=autodiscover domain=example.com", log)
        self.assertNotIn("fred@example.com", log)
        self.assertNotIn(CREDENTIALS.split()[1], log)
        self.assertNotIn("horse-battery", log)
