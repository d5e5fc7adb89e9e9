"""
Tests for the Autoconfig resource, driven through the real Site with
treq's C{StubTreq}.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from treq.testing import StubTreq
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import loadDirectory
from mailfront.service import buildSite
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .running import EXAMPLE_CONFIG


class _Response:
    def __init__(self, code: int, headers: Any, body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None


class AutoconfigResourceTests(SynchronousTestCase):
    """
    The Autoconfig URLs respond as Thunderbird and the draft expect.
    """

    def setUp(self) -> None:
        holder = SnapshotHolder(buildSnapshot(loadDirectory(EXAMPLE_CONFIG), 1))
        self.site = buildSite(holder, Clock())
        self.treq = StubTreq(self.site.resource)

    def request(self, method: str, url: str, **kwargs: Any) -> _Response:
        response = self.successResultOf(self.treq.request(method, url, **kwargs))
        body = self.successResultOf(response.content())
        return _Response(response.code, response.headers, body)

    def get(self, url: str, **kwargs: Any) -> _Response:
        return self.request("GET", url, **kwargs)

    def domainOf(self, response: _Response) -> str:
        self.assertEqual(response.code, 200, response.body)
        root = etree.fromstring(response.body)
        return str(root.findtext("emailProvider/domain"))

    def test_emailAddress(self) -> None:
        """
        The domain of C{emailaddress} selects the configuration.
        """
        response = self.get(
            "https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=fred%40school.example"
        )
        self.assertEqual(self.domainOf(response), "school.example")
        root = etree.fromstring(response.body)
        self.assertEqual(root.findtext("emailProvider/incomingServer/hostname"),
                         "imap.school.example")

    def test_wellKnown(self) -> None:
        """
        The C{.well-known} path serves the same document.
        """
        first = self.get("https://example.com/mail/config-v1.1.xml")
        second = self.get("https://example.com/.well-known/autoconfig/mail/config-v1.1.xml")
        self.assertEqual(first.body, second.body)
        self.assertEqual(self.domainOf(second), "example.com")

    def test_hostWithoutAddress(self) -> None:
        """
        Without C{emailaddress}, the Host header names the domain, with the
        C{autoconfig.} prefix, port and trailing dot removed.
        """
        for host in ("autoconfig.example.net", "AUTOCONFIG.Example.NET.:8443", "example.net"):
            response = self.get("http://127.0.0.1/mail/config-v1.1.xml",
                                headers={"Host": host})
            self.assertEqual(self.domainOf(response), "example.net", host)

    def test_emptyAddress(self) -> None:
        """
        An empty C{emailaddress} is treated as absent.
        """
        response = self.get("https://autoconfig.example.net/mail/config-v1.1.xml?emailaddress=")
        self.assertEqual(self.domainOf(response), "example.net")

    def test_placeholdersKept(self) -> None:
        """
        The response leaves placeholders for the client and never contains
        the requested address.
        """
        response = self.get(
            "https://example.com/mail/config-v1.1.xml?emailaddress=fred%2Blists%40example.com"
        )
        self.assertIn(b"<username>%EMAILADDRESS%</username>", response.body)
        self.assertNotIn(b"fred", response.body)

    def test_rawPlus(self) -> None:
        """
        A raw C{+} and a raw C{@} in the address are accepted; C{+} is not
        turned into a space.
        """
        response = self.get("https://example.com/mail/config-v1.1.xml?emailaddress=fred+x@school.example")
        self.assertEqual(self.domainOf(response), "school.example")

    def test_internationalized(self) -> None:
        """
        A U-label domain in the address or the Host finds the A-label entry.
        """
        response = self.get(
            "https://example.com/mail/config-v1.1.xml?emailaddress=anna%40B%C3%BCcher.example"
        )
        self.assertEqual(self.domainOf(response), "xn--bcher-kva.example")
        response = self.get("https://autoconfig.xn--bcher-kva.example/mail/config-v1.1.xml")
        self.assertEqual(self.domainOf(response), "xn--bcher-kva.example")

    def test_headers(self) -> None:
        """
        The response is UTF-8 XML with a media type Thunderbird accepts.
        """
        response = self.get("https://example.com/mail/config-v1.1.xml")
        self.assertEqual(response.header(b"content-type"), b"application/xml; charset=utf-8")
        self.assertEqual(response.header(b"access-control-allow-origin"), b"*")
        self.assertTrue(response.body.startswith(b"<?xml"))

    def test_head(self) -> None:
        """
        HEAD gives the status and headers of GET and no body.
        """
        response = self.request("HEAD", "https://example.com/mail/config-v1.1.xml")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header(b"content-type"), b"application/xml; charset=utf-8")
        self.assertEqual(response.body, b"")

    def test_options(self) -> None:
        """
        A CORS preflight gets 204 with the allowed methods.
        """
        response = self.request("OPTIONS", "https://example.com/mail/config-v1.1.xml")
        self.assertEqual(response.code, 204)
        self.assertEqual(response.header(b"access-control-allow-methods"), b"GET, HEAD, OPTIONS")

    def test_otherMethod(self) -> None:
        """
        Methods other than GET, HEAD and OPTIONS are not allowed.
        """
        response = self.request("POST", "https://example.com/mail/config-v1.1.xml")
        self.assertEqual(response.code, 405)

    def test_unknownDomain(self) -> None:
        """
        An unknown domain gets 404 with a short text body, even when the Host
        is a served domain.
        """
        response = self.get(
            "https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=a%40unknown.example"
        )
        self.assertEqual(response.code, 404)
        self.assertEqual(response.body, b"no mail configuration for unknown.example\n")
        self.assertEqual(response.header(b"content-type"), b"text/plain; charset=utf-8")

    def test_unknownHost(self) -> None:
        """
        Without an address, an unknown Host gets 404.
        """
        response = self.get("http://127.0.0.1/mail/config-v1.1.xml", headers={"Host": "localhost"})
        self.assertEqual(response.code, 404)

    def test_malformedAddress(self) -> None:
        """
        A malformed address gets 400 with a one-line reason.
        """
        for query, reason in (
            ("emailaddress=fred", b"invalid emailaddress: the email address has no '@'\n"),
            ("emailaddress=%40example.com",
             b"invalid emailaddress: the email address has an empty local part\n"),
            ("emailaddress=fred%40exa%20mple.com", b"invalid emailaddress: 'exa mple.com' is "),
            ("emailaddress=%FF%40example.com",
             b"the emailaddress parameter is not valid percent-encoded UTF-8\n"),
        ):
            response = self.get(f"https://example.com/mail/config-v1.1.xml?{query}")
            self.assertEqual(response.code, 400, query)
            self.assertTrue(response.body.startswith(reason), response.body)
            self.assertEqual(response.body.count(b"\n"), 1)

    def test_pathVariants(self) -> None:
        """
        Letter case, doubled slashes and a trailing slash reach the resource;
        other paths get 404.
        """
        for path in ("/Mail/Config-v1.1.xml", "//mail//config-v1.1.xml", "/mail/config-v1.1.xml/"):
            self.assertEqual(self.get(f"https://example.com{path}").code, 200, path)
        self.assertEqual(self.get("https://example.com/mail/config.xml").code, 404)

    def test_accessLogWithoutAddress(self) -> None:
        """
        The access log event of the real Site names the domain, never the
        address, the query or the Authorization value.
        """
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        channel = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        channel.makeConnection(transport)
        channel.dataReceived(
            b"GET /mail/config-v1.1.xml?emailaddress=fred.secret%40example.net HTTP/1.1\r\n"
            b"Host: autoconfig.example.com\r\nAuthorization: Basic c2VjcmV0\r\n\r\n"
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 "))
        access = [e for e in events if e.get("log_namespace") == "mailfront.access"]
        self.assertEqual(len(access), 1)
        self.assertEqual(access[0]["domain"], "example.net")
        self.assertEqual(access[0]["status"], 200)
        self.assertEqual(access[0]["client"], "127.0.0.1")
        self.assertEqual(access[0]["path"], "/mail/config-v1.1.xml")
        self.assertNotIn("fred.secret", repr(events))
        self.assertNotIn("c2VjcmV0", repr(events))
