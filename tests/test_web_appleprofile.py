"""
Tests for the Apple profile download and the setup page, driven through the
real Site with treq's C{StubTreq}.
"""

from __future__ import annotations

import base64
import hashlib
import plistlib
from typing import Any

from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import html
from treq.testing import StubTreq
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from mailfront.profilesigning import ProfileSigners
from mailfront.registry import DomainEntry, Provider, Registry, loadDirectory
from mailfront.service import buildSite
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .running import EXAMPLE_CONFIG
from .signingchain import makeChain
from .test_web_autoconfig import _Response

_PROFILE_TYPE = b"application/x-apple-aspen-config"


def _attachedProfile(body: bytes) -> dict[str, Any]:
    """
    Read the property list attached to a signed profile.

    DER stores the attached content as one octet string, so the XML appears
    in the signed bytes unchanged.
    """
    start = body.index(b"<?xml")
    end = body.index(b"</plist>\n", start) + len(b"</plist>\n")
    result: dict[str, Any] = plistlib.loads(body[start:end])
    return result


class _SiteTestCase(SynchronousTestCase):
    signers = ProfileSigners()
    setupPath = "/setup"

    def setUp(self) -> None:
        registry = loadDirectory(EXAMPLE_CONFIG)
        domains = dict(registry.domains)
        # A provider with nothing an Apple device can set up.
        domains["ews-only.example"] = DomainEntry("ews-only.example", Provider("ews-only"))
        registry = Registry(registry.providers, domains)
        holder = SnapshotHolder(buildSnapshot(registry, 1))
        self.site = buildSite(holder, Clock(), self.signers.signerFor, self.setupPath)
        self.treq = StubTreq(self.site.resource)

    def request(self, method: str, url: str, **kwargs: Any) -> _Response:
        response = self.successResultOf(self.treq.request(method, url, **kwargs))
        body = self.successResultOf(response.content())
        return _Response(response.code, response.headers, body)

    def get(self, url: str, **kwargs: Any) -> _Response:
        return self.request("GET", url, **kwargs)

    def captureLog(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        return events


class SignedProfileTests(_SiteTestCase):
    """
    With a certificate available, C{/apple/mail.mobileconfig} serves the
    signed profile of the address in the query string.
    """

    chain = makeChain()
    other = makeChain(("profiles.example.com",))
    signers = ProfileSigners(https=chain.signer())

    def test_download(self) -> None:
        """
        The response is a signed profile with Apple's media type, a download
        file name, no caching, and the address's settings inside.
        """
        response = self.get(
            "https://autoconfig.example.com/apple/mail.mobileconfig?emailaddress=fred%40example.com"
        )
        self.assertEqual(response.code, 200, response.body)
        self.assertEqual(response.header(b"content-type"), _PROFILE_TYPE)
        self.assertEqual(response.header(b"content-disposition"),
                         b'attachment; filename="example.com.mobileconfig"')
        self.assertEqual(response.header(b"cache-control"), b"private, no-store")
        embedded = pkcs7.load_der_pkcs7_certificates(response.body)
        self.assertIn(self.chain.leaf, embedded)
        self.assertIn(self.chain.intermediate, embedded)
        mail = _attachedProfile(response.body)["PayloadContent"][0]
        self.assertEqual(mail["EmailAddress"], "fred@example.com")
        self.assertEqual(mail["IncomingMailServerHostName"], "mail.example-hosting.net")

    def test_rawPlus(self) -> None:
        """
        A raw C{+} in the address stays a C{+}.
        """
        response = self.get("https://example.com/apple/mail.mobileconfig?emailaddress=fred+x@example.com")
        mail = _attachedProfile(response.body)["PayloadContent"][0]
        self.assertEqual(mail["EmailAddress"], "fred+x@example.com")

    def test_signerChoice(self) -> None:
        """
        A configured signing certificate is chosen over the HTTPS one, the
        HTTPS one is chosen without it, and without both there is none.
        """
        configured, https = self.other.signer(), self.chain.signer()
        self.assertIs(ProfileSigners(configured, https).signerFor("autoconfig.example.com"),
                      configured)
        self.assertIs(ProfileSigners(None, https).signerFor(None), https)
        self.assertIsNone(ProfileSigners().signerFor("autoconfig.example.com"))

    def test_head(self) -> None:
        """
        HEAD gives the headers of GET and no body.
        """
        response = self.request(
            "HEAD", "https://example.com/apple/mail.mobileconfig?emailaddress=fred%40example.com"
        )
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header(b"content-type"), _PROFILE_TYPE)
        self.assertEqual(response.body, b"")

    def test_errors(self) -> None:
        """
        A missing or malformed address gets 400 and an unknown domain, or
        one with nothing for Apple devices, gets 404, each with one line of
        plain text.
        """
        for query, code, message in (
            ("", 400,
             b"missing emailaddress parameter, such as ?emailaddress=fred%40example.com\n"),
            ("?emailaddress=", 400, b"missing emailaddress parameter"),
            ("?emailaddress=fred", 400, b"invalid emailaddress: the email address has no '@'\n"),
            ("?emailaddress=%FF%40example.com", 400,
             b"the emailaddress parameter is not valid percent-encoded UTF-8\n"),
            ("?emailaddress=fred%EF%BF%BE%40example.com", 400,
             b"invalid emailaddress: the email address contains characters XML cannot carry\n"),
            ("?emailaddress=fred%40unknown.example", 404,
             b"no mail configuration for unknown.example\n"),
            ("?emailaddress=fred%40ews-only.example", 404,
             b"no settings for Apple devices for ews-only.example\n"),
        ):
            response = self.get(f"https://example.com/apple/mail.mobileconfig{query}")
            self.assertEqual(response.code, code, query)
            self.assertTrue(response.body.startswith(message), response.body)
            self.assertEqual(response.header(b"content-type"), b"text/plain; charset=utf-8")

    def test_accessLogWithoutAddress(self) -> None:
        """
        The access log names the path and the domain, never the address.
        """
        events = self.captureLog()
        channel = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        channel.makeConnection(transport)
        channel.dataReceived(
            b"GET /apple/mail.mobileconfig?emailaddress=fred.secret%40example.net HTTP/1.1\r\n"
            b"Host: autoconfig.example.net\r\n\r\n"
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 "))
        [access] = [e for e in events if e.get("log_namespace") == "mailfront.access"]
        self.assertEqual(access["path"], "/apple/mail.mobileconfig")
        self.assertEqual(access["domain"], "example.net")
        self.assertEqual(access["protocol"], "apple-profile")
        self.assertNotIn("fred.secret", repr(events))


class UnsignedProfileTests(_SiteTestCase):
    """
    Without any certificate, profiles are served unsigned and a warning is
    logged once.
    """

    def test_unsignedLoggedOnce(self) -> None:
        """
        The body is the plain property list; two downloads log one warning
        that names the domain and not the address.
        """
        events = self.captureLog()
        for local in ("fred", "anna"):
            response = self.get(
                f"https://example.com/apple/mail.mobileconfig?emailaddress={local}%40school.example"
            )
            self.assertEqual(response.code, 200)
            self.assertEqual(response.header(b"content-type"), _PROFILE_TYPE)
            profile = plistlib.loads(response.body)
            self.assertEqual(profile["PayloadContent"][0]["EmailAddress"],
                             f"{local}@school.example")
        warnings = [e for e in events if "unsigned" in e.get("log_format", "")]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["domain"], "school.example")
        self.assertNotIn("fred@", repr(warnings))


def _page(response: _Response) -> html.HtmlElement:
    return html.fromstring(response.body)


def _rows(page: html.HtmlElement, heading: str) -> list[tuple[str, ...]]:
    [table] = page.xpath(f"//h3[.='{heading}']/following-sibling::div[1]//table")
    return [tuple(cell.text_content() for cell in row.iter("td"))
            for row in table.iter("tr") if row.find("td") is not None]


class SetupPageTests(_SiteTestCase):
    """
    The setup page shows a person the settings of their address.
    """

    def test_rootOnSetupHosts(self) -> None:
        """
        C{/} on an C{autoconfig.} or C{autodiscover.} name serves the page,
        branded with the display name of the host's domain.
        """
        for url, brand in (
            ("https://autoconfig.example.com/", "Example Hosting Mail"),
            ("https://autodiscover.customer-one.example/", "Customer One"),
            ("http://autoconfig.unknown.example/", "Mail setup"),
        ):
            response = self.get(url)
            self.assertEqual(response.code, 200, url)
            self.assertEqual(response.header(b"content-type"), b"text/html; charset=utf-8")
            self.assertEqual(_page(response).findtext(".//h1"), brand)

    def test_rootOtherHosts(self) -> None:
        """
        C{/} on any other host name stays 404.
        """
        for host in ("example.com", "127.0.0.1", "mail.example.com"):
            response = self.get("http://127.0.0.1/", headers={"Host": host})
            self.assertEqual(response.code, 404, host)
            self.assertEqual(response.header(b"content-type"), b"text/plain; charset=utf-8")

    def test_setupPathAnyHost(self) -> None:
        """
        The setup path serves the page on every host, in any letter case.
        """
        for url in ("http://127.0.0.1/setup", "https://example.com/Setup/"):
            response = self.get(url)
            self.assertEqual(response.code, 200, url)
            [form] = _page(response).forms
            self.assertEqual(form.get("action"), "/setup")
            self.assertEqual(form.get("method"), "get")

    def test_headers(self) -> None:
        """
        The page forbids scripts, frames, outside resources and form targets
        elsewhere, and sends no referrer.
        """
        response = self.get("https://autoconfig.example.com/?emailaddress=fred%40example.com")
        policy = response.header(b"content-security-policy") or b""
        directives = dict(d.strip().split(b" ", 1) for d in policy.split(b";"))
        self.assertEqual(directives[b"default-src"], b"'none'")
        self.assertEqual(directives[b"img-src"], b"data:")
        self.assertEqual(directives[b"form-action"], b"'self'")
        self.assertEqual(directives[b"frame-ancestors"], b"'none'")
        self.assertNotIn(b"script-src", directives)
        self.assertNotIn(b"unsafe", policy)
        self.assertEqual(response.header(b"referrer-policy"), b"no-referrer")
        self.assertEqual(response.header(b"x-content-type-options"), b"nosniff")
        self.assertEqual(response.header(b"cache-control"), b"private, no-store")

    def test_styleHashAllowed(self) -> None:
        """
        The hash in the policy is the hash of the page's inline style sheet,
        so browsers apply it.
        """
        response = self.get("https://autoconfig.example.com/")
        [style] = _page(response).iter("style")
        digest = base64.b64encode(hashlib.sha256(style.text.encode("utf-8")).digest())
        policy = response.header(b"content-security-policy") or b""
        self.assertIn(b"style-src 'sha256-" + digest + b"'", policy)

    def test_noExternalReferences(self) -> None:
        """
        Nothing on the page loads from elsewhere: there are no scripts, and
        every link and image is relative or a C{data:} URI.
        """
        page = _page(self.get("https://autoconfig.example.com/?emailaddress=fred%40example.com"))
        self.assertEqual(page.xpath("//script | //link | //iframe"), [])
        for element in page.xpath("//*[@src or @href]"):
            target = element.get("src") or element.get("href")
            self.assertTrue(target.startswith(("/", "data:")), target)

    def test_settingsShown(self) -> None:
        """
        For a known address the page lists every incoming and outgoing
        server with port, security and the filled-in user name, and marks
        the recommended ones.
        """
        response = self.get("https://autoconfig.example.com/?emailaddress=fred%40example.com")
        self.assertEqual(response.code, 200)
        page = _page(response)
        self.assertEqual(page.findtext(".//h2"), "Settings for fred@example.com")
        self.assertEqual(_rows(page, "Incoming mail"), [
            ("IMAP (recommended)", "mail.example-hosting.net", "993", "SSL/TLS",
             "fred@example.com", "Normal password"),
            ("IMAP", "mail.example-hosting.net", "143", "STARTTLS", "fred@example.com",
             "Normal password"),
            ("POP3", "mail.example-hosting.net", "995", "SSL/TLS", "fred@example.com",
             "Normal password"),
        ])
        self.assertEqual(_rows(page, "Outgoing mail"), [
            ("SMTP (recommended)", "smtp.example-hosting.net", "465", "SSL/TLS",
             "fred@example.com", "Normal password"),
            ("SMTP", "smtp.example-hosting.net", "587", "STARTTLS", "fred@example.com",
             "Normal password"),
        ])
        self.assertEqual(page.get_element_by_id("emailaddress").get("value"), "fred@example.com")

    def test_schoolSettings(self) -> None:
        """
        The school's local-part user names and OAuth 2 are shown, branded
        with the school's name although the page was asked on another host.
        """
        page = _page(self.get("https://autoconfig.example.com/?emailaddress=Fred%40school.example"))
        self.assertEqual(page.findtext(".//h1"), "Example School")
        self.assertEqual(_rows(page, "Incoming mail"), [
            ("IMAP (recommended)", "imap.school.example", "993", "SSL/TLS", "Fred",
             "OAuth 2 or Normal password"),
        ])

    def test_profileLinkAndQRCode(self) -> None:
        """
        The download link is relative and carries the encoded address. The
        QR code is an SVG image of the absolute link on the same host and
        port, and that link is also printed for copying.
        """
        page = _page(self.get(
            "https://autoconfig.example.com:8443/setup?emailaddress=fred%2Blists%40example.com"
        ))
        link = page.get_element_by_id("profile-link")
        self.assertEqual(link.get("href"),
                         "/apple/mail.mobileconfig?emailaddress=fred%2Blists%40example.com")
        [image] = page.xpath("//img")
        self.assertTrue(image.get("src").startswith("data:image/svg+xml"))
        self.assertIn("QR code", image.get("alt"))
        urls = [p.text for p in page.xpath("//p[@class='url']")]
        self.assertEqual(urls, [
            "https://autoconfig.example.com:8443/apple/mail.mobileconfig"
            "?emailaddress=fred%2Blists%40example.com"
        ])

    def test_formEncoding(self) -> None:
        """
        The form's encoding is honored: C{%2B} is a plus sign, and a C{+}
        is a space, so a trailing space typed on a phone is ignored.
        """
        page = _page(self.get(
            "https://autoconfig.example.com/?emailaddress=fred%2Blists%40example.com+"
        ))
        self.assertEqual(page.findtext(".//h2"), "Settings for fred+lists@example.com")
        self.assertEqual(page.get_element_by_id("profile-link").get("href"),
                         "/apple/mail.mobileconfig?emailaddress=fred%2Blists%40example.com")

    def test_calendarShown(self) -> None:
        """
        CalDAV and CardDAV URLs are listed for a domain that has them.
        """
        page = _page(self.get(
            "https://autoconfig.customer-one.example/?emailaddress=fred%40customer-one.example"
        ))
        values = [dd.text for dd in page.iter("dd")]
        self.assertIn("https://dav.customer-one.example/caldav/", values)
        self.assertIn("https://dav.customer-one.example/carddav/", values)

    def test_unknownDomain(self) -> None:
        """
        An unknown domain gets a friendly message in the page, status 404,
        and the typed address back in the field.
        """
        response = self.get("https://autoconfig.example.com/?emailaddress=fred%40unknown.example")
        self.assertEqual(response.code, 404)
        self.assertEqual(response.header(b"content-type"), b"text/html; charset=utf-8")
        page = _page(response)
        [notice] = page.xpath("//p[@role='status']")
        self.assertEqual(
            notice.text,
            "There are no settings for unknown.example here. Check the address for typing "
            "mistakes, or ask whoever runs your email for the settings.",
        )
        self.assertEqual(page.get_element_by_id("emailaddress").get("value"),
                         "fred@unknown.example")
        self.assertEqual(page.xpath("//table"), [])

    def test_invalidAddress(self) -> None:
        """
        Text that is not an address, or a garbled link, gets 400 and a
        message in the page.
        """
        for query, start in (
            ("emailaddress=fred",
             "That is not a valid email address: the email address has no '@'."),
            ("emailaddress=%FF", "The address in the link is garbled."),
        ):
            response = self.get(f"https://autoconfig.example.com/?{query}")
            self.assertEqual(response.code, 400, query)
            [notice] = _page(response).xpath("//p[@role='status']")
            self.assertTrue(notice.text.startswith(start), notice.text)

    def test_escaping(self) -> None:
        """
        Markup in the address is shown as text and never becomes elements
        or attributes.
        """
        hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>@example.com"
        for domainPart in ("@example.com", "@unknown.example"):
            address = hostile.replace("@example.com", domainPart)
            response = self.get(
                "https://autoconfig.example.com/",
                params={"emailaddress": address},
            )
            page = _page(response)
            self.assertEqual(page.xpath("//script"), [])
            self.assertEqual([i.get("src") for i in page.xpath("//img")
                              if not i.get("src").startswith("data:")], [])
            self.assertEqual(page.get_element_by_id("emailaddress").get("value"), address)
            self.assertNotIn(b"<script>", response.body)
            self.assertIn(b"&lt;script&gt;", response.body)

    def test_hostNotEchoedInURL(self) -> None:
        """
        A Host header that is not a host name is left out of the page.
        """
        response = self.get(
            "http://127.0.0.1/setup?emailaddress=fred%40example.com",
            headers={"Host": 'x"><script>y'},
        )
        self.assertEqual(response.code, 200)
        page = _page(response)
        self.assertEqual(page.xpath("//p[@class='url'] | //img"), [])
        self.assertIsNotNone(page.get_element_by_id("profile-link"))


class ConfiguredSetupPathTests(_SiteTestCase):
    """
    The setup path is configurable.
    """

    setupPath = "/mail-help"

    def test_configuredPath(self) -> None:
        """
        The configured path serves the page and the default one does not.
        """
        response = self.get("http://127.0.0.1/mail-help")
        self.assertEqual(response.code, 200)
        self.assertEqual(_page(response).forms[0].get("action"), "/mail-help")
        self.assertEqual(self.get("http://127.0.0.1/setup").code, 404)
