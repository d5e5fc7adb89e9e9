"""
The prepared Outlook responses and the reading of plain request bodies give
exactly what the full paths give: the same bytes, the same request.
"""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import DomainEntry, buildRegistry, parseText
from mailfront.render.autodiscover import (
    Mailbox,
    prepareOutlookTemplate,
    renderOutlookResponse,
    renderPreparedOutlookResponse,
)
from mailfront.web.autodiscover import AutodiscoverRequest, RequestError, readRequest

from .autodiscoverdata import OUTLOOK_REQUEST_NS, registry

NOON = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)

#: Providers whose login names and host names use every placeholder, and
#: one whose SMTP login equals the IMAP login only for the address fred.
PROVIDERS_TOML = """
[providers.placeholders]
domains = ["placeholders.example"]

[[providers.placeholders.incoming]]
type = "imap"
hostname = "imap.%EMAILDOMAIN%"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%"

[[providers.placeholders.outgoing]]
type = "smtp"
hostname = "smtp.%EMAILDOMAIN%"
port = 587
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%"

[[providers.placeholders.outgoing]]
type = "smtp"
hostname = "smtp2.example"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[providers.fixed-login]
domains = ["fixed.example"]

[[providers.fixed-login.incoming]]
type = "imap"
hostname = "imap.fixed.example"
port = 143
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%"

[[providers.fixed-login.outgoing]]
type = "smtp"
hostname = "smtp.fixed.example"
port = 587
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "fred"

[providers.slot-text]
domains = ["slot.example"]

[[providers.slot-text.incoming]]
type = "imap"
hostname = "mailfront-domain-slot.invalid.example"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]

[[providers.slot-text.outgoing]]
type = "smtp"
hostname = "smtp.slot.example"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
"""

LOCAL_PARTS = [
    "fred",
    "Fred.Smith+lists",
    "o'neil",
    "a&b",
    "x<y>z",
    "bücher",
    "%EMAILDOMAIN%",
    "mailfront-local-part-slot",
    "probe.user",
]


def _entries() -> list[DomainEntry]:
    extra = buildRegistry([parseText("providers.toml", PROVIDERS_TOML)])
    return [*registry().domains.values(), *extra.domains.values()]


class PreparedOutlookResponseTests(SynchronousTestCase):
    """
    L{renderPreparedOutlookResponse} returns the bytes of
    L{renderOutlookResponse}, or C{None} where it cannot.
    """

    def test_sameBytesAsFullPath(self) -> None:
        """
        For every domain of the test registries and local parts that need
        escaping, contain placeholders or the stand-in's text, the response
        with templates equals the response built by lxml.
        """
        templates: dict = {}
        for entry in _entries():
            for localPart in LOCAL_PARTS:
                mailbox = Mailbox(localPart, entry.name)
                expected = renderOutlookResponse(entry, mailbox, NOON)
                prepared = renderPreparedOutlookResponse(entry, mailbox, templates)
                if prepared is not None:
                    self.assertEqual(prepared, expected, (entry.name, localPart))

    def test_preparedForPlainAddresses(self) -> None:
        """
        A plain address gets a prepared response exactly when its full
        response is a C{settings} response, except for the provider whose
        settings contain a stand-in's text.
        """
        templates: dict = {}
        for entry in _entries():
            if entry.name == "slot.example":
                continue
            mailbox = Mailbox("fred.smith", entry.name)
            full = renderOutlookResponse(entry, mailbox, NOON)
            prepared = renderPreparedOutlookResponse(entry, mailbox, templates)
            self.assertEqual(
                prepared is not None, b"<Action>settings</Action>" in full, entry.name
            )

    def test_templateUsedForPlainAddress(self) -> None:
        """
        A plain address of a provider with IMAP and SMTP is filled into the
        template.
        """
        entry = registry().lookup("example.org")
        assert entry is not None
        template = prepareOutlookTemplate(entry.provider)
        assert template is not None
        self.assertEqual(
            template.render(Mailbox("fred", "example.org")),
            renderOutlookResponse(entry, Mailbox("fred", "example.org"), NOON),
        )

    def test_escapingNeedsFullPath(self) -> None:
        """
        A local part that XML must escape is not filled into the template.
        """
        entry = registry().lookup("example.org")
        assert entry is not None
        template = prepareOutlookTemplate(entry.provider)
        assert template is not None
        self.assertIsNone(template.render(Mailbox("a&b", "example.org")))

    def test_loginComparisonNeedsFullPath(self) -> None:
        """
        When an SMTP login equals the IMAP login only for this address, the
        template is not used, so C{UsePOPAuth} is computed for the address.
        """
        extra = buildRegistry([parseText("providers.toml", PROVIDERS_TOML)])
        entry = extra.lookup("fixed.example")
        assert entry is not None
        template = prepareOutlookTemplate(entry.provider)
        assert template is not None
        self.assertIsNone(template.render(Mailbox("fred", "fixed.example")))
        self.assertIsNotNone(template.render(Mailbox("anna", "fixed.example")))

    def test_standInTextInSettings(self) -> None:
        """
        A provider whose settings contain a stand-in's text gets no
        template.
        """
        extra = buildRegistry([parseText("providers.toml", PROVIDERS_TOML)])
        entry = extra.lookup("slot.example")
        assert entry is not None
        self.assertIsNone(prepareOutlookTemplate(entry.provider))

    @settings(max_examples=200, deadline=None)
    @given(st.text(min_size=1, max_size=20).filter(lambda t: "@" not in t))
    def test_anyLocalPart(self, localPart: str) -> None:
        """
        For any local part lxml accepts, both paths return the same bytes.
        """
        entry = registry().lookup("example.org")
        assert entry is not None
        mailbox = Mailbox(localPart, "example.org")
        try:
            expected = renderOutlookResponse(entry, mailbox, NOON)
        except ValueError:
            return
        prepared = renderPreparedOutlookResponse(entry, mailbox, {})
        if prepared is not None:
            self.assertEqual(prepared, expected)


def _body(address: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> bytes:
    return (
        f"{declaration}<Autodiscover xmlns=\"{OUTLOOK_REQUEST_NS}\">\n"
        "  <Request>\n"
        f"    <EMailAddress>{address}</EMailAddress>\n"
        "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
        "outlook/responseschema/2006a</AcceptableResponseSchema>\n"
        "  </Request>\n"
        "</Autodiscover>\n"
    ).encode("utf-8")


def _read(body: bytes) -> object:
    try:
        return readRequest(body)
    except RequestError as e:
        return ("error", e.args)


class PlainRequestTests(SynchronousTestCase):
    """
    L{readRequest} reads the bodies Outlook and Thunderbird send as the XML
    parser does.
    """

    def test_thunderbirdBody(self) -> None:
        """
        The pretty-printed body with an XML declaration gives the address
        and the Outlook schema.
        """
        request = readRequest(_body("fred@example.org"))
        self.assertIsInstance(request, AutodiscoverRequest)
        self.assertEqual(request.emailAddress, "fred@example.org")
        self.assertEqual(
            request.schema.value,
            "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
        )

    def test_variantsAgreeWithParser(self) -> None:
        """
        Bodies with entities, comments, CDATA, a DTD, another encoding,
        whitespace in the address or no declaration are read as the parser
        reads them: the plain form and a variant that only the parser
        reads give the same request when they mean the same.
        """
        plain = readRequest(_body("fred@example.org"))
        for variant in (
            _body("fred@example.org", declaration=""),
            _body(" fred@example.org "),
            _body("<![CDATA[fred@example.org]]>"),
            _body("fred&#64;example.org"),
            _body("fred@example.org<!-- x -->"),
            _body("fred@example.org", declaration='<?xml version="1.0" encoding="UTF-8"?>'),
        ):
            self.assertEqual(readRequest(variant), plain, variant)

    def test_doctypeStillRejected(self) -> None:
        """
        A body with a document type declaration takes the parser's path and
        is rejected there.
        """
        body = _body("fred@example.org").replace(
            b"<Autodiscover", b"<!DOCTYPE a [<!ENTITY e 'x'>]>\n<Autodiscover", 1
        )
        self.assertEqual(_read(body)[0], "error")  # type: ignore[index]

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=30))
    def test_anyAddressAgreesWithParser(self, address: str) -> None:
        """
        For any text in C{EMailAddress}, the result equals what the parser
        path alone gives.
        """
        from mailfront.web import autodiscover

        body = _body(address.replace("&", "&amp;").replace("<", "&lt;"))
        fast = _read(body)
        original = autodiscover._readPlainOutlookRequest
        autodiscover._readPlainOutlookRequest = lambda body: None  # type: ignore[assignment]
        try:
            slow = _read(body)
        finally:
            autodiscover._readPlainOutlookRequest = original  # type: ignore[assignment]
        self.assertEqual(fast, slow)
