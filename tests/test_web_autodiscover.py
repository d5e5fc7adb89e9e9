"""
Tests of the Autodiscover endpoints through the whole resource tree, with
treq's L{StubTreq}: what Outlook, Thunderbird, ActiveSync devices and
hostile clients get for each request.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Mapping, Optional
from xml.sax.saxutils import quoteattr

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from mailfront.service import buildSite
from mailfront.snapshot import SnapshotHolder
from mailfront.web.root import MailfrontSite

from .autodiscoverdata import (
    ENTITY_BOMB,
    HOSTING_SETTINGS,
    MOBILESYNC_NS,
    MOBILESYNC_REQUEST_NS,
    OUTLOOK_NS,
    OUTLOOK_REQUEST_NS,
    OUTLOOK_SCHEMA_TEXT,
    ROOT_NS,
    SCHOOL_MOBILESYNC,
    canonical,
    errorDocument,
    externalEntity,
    holder,
    mobileSyncRequest,
    outlookRequest,
    parseAnswer,
)

MIDNIGHT = "00:00:00.0000000"
FRED = "Fred.Smith@example.org"
XML_URL = "https://autodiscover.example.org/autodiscover/autodiscover.xml"


@attrs.frozen
class Answer:
    """
    What a client received.
    """

    status: int
    headers: Mapping[bytes, list[bytes]]
    body: bytes

    def header(self, name: bytes) -> Optional[bytes]:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def mailfrontStub(resource: Any) -> StubTreq:
    """
    Build a L{StubTreq} that serves C{resource} through L{MailfrontSite}, as
    production does, rather than through a plain Site.
    """
    stub = StubTreq(resource)
    # StubTreq has no parameter for the Site its agent builds.
    agent = stub._agent
    agent._serverFactory = MailfrontSite(resource, agent._memoryReactor)
    return stub


class EndpointTestCase(SynchronousTestCase):
    """
    Sends requests to the resource tree that L{buildSite} serves.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.holder = holder()
        self.resource = buildSite(self.holder, self.clock).resource

    def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Optional[Mapping[str, str]] = None,
    ) -> Answer:
        """
        Send one request and read the whole answer, without following
        redirects.
        """
        client = mailfrontStub(self.resource)
        response = self.successResultOf(
            client.request(method, url, data=body or None, headers=headers, allow_redirects=False)
        )
        content = self.successResultOf(response.content())
        headers = {name.lower(): values for name, values in response.headers.getAllRawHeaders()}
        return Answer(response.code, headers, content)

    def post(self, body: bytes, url: str = XML_URL, **headers: str) -> Answer:
        """
        POST a body to the XML endpoint.
        """
        return self.request("POST", url, body, headers or {"Content-Type": "text/xml"})

    def assertDocument(self, answer: Answer, status: int, expected: bytes, case: str = "") -> None:
        """
        Check the status, the media type and the document of an answer.

        @param case: Names the table row in failure messages.
        """
        self.assertEqual(answer.status, status, case)
        self.assertEqual(answer.header(b"content-type"), b"text/xml; charset=utf-8", case)
        self.assertTrue(answer.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), case)
        self.assertEqual(canonical(answer.body), canonical(expected), case)


def _prefixed(address: str) -> bytes:
    return (
        f'<a:Autodiscover xmlns:a="{OUTLOOK_REQUEST_NS}"><a:Request>'
        f"<a:EMailAddress>{address}</a:EMailAddress>"
        f"<a:AcceptableResponseSchema>{OUTLOOK_SCHEMA_TEXT}</a:AcceptableResponseSchema>"
        "</a:Request></a:Autodiscover>"
    ).encode()


#: Requests that must all get the settings of Fred.Smith@example.org:
#: (name, URL, headers, body).
SETTINGS_ROWS: list[tuple[str, str, Mapping[str, str], bytes]] = [
    (
        "as Thunderbird sends it",
        XML_URL,
        {"Content-Type": "text/xml; charset=utf-8"},
        outlookRequest(FRED),
    ),
    (
        "capitalised path",
        "https://example.org/Autodiscover/Autodiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    (
        "AutoDiscover path",
        "https://example.org/AutoDiscover/AutoDiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    (
        "mixed-case path",
        "https://example.org/AutoDiscover/Autodiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    (
        "doubled and trailing slashes",
        "https://example.org/autodiscover//autodiscover.xml/",
        {},
        outlookRequest(FRED),
    ),
    (
        "on the domain's own host",
        "https://example.org/autodiscover/autodiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    (
        "on the provider's host",
        "https://mail.hosting.example/autodiscover/autodiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    (
        "over plain HTTP",
        "http://autodiscover.example.org/autodiscover/autodiscover.xml",
        {},
        outlookRequest(FRED),
    ),
    ("domain in capitals", XML_URL, {}, outlookRequest("Fred.Smith@EXAMPLE.ORG")),
    ("byte-order mark", XML_URL, {}, b"\xef\xbb\xbf" + outlookRequest(FRED)),
    ("ISO-8859-1 declaration", XML_URL, {}, outlookRequest(FRED).replace(b"utf-8", b"ISO-8859-1")),
    ("no declaration", XML_URL, {}, outlookRequest(FRED).split(b"?>", 1)[1]),
    ("minified", XML_URL, {}, b"".join(line.strip() for line in outlookRequest(FRED).splitlines())),
    ("line break before the declaration", XML_URL, {}, b"\r\n" + outlookRequest(FRED)),
    ("no AcceptableResponseSchema", XML_URL, {}, outlookRequest(FRED, schema=None)),
    (
        "https schema URI",
        XML_URL,
        {},
        outlookRequest(FRED, OUTLOOK_SCHEMA_TEXT.replace("http:", "https:")),
    ),
    ("schema URI in capitals", XML_URL, {}, outlookRequest(FRED, OUTLOOK_SCHEMA_TEXT.upper())),
    ("prefixed namespace", XML_URL, {}, _prefixed(FRED)),
    (
        "no namespace",
        XML_URL,
        {},
        outlookRequest(FRED).replace(f' xmlns="{OUTLOOK_REQUEST_NS}"'.encode(), b""),
    ),
    (
        "lower-case element names",
        XML_URL,
        {},
        b"<autodiscover><request><emailaddress>"
        + FRED.encode()
        + b"</emailaddress></request></autodiscover>",
    ),
    (
        "unknown elements and reversed order",
        XML_URL,
        {},
        (
            f'<Autodiscover xmlns="{OUTLOOK_REQUEST_NS}"><Request><Extra>x</Extra>'
            f"<AcceptableResponseSchema>{OUTLOOK_SCHEMA_TEXT}</AcceptableResponseSchema>"
            f"<LegacyDN>/o=Org/cn=fred</LegacyDN><EMailAddress>{FRED}</EMailAddress>"
            "</Request></Autodiscover>"
        ).encode(),
    ),
    ("address in CDATA", XML_URL, {}, outlookRequest(f"<![CDATA[{FRED}]]>")),
    (
        "form content type",
        XML_URL,
        {"Content-Type": "application/x-www-form-urlencoded"},
        outlookRequest(FRED),
    ),
    (
        "multipart content type",
        XML_URL,
        {"Content-Type": "multipart/form-data; boundary=x"},
        outlookRequest(FRED),
    ),
    ("text/plain content type", XML_URL, {"Content-Type": "text/plain"}, outlookRequest(FRED)),
    ("invalid content type", XML_URL, {"Content-Type": ";;;"}, outlookRequest(FRED)),
    (
        "Basic credentials",
        XML_URL,
        {"Authorization": "Basic RnJlZC5TbWl0aEBleGFtcGxlLm9yZzpzZWNyZXQ="},
        outlookRequest(FRED),
    ),
    ("Bearer token", XML_URL, {"Authorization": "Bearer abc.def.ghi"}, outlookRequest(FRED)),
]


class OutlookEndpointTests(EndpointTestCase):
    """
    Outlook-schema requests in every form clients send them.
    """

    def test_settingsRows(self) -> None:
        """
        Every request in L{SETTINGS_ROWS} gets 200 and the settings of
        Fred.Smith@example.org, with no authentication challenge.
        """
        for name, url, headers, body in SETTINGS_ROWS:
            with self.subTest(name):
                answer = self.request("POST", url, body, headers)
                self.assertDocument(answer, 200, HOSTING_SETTINGS, name)
                self.assertIsNone(answer.header(b"www-authenticate"), name)
                self.assertNotIn(b"secret", answer.body, name)
                self.assertNotIn(b"RnJlZC5", answer.body, name)

    def test_internationalDomain(self) -> None:
        """
        An address with a U-label domain gets the settings of the A-label domain,
        with the local part kept as sent.
        """
        answer = self.post(outlookRequest("J\u00f6rg@B\u00fccher.example"))
        self.assertEqual(answer.status, 200)
        address = parseAnswer(answer.body).findtext(f".//{{{OUTLOOK_NS}}}AutoDiscoverSMTPAddress")
        self.assertEqual(address, "J\u00f6rg@xn--bcher-kva.example")

    def test_notCached(self) -> None:
        """
        Answers carry the user's address, so caches must not keep them.
        """
        answer = self.post(outlookRequest(FRED))
        self.assertEqual(answer.header(b"cache-control"), b"no-store")


def _missing(namespace: str, schema: str) -> bytes:
    return (
        f'<Autodiscover xmlns="{namespace}"><Request>'
        f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


#: Broken and hostile requests: (name, body, HTTP status, ErrorCode,
#: namespace of Response or None for the root namespace).
ERROR_ROWS: list[tuple[str, bytes, int, int, Optional[str]]] = [
    ("empty body", b"", 200, 600, None),
    ("truncated XML", outlookRequest(FRED)[:-20], 200, 600, None),
    ("not XML", b"EMailAddress=fred@example.org", 200, 600, None),
    ("unescaped ampersand", outlookRequest("a&b@example.org"), 200, 600, None),
    (
        "another root element",
        b"<Request><EMailAddress>fred@example.org</EMailAddress></Request>",
        200,
        600,
        None,
    ),
    (
        "no Request element",
        f'<Autodiscover xmlns="{OUTLOOK_REQUEST_NS}"/>'.encode(),
        200,
        600,
        None,
    ),
    ("missing EMailAddress", _missing(OUTLOOK_REQUEST_NS, OUTLOOK_NS), 200, 600, OUTLOOK_NS),
    (
        "missing EMailAddress, mobilesync",
        _missing(MOBILESYNC_REQUEST_NS, MOBILESYNC_NS),
        200,
        600,
        MOBILESYNC_NS,
    ),
    ("empty EMailAddress", outlookRequest("  "), 200, 600, OUTLOOK_NS),
    ("address without domain", outlookRequest("fred"), 200, 600, OUTLOOK_NS),
    ("address ending in @", outlookRequest("fred@"), 200, 600, OUTLOOK_NS),
    ("invalid domain", outlookRequest("fred@exa mple..org"), 200, 600, OUTLOOK_NS),
    (
        "unsupported schema",
        outlookRequest(FRED, "http://example.org/responseschema/1999"),
        200,
        601,
        None,
    ),
    (
        "LegacyDN only",
        outlookRequest(FRED).replace(b"EMailAddress", b"LegacyDN"),
        404,
        500,
        OUTLOOK_NS,
    ),
    ("unknown domain", outlookRequest("fred@unknown.example"), 404, 500, OUTLOOK_NS),
    (
        "unknown domain, mobilesync",
        mobileSyncRequest("fred@unknown.example"),
        404,
        500,
        MOBILESYNC_NS,
    ),
    ("DTD", b"<!DOCTYPE Autodiscover>" + outlookRequest(FRED).split(b"?>", 1)[1], 200, 600, None),
    ("external entity", externalEntity("/etc/hostname"), 200, 600, None),
    ("entity bomb", ENTITY_BOMB, 200, 600, None),
    (
        "deep nesting",
        b"<Autodiscover>" + b"<a>" * 40 + b"</a>" * 40 + b"</Autodiscover>",
        200,
        600,
        None,
    ),
    ("namespace name with a space", b'<Autodiscover xmlns="urn:a b"/>', 200, 600, None),
    ("unknown encoding", outlookRequest(FRED).replace(b"utf-8", b"x-unknown"), 200, 600, None),
]

ERROR_MESSAGES = {
    500: "The email address can't be found.",
    600: "Invalid Request",
    601: "Provider is not available",
}


class ErrorDocumentEndpointTests(EndpointTestCase):
    """
    Broken and hostile requests get the right Autodiscover error document.
    """

    def test_errorRows(self) -> None:
        """
        Every request in L{ERROR_ROWS} gets its status and its error
        document, never a 500 and never another domain's settings.
        """
        for name, body, status, code, namespace in ERROR_ROWS:
            with self.subTest(name):
                answer = self.post(body)
                expected = errorDocument(code, ERROR_MESSAGES[code], namespace, MIDNIGHT)
                self.assertDocument(answer, status, expected, name)

    def test_bodyTooLarge(self) -> None:
        """
        A body over 8 KiB gets 413 from the Site before the resource runs.
        """
        answer = self.post(outlookRequest(FRED) + b" " * 8192)
        self.assertEqual(answer.status, 413)
        self.assertEqual(answer.header(b"content-type"), b"text/plain; charset=utf-8")

    def test_bodyTooLargeOtherSite(self) -> None:
        """
        Served by a plain Site, the resource itself rejects a body over
        8 KiB with 413 and error 600.
        """
        client = StubTreq(self.resource)
        response = self.successResultOf(
            client.post(XML_URL, data=outlookRequest(FRED) + b" " * 8192)
        )
        body = self.successResultOf(response.content())
        self.assertEqual(response.code, 413)
        self.assertEqual(
            canonical(body), canonical(errorDocument(600, "Invalid Request", None, MIDNIGHT))
        )

    def test_errorTime(self) -> None:
        """
        The Time attribute is the time of day of the request.
        """
        self.clock.advance(12 * 3600 + 34 * 60 + 56.5)
        answer = self.post(b"")
        expected = errorDocument(600, "Invalid Request", None, "12:34:56.5000000")
        self.assertDocument(answer, 200, expected)

    def test_otherMethods(self) -> None:
        """
        Methods other than POST, GET and HEAD get 405 with error 600.
        """
        for method in ("PUT", "DELETE", "OPTIONS", "PROPFIND"):
            with self.subTest(method):
                answer = self.request(method, XML_URL)
                self.assertDocument(
                    answer, 405, errorDocument(600, "Invalid Request", None, MIDNIGHT)
                )
                self.assertEqual(answer.header(b"allow"), b"GET, HEAD, POST")


class MobileSyncEndpointTests(EndpointTestCase):
    """
    ActiveSync devices get the mobilesync schema.
    """

    def test_activeSync(self) -> None:
        """
        A device asking about a domain with ActiveSync gets its URL.
        """
        answer = self.post(mobileSyncRequest("fred@school.example"))
        self.assertDocument(answer, 200, SCHOOL_MOBILESYNC)

    def test_schemaFromNamespace(self) -> None:
        """
        A mobilesync request without AcceptableResponseSchema gets a response in
        the mobilesync schema.
        """
        body = mobileSyncRequest("fred@school.example")
        body = body.split(b"<AcceptableResponseSchema>")[0] + b"</Request></Autodiscover>"
        answer = self.post(body)
        self.assertEqual(parseAnswer(answer.body)[0].tag, f"{{{MOBILESYNC_NS}}}Response")

    def test_noActiveSync(self) -> None:
        """
        A device asking about a domain without ActiveSync gets error 601 in
        the mobilesync schema, so it moves on.
        """
        answer = self.post(mobileSyncRequest(FRED))
        self.assertDocument(
            answer, 200, errorDocument(601, "Provider is not available", MOBILESYNC_NS, MIDNIGHT)
        )


class RedirectEndpointTests(EndpointTestCase):
    """
    Domains whose accounts live elsewhere send clients on.
    """

    def test_redirectAddress(self) -> None:
        """
        A renamed domain sends Outlook redirectAddr.
        """
        answer = self.post(outlookRequest("fred@renamed.example"))
        self.assertEqual(answer.status, 200)
        account = parseAnswer(answer.body).find(f".//{{{OUTLOOK_NS}}}Account")
        assert account is not None
        self.assertEqual(account.findtext(f"{{{OUTLOOK_NS}}}Action"), "redirectAddr")
        self.assertEqual(account.findtext(f"{{{OUTLOOK_NS}}}RedirectAddr"), "fred@example.org")

    def test_redirectURL(self) -> None:
        """
        A domain served by another Autodiscover server sends Outlook
        redirectUrl, never a 3xx status on the POST.
        """
        answer = self.post(outlookRequest("fred@elsewhere.example"))
        self.assertEqual(answer.status, 200)
        account = parseAnswer(answer.body).find(f".//{{{OUTLOOK_NS}}}Account")
        assert account is not None
        self.assertEqual(account.findtext(f"{{{OUTLOOK_NS}}}Action"), "redirectUrl")
        self.assertEqual(
            account.findtext(f"{{{OUTLOOK_NS}}}RedirectUrl"),
            "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml",
        )


class GetTests(EndpointTestCase):
    """
    GET on the XML endpoint, as Outlook's plain-HTTP redirect step sends it.
    """

    def test_plainHTTPRedirect(self) -> None:
        """
        A GET over plain HTTP for a served domain is redirected to the
        domain's https Autodiscover URL.
        """
        for host, location in (
            (
                "autodiscover.school.example",
                b"https://autodiscover.school.example/autodiscover/autodiscover.xml",
            ),
            (
                "autodiscover.example.org",
                b"https://mail.hosting.example/autodiscover/autodiscover.xml",
            ),
            ("example.org", b"https://mail.hosting.example/autodiscover/autodiscover.xml"),
            (
                "autodiscover.elsewhere.example",
                b"https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml",
            ),
        ):
            for method in ("GET", "HEAD"):
                with self.subTest(host=host, method=method):
                    answer = self.request(method, f"http://{host}/Autodiscover/Autodiscover.xml")
                    self.assertEqual(answer.status, 302)
                    self.assertEqual(answer.header(b"location"), location)
                    self.assertEqual(answer.body, b"")

    def test_plainHTTPUnknownDomain(self) -> None:
        """
        A GET over plain HTTP for a domain that is not served gets 404 with
        error 500, never another domain's URL.
        """
        answer = self.request(
            "GET", "http://autodiscover.unknown.example/autodiscover/autodiscover.xml"
        )
        self.assertDocument(
            answer, 404, errorDocument(500, "The email address can't be found.", None, MIDNIGHT)
        )
        self.assertIsNone(answer.header(b"location"))

    def test_plainHTTPInvalidHost(self) -> None:
        """
        A GET over plain HTTP whose Host is not a domain name gets 400 with
        error 600.
        """
        answer = self.request(
            "GET",
            "http://autodiscover.example.org/autodiscover/autodiscover.xml",
            headers={"Host": "bad_host!"},
        )
        self.assertDocument(answer, 400, errorDocument(600, "Invalid Request", None, MIDNIGHT))

    def test_httpsGet(self) -> None:
        """
        A GET over HTTPS gets error 600 and no settings.
        """
        answer = self.request("GET", XML_URL + "?emailaddress=" + FRED)
        self.assertDocument(answer, 200, errorDocument(600, "Invalid Request", None, MIDNIGHT))


JSON_URL = "https://autodiscover.example.org/autodiscover/autodiscover.json"
HOSTING_XML = "https://mail.hosting.example/autodiscover/autodiscover.xml"
EAS = "https://eas.school.example/Microsoft-Server-ActiveSync"
SUPPORTED = "Supported values are 'AutodiscoverV1,ActiveSync'"

#: (name, method, URL, status, JSON body).
JSON_ROWS: list[tuple[str, str, str, int, dict[str, str]]] = [
    (
        "query form",
        "GET",
        f"{JSON_URL}?Email={FRED}&Protocol=AutodiscoverV1",
        200,
        {"Protocol": "AutodiscoverV1", "Url": HOSTING_XML},
    ),
    (
        "path form as Outlook sends it",
        "GET",
        f"https://example.org/autodiscover/autodiscover.json/v1.0/{FRED}?Protocol=Autodiscoverv1&RedirectCount=1",
        200,
        {"Protocol": "AutodiscoverV1", "Url": HOSTING_XML},
    ),
    (
        "capitalised path form, encoded @",
        "GET",
        "https://example.org/Autodiscover/Autodiscover.json/v1.0/fred%40example.org?protocol=AUTODISCOVERV1",
        200,
        {"Protocol": "AutodiscoverV1", "Url": HOSTING_XML},
    ),
    (
        "lower-case parameter names",
        "GET",
        f"{JSON_URL}?email=fred%40example.org&protocol=autodiscoverv1&redirectcount=1",
        200,
        {"Protocol": "AutodiscoverV1", "Url": HOSTING_XML},
    ),
    (
        "address with +",
        "GET",
        f"{JSON_URL}?Email=fred+lists@example.org&Protocol=AutodiscoverV1",
        200,
        {"Protocol": "AutodiscoverV1", "Url": HOSTING_XML},
    ),
    (
        "default Autodiscover host",
        "GET",
        f"{JSON_URL}?Email=fred@school.example&Protocol=AutodiscoverV1",
        200,
        {
            "Protocol": "AutodiscoverV1",
            "Url": "https://autodiscover.school.example/autodiscover/autodiscover.xml",
        },
    ),
    (
        "redirect-url domain",
        "GET",
        f"{JSON_URL}?Email=fred@elsewhere.example&Protocol=AutodiscoverV1",
        200,
        {
            "Protocol": "AutodiscoverV1",
            "Url": "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml",
        },
    ),
    (
        "ActiveSync",
        "GET",
        f"{JSON_URL}?Email=fred@school.example&Protocol=ActiveSync",
        200,
        {"Protocol": "ActiveSync", "Url": EAS},
    ),
    (
        "ActiveSync not offered",
        "GET",
        f"{JSON_URL}?Email={FRED}&Protocol=activesync",
        404,
        {
            "ErrorCode": "ProtocolNotAvailable",
            "ErrorMessage": "ActiveSync is not offered for this domain",
        },
    ),
    (
        "unsupported protocol",
        "GET",
        f"{JSON_URL}?Email={FRED}&Protocol=Ews",
        400,
        {
            "ErrorCode": "InvalidProtocol",
            "ErrorMessage": f"The given protocol value 'Ews' is invalid. {SUPPORTED}",
        },
    ),
    (
        "markup in protocol",
        "GET",
        f"{JSON_URL}?Email={FRED}&Protocol=%3Cscript%3Ex",
        400,
        {
            "ErrorCode": "InvalidProtocol",
            "ErrorMessage": f"The given protocol value 'scriptx' is invalid. {SUPPORTED}",
        },
    ),
    (
        "missing protocol",
        "GET",
        f"{JSON_URL}?Email={FRED}",
        400,
        {
            "ErrorCode": "InvalidProtocol",
            "ErrorMessage": f"The given protocol value '' is invalid. {SUPPORTED}",
        },
    ),
    (
        "missing address",
        "GET",
        f"{JSON_URL}?Protocol=AutodiscoverV1",
        400,
        {"ErrorCode": "InvalidEmailAddress", "ErrorMessage": "the request has no Email parameter"},
    ),
    (
        "address without domain",
        "GET",
        f"{JSON_URL}?Email=fred&Protocol=AutodiscoverV1",
        400,
        {
            "ErrorCode": "InvalidEmailAddress",
            "ErrorMessage": "the Email value is not an email address",
        },
    ),
    (
        "invalid percent-encoding",
        "GET",
        f"{JSON_URL}?Email=fred%FF@example.org&Protocol=AutodiscoverV1",
        400,
        {
            "ErrorCode": "InvalidRequest",
            "ErrorMessage": "the email parameter is not valid percent-encoded UTF-8",
        },
    ),
    (
        "unknown domain",
        "GET",
        f"{JSON_URL}?Email=fred@unknown.example&Protocol=AutodiscoverV1",
        404,
        {
            "ErrorCode": "DomainNotFound",
            "ErrorMessage": "no Autodiscover configuration for this domain",
        },
    ),
    (
        "POST",
        "POST",
        f"{JSON_URL}?Email={FRED}&Protocol=AutodiscoverV1",
        405,
        {"ErrorCode": "MethodNotAllowed", "ErrorMessage": "use GET"},
    ),
]


class JSONEndpointTests(EndpointTestCase):
    """
    Autodiscover v2 requests in every URL form Outlook uses.
    """

    def test_jsonRows(self) -> None:
        """
        Every request in L{JSON_ROWS} gets its status and JSON body, with
        the JSON media type.
        """
        for name, method, url, status, expected in JSON_ROWS:
            with self.subTest(name):
                answer = self.request(method, url)
                self.assertEqual(answer.status, status, name)
                self.assertEqual(
                    answer.header(b"content-type"), b"application/json; charset=utf-8", name
                )
                self.assertEqual(json.loads(answer.body), expected, name)

    def test_head(self) -> None:
        """
        HEAD gets the status and headers of GET without a body.
        """
        answer = self.request("HEAD", f"{JSON_URL}?Email={FRED}&Protocol=AutodiscoverV1")
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.header(b"content-type"), b"application/json; charset=utf-8")
        self.assertEqual(answer.body, b"")


@implementer(ILogObserver)
@attrs.define
class _Recorder:
    """
    Collects the text of every log event.
    """

    texts: list[str] = attrs.field(factory=list)

    def __call__(self, event: LogEvent) -> None:
        self.texts.append(repr(event) + (formatEvent(event) or ""))


class AuthorizationTests(EndpointTestCase):
    """
    The Authorization header is ignored and never logged or echoed.
    """

    def test_neverLogged(self) -> None:
        """
        Neither the credentials nor the full address appear in any log
        event, for a valid request and a broken one.
        """
        recorder = _Recorder()
        globalLogPublisher.addObserver(recorder)
        self.addCleanup(globalLogPublisher.removeObserver, recorder)
        credentials = {"Authorization": "Basic RnJlZC5TbWl0aEBleGFtcGxlLm9yZzpzZWNyZXQ="}
        for body in (outlookRequest(FRED), outlookRequest(FRED)[:-5], mobileSyncRequest(FRED)):
            self.request("POST", XML_URL, body, credentials)
        self.request("GET", f"{JSON_URL}?Email={FRED}&Protocol=x", headers=credentials)
        logged = "\n".join(recorder.texts)
        self.assertNotIn("RnJlZC5TbWl0aEBleGFtcGxlLm9yZzpzZWNyZXQ=", logged)
        self.assertNotIn("secret", logged)
        self.assertNotIn(FRED, logged)

    def test_accessLogNamesDomain(self) -> None:
        """
        The access log entry of an Autodiscover POST carries the protocol,
        the domain and the status.
        """
        events: list[LogEvent] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.post(outlookRequest(FRED))
        [access] = [e for e in events if e.get("log_namespace") == "mailfront.access"]
        self.assertEqual(access["protocol"], "autodiscover")
        self.assertEqual(access["domain"], "example.org")
        self.assertEqual(access["status"], 200)


class _BrokenHolder(SnapshotHolder):
    """
    A holder whose snapshot cannot be read, to provoke an internal failure.
    """

    def __init__(self) -> None:
        pass

    @property  # type: ignore[override]
    def current(self) -> Any:
        raise RuntimeError("snapshot unavailable")


class InternalFailureTests(SynchronousTestCase):
    """
    A failure inside mailfront gets a document in response, not Twisted's
    HTML error page.
    """

    def setUp(self) -> None:
        self.resource = buildSite(_BrokenHolder(), Clock()).resource

    def test_xmlEndpoint(self) -> None:
        """
        The XML endpoint returns 503 with error 603, so the client tries
        its next candidate, and logs the failure.
        """
        client = StubTreq(self.resource)
        response = self.successResultOf(client.post(XML_URL, data=outlookRequest(FRED)))
        body = self.successResultOf(response.content())
        self.assertEqual(response.code, 503)
        self.assertEqual(
            canonical(body),
            canonical(errorDocument(603, "Internal Server Error", None, MIDNIGHT)),
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_jsonEndpoint(self) -> None:
        """
        The JSON endpoint returns 503 with a JSON error and logs the
        failure.
        """
        client = StubTreq(self.resource)
        response = self.successResultOf(
            client.get(f"{JSON_URL}?Email={FRED}&Protocol=AutodiscoverV1")
        )
        body = self.successResultOf(response.content())
        self.assertEqual(response.code, 503)
        self.assertEqual(
            json.loads(body), {"ErrorCode": "InternalServerError", "ErrorMessage": "internal error"}
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


# Hypothesis ------------------------------------------------------------------

_NAMES = ["Autodiscover", "Request", "EMailAddress", "AcceptableResponseSchema", "LegacyDN", "x"]
_NAMESPACES = [None, OUTLOOK_REQUEST_NS, MOBILESYNC_REQUEST_NS, "urn:other"]
_TEXTS = st.one_of(
    st.sampled_from(
        [
            FRED,
            "fred@school.example",
            "fred@renamed.example",
            "fred@unknown.example",
            "fred",
            "@",
            OUTLOOK_NS,
            MOBILESYNC_NS,
            "%EMAILDOMAIN%@example.org",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")), max_size=40),
)
_ELEMENT_NAMES = st.one_of(
    st.sampled_from(_NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9._-]{0,8}", fullmatch=True)
)


@st.composite
def _elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    namespace = draw(st.sampled_from(_NAMESPACES))
    name = draw(_ELEMENT_NAMES)
    element = etree.Element(name if namespace is None else f"{{{namespace}}}{name}")
    element.text = draw(_TEXTS)
    if depth < 4:
        for child in draw(st.lists(_elements(depth + 1), max_size=3)):
            element.append(child)
    return element


@st.composite
def _autodiscoverShaped(draw: st.DrawFn) -> etree._Element:
    """
    Draw an Autodiscover root with a Request of random children, so that
    many documents get past the shape checks.
    """
    namespace = draw(st.sampled_from(_NAMESPACES))

    def name(local: str) -> str:
        return local if namespace is None else f"{{{namespace}}}{local}"

    root = etree.Element(
        name(draw(st.sampled_from(["Autodiscover", "autodiscover", "AUTODISCOVER"])))
    )
    request = etree.SubElement(root, name("Request"))
    children = st.sampled_from(["EMailAddress", "AcceptableResponseSchema", "LegacyDN", "Extra"])
    for local in draw(st.lists(children, max_size=4)):
        etree.SubElement(request, name(local)).text = draw(_TEXTS)
    if draw(st.booleans()):
        request.append(draw(_elements(2)))
    return root


@st.composite
def wellFormedXML(draw: st.DrawFn) -> bytes:
    """
    Draw a well-formed document built from Autodiscover's element names,
    namespaces and typical values, serialized in several ways.
    """
    root = draw(st.one_of(_elements(), _autodiscoverShaped()))
    encoding = draw(st.sampled_from(["UTF-8", "UTF-16", "ISO-8859-1", "us-ascii"]))
    document: bytes = etree.tostring(
        root,
        encoding=encoding,
        xml_declaration=draw(st.booleans()),
        pretty_print=draw(st.booleans()),
    )
    return document


def _mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(outlookRequest(draw(st.sampled_from([FRED, "fred@school.example"]))))
    position = draw(st.integers(0, len(body) - 1))
    body[position] = draw(st.integers(0, 255))
    return bytes(body)


@st.composite
def _anyNamespaceName(draw: st.DrawFn) -> bytes:
    """
    Draw a request whose namespace name is arbitrary text, escaped as an
    attribute value.
    """
    name = draw(_TEXTS)
    return (
        f"<Autodiscover xmlns={quoteattr(name)}><Request>"
        f"<EMailAddress>{FRED}</EMailAddress></Request></Autodiscover>"
    ).encode()


_BODIES = st.one_of(
    _anyNamespaceName(), st.binary(max_size=9000), wellFormedXML(), st.composite(_mutated)()
)


class HypothesisTests(EndpointTestCase):
    """
    Arbitrary input never breaks the XML endpoint.
    """

    @settings(max_examples=150, deadline=datetime.timedelta(seconds=1))
    @given(body=_BODIES, secure=st.booleans())
    @example(body=externalEntity("/etc/hostname"), secure=True)
    @example(body=ENTITY_BOMB, secure=True)
    @example(body=b"<a>" * 5000, secure=True)
    @example(body=b"\xef\xbb\xbf" + outlookRequest(FRED), secure=False)
    def test_anyBody(self, body: bytes, secure: bool) -> None:
        """
        Any body, within a second per request, gets a 4xx or a well-formed
        Autodiscover document, never HTML or a 5xx, and never settings for a
        domain the request did not name.
        """
        scheme = "https" if secure else "http"
        answer = self.post(
            body, f"{scheme}://autodiscover.example.org/autodiscover/autodiscover.xml"
        )
        self.assertNotIn(b"html", answer.header(b"content-type") or b"")
        if 400 <= answer.status < 500:
            return
        self.assertEqual(answer.status, 200)
        root = parseAnswer(answer.body)
        self.assertEqual(root.tag, f"{{{ROOT_NS}}}Autodiscover")
        self.assertIn(
            root[0].tag, {f"{{{ns}}}Response" for ns in (ROOT_NS, OUTLOOK_NS, MOBILESYNC_NS)}
        )
        for address in root.iter(
            f"{{{OUTLOOK_NS}}}AutoDiscoverSMTPAddress", f"{{{MOBILESYNC_NS}}}EMailAddress"
        ):
            domain = (address.text or "").rpartition("@")[2]
            self.assertIn(domain.encode(), body.lower().replace(b"\x00", b""))
