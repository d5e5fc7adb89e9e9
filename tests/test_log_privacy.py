"""
No log event carries an email address or a credential, for every protocol.

Each row of L{CASES} is a request a client may send, with an address in
the query, the path or a header, and credentials in C{Authorization}. The
request goes through the real public Site in memory. Every event logged
while it is handled is rendered every way an observer might render it, and
no rendering may contain the address's local part or a credential.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Optional

import attrs
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.logger import LogEvent, eventAsJSON, eventAsText, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from mailfront.admin import buildAdminSite
from mailfront.logs import eventAsJSONLine
from mailfront.metrics import Metrics
from mailfront.registry import loadDirectory
from mailfront.reload import Reloader
from mailfront.service import buildSite
from mailfront.show import requestInMemory
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .logcapture import captureEvents
from .running import EXAMPLE_CONFIG
from .test_reload import runAtOnce
from .versioned import FILE_NAME, validVersion, writeConfig

#: The local part that must never be logged; it appears in every case.
LOCAL_PART = "fred.secret"
ADDRESS = LOCAL_PART + "@example.com"
PASSWORD = "hunter2-password"
BASIC_CREDENTIALS = base64.b64encode(f"{ADDRESS}:{PASSWORD}".encode()).decode()
BEARER_TOKEN = "eyJhbGciOiJub25lIn0.bearer-secret"

#: Text that no rendered log event may contain.
SECRETS = (LOCAL_PART, PASSWORD, BASIC_CREDENTIALS, BEARER_TOKEN)

_BASIC = (b"Authorization", b"Basic " + BASIC_CREDENTIALS.encode())
_BEARER = (b"Authorization", b"Bearer " + BEARER_TOKEN.encode())


@attrs.frozen
class PrivacyCase:
    """
    One request, and the fields its access log event must contain in place
    of the address.

    @ivar protocol: The protocol the access event must name, or C{None}.
    @ivar domain: The domain the access event must name, or C{None}.
    """

    name: str
    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    status: int
    protocol: Optional[str]
    domain: Optional[str]
    body: bytes = b""


_AUTOCONFIG = b"/mail/config-v1.1.xml"
_OUTLOOK_REQUEST = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    b'requestschema/2006"><Request><EMailAddress>fred.secret@example.com</EMailAddress>'
    b"<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
    b"responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"
)
_MOBILESYNC_REQUEST = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/'
    b'requestschema/2006"><Request><EMailAddress>fred.secret@example.com</EMailAddress>'
    b"<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
    b"mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>"
)
_HOST = (b"Host", b"autoconfig.example.com")

#: Requests of every protocol served; add rows when adding a protocol.
CASES = (
    PrivacyCase(
        "Autoconfig, encoded address, Basic credentials",
        b"GET",
        _AUTOCONFIG + b"?emailaddress=fred.secret%40example.com",
        (_HOST, _BASIC),
        200,
        "autoconfig",
        "example.com",
    ),
    PrivacyCase(
        "Autoconfig, HEAD",
        b"HEAD",
        _AUTOCONFIG + b"?emailaddress=fred.secret%40example.com",
        (_HOST, _BASIC),
        200,
        "autoconfig",
        "example.com",
    ),
    PrivacyCase(
        "Autoconfig, raw address with plus",
        b"GET",
        b"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=fred.secret+lists@example.com",
        (_HOST, _BEARER),
        200,
        "autoconfig",
        "example.com",
    ),
    PrivacyCase(
        "Autoconfig, address in the path",
        b"GET",
        b"/mail/config-v1.1.xml/fred.secret@example.com?emailaddress=fred.secret%40example.com",
        (_HOST,),
        404,
        None,
        None,
    ),
    PrivacyCase(
        "Autoconfig, invalid domain",
        b"GET",
        _AUTOCONFIG + b"?emailaddress=fred.secret%40bad..example",
        (_HOST, _BASIC),
        400,
        "autoconfig",
        None,
    ),
    PrivacyCase(
        "Autoconfig, unknown domain",
        b"GET",
        _AUTOCONFIG + b"?emailaddress=fred.secret%40unknown.example",
        (_HOST, _BEARER),
        404,
        "autoconfig",
        "unknown.example",
    ),
    PrivacyCase(
        "Autoconfig, CORS preflight",
        b"OPTIONS",
        _AUTOCONFIG + b"?emailaddress=fred.secret%40example.com",
        (_HOST, (b"Origin", b"https://setup.example.com")),
        204,
        "autoconfig",
        None,
    ),
    PrivacyCase(
        "Autodiscover POX, Basic credentials",
        b"POST",
        b"/Autodiscover/Autodiscover.xml",
        ((b"Host", b"autodiscover.example.com"), _BASIC, (b"Content-Type", b"text/xml")),
        200,
        "autodiscover",
        "example.com",
        _OUTLOOK_REQUEST,
    ),
    PrivacyCase(
        "Autodiscover POX, unknown domain",
        b"POST",
        b"/autodiscover/autodiscover.xml",
        ((b"Host", b"autodiscover.example.com"), _BEARER),
        404,
        "autodiscover",
        "unknown.example",
        _OUTLOOK_REQUEST.replace(b"@example.com", b"@unknown.example"),
    ),
    PrivacyCase(
        "Autodiscover mobilesync",
        b"POST",
        b"/autodiscover/autodiscover.xml",
        ((b"Host", b"autodiscover.example.com"), _BASIC),
        200,
        "autodiscover",
        "example.com",
        _MOBILESYNC_REQUEST,
    ),
    PrivacyCase(
        "Autodiscover JSON, address in the path",
        b"GET",
        b"/autodiscover/autodiscover.json/v1.0/fred.secret@example.com?Protocol=AutodiscoverV1",
        ((b"Host", b"autodiscover.example.com"), _BEARER),
        200,
        "autodiscover-json",
        "example.com",
    ),
    PrivacyCase(
        "Autodiscover JSON, address in the query",
        b"GET",
        b"/autodiscover/autodiscover.json?Email=fred.secret%40school.example&Protocol=ActiveSync",
        ((b"Host", b"autodiscover.school.example"), _BASIC),
        200,
        "autodiscover-json",
        "school.example",
    ),
    PrivacyCase(
        "Apple profile",
        b"GET",
        b"/apple/mail.mobileconfig?emailaddress=fred.secret%40example.com",
        (_HOST, _BASIC),
        200,
        "apple-profile",
        "example.com",
    ),
    PrivacyCase(
        "setup page with an address",
        b"GET",
        b"/?emailaddress=fred.secret%40example.com",
        (_HOST,),
        200,
        "setup-page",
        "example.com",
    ),
    PrivacyCase(
        "no protocol, address in the path",
        b"GET",
        b"/users/fred.secret@example.com/settings",
        (_HOST, _BASIC),
        404,
        None,
        None,
    ),
)


def renderings(event: LogEvent) -> list[str]:
    """
    Render an event every way an observer may: formatted message, text
    with traceback, Twisted's JSON, mailfront's JSON lines, and the repr of
    every field.
    """
    texts = [formatEvent(event), eventAsText(event), eventAsJSONLine(event)]
    texts.append(eventAsJSON(dict(event)))
    texts.extend(repr(value) for key, value in event.items() if key != "log_logger")
    return texts


class LogPrivacyTests(SynchronousTestCase):
    """
    Requests carrying addresses and credentials leave neither in the log.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.holder = SnapshotHolder(buildSnapshot(loadDirectory(EXAMPLE_CONFIG), 1))
        self.metrics = Metrics(self.holder.current, 0.0)
        self.site = buildSite(self.holder, self.clock, requestObserver=self.metrics)

    def assertNoSecrets(self, caseName: str, events: list[LogEvent]) -> None:
        for event in events:
            for text in renderings(event):
                for secret in SECRETS:
                    self.assertNotIn(secret, text, f"{caseName}: {secret!r} logged in {text!r}")

    def test_everyProtocol(self) -> None:
        """
        For every request of the table, exactly one access event is logged,
        with the expected status, protocol and domain, and no event contains
        the address or a credential.
        """
        for case in CASES:
            events = captureEvents(self)

            response = requestInMemory(self.site, case.method, case.target, case.headers, case.body)

            self.assertEqual(response.status, case.status, case.name)
            access = [e for e in events if e.get("log_namespace") == "mailfront.access"]
            self.assertEqual(len(access), 1, case.name)
            self.assertEqual(access[0]["status"], case.status, case.name)
            self.assertEqual(access[0]["protocol"], case.protocol, case.name)
            self.assertEqual(access[0]["domain"], case.domain, case.name)
            self.assertEqual(access[0]["client"], "127.0.0.1", case.name)
            self.assertNoSecrets(case.name, events)
            self.flushLoggedErrors()

    def test_pathKeepsDomain(self) -> None:
        """
        An address in a path is logged with its local part replaced, so the
        domain stays visible.
        """
        events = captureEvents(self)

        requestInMemory(self.site, b"GET", b"/users/fred.secret@example.com/settings")

        access = [e for e in events if e.get("log_namespace") == "mailfront.access"]
        self.assertEqual(access[0]["path"], "/users/*@example.com/settings")

    def test_headResponse(self) -> None:
        """
        A HEAD request gets the headers of the GET response, with its length,
        and no body.
        """
        target = _AUTOCONFIG + b"?emailaddress=fred%40example.com"
        get = requestInMemory(self.site, b"GET", target)

        head = requestInMemory(self.site, b"HEAD", target)

        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.header("content-length"), str(len(get.body)))
        self.assertEqual(head.header("content-type"), get.header("content-type"))


class ReloadLogPrivacyTests(SynchronousTestCase):
    """
    Reload logging and the admin token keep addresses and tokens out of the
    log.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.makedirs(self.directory)
        writeConfig(self.directory, validVersion("a"))
        self.path = os.path.join(self.directory, FILE_NAME)
        self.clock = Clock()
        self.holder = SnapshotHolder(buildSnapshot(loadDirectory(self.directory), 1))
        self.reloader = Reloader(self.holder, self.directory, self.clock, runAtOnce)

    def test_configErrorRedacted(self) -> None:
        """
        Configuration errors whose file name, key or reason contains an
        address are logged with its local part replaced. The health endpoint
        keeps the full text for the operator.
        """
        with open(self.path, "a") as f:
            f.write('[providers.versioned.webmail]\nlogin-page = "fred.secret@example.com"\n')
        with open(os.path.join(self.directory, "fred.secret@example.com.toml"), "w") as f:
            f.write('[domains."fred.secret@example.com"]\nprovider = "versioned"\n')
        events = captureEvents(self)

        result = self.successResultOf(self.reloader.request("test"))

        self.assertFalse(result.succeeded)
        self.assertIn(ADDRESS, result.errors[0].path)
        self.assertIn(ADDRESS, result.errors[1].reason)
        errors = [formatEvent(e) for e in events if e["log_level"].name == "error"]
        self.assertEqual(len(errors), 2)
        self.assertIn('*@example.com.toml: domains."*@example.com": ', errors[0])
        self.assertIn("'*@example.com' is not an absolute URL", errors[1])
        for event in events:
            for text in renderings(event):
                self.assertNotIn(LOCAL_PART, text)

    def test_adminTokenNotLogged(self) -> None:
        """
        Neither the admin token of an accepted reload request nor the value
        of a rejected one is logged.
        """
        token = b"admin-token-never-logged"
        metrics = Metrics(self.holder.current, 0.0)
        site = buildAdminSite(self.holder, self.reloader, metrics, token, self.clock)
        admin: Any = StubTreq(site.resource)
        events = captureEvents(self)

        for value in (b"Bearer " + token, b"Bearer wrong-token-never-logged"):
            response = self.successResultOf(
                admin.post("http://127.0.0.1/reload", headers={b"authorization": [value]})
            )
            self.successResultOf(response.content())

        self.assertTrue(events)
        for event in events:
            for text in renderings(event):
                self.assertNotIn("never-logged", text)
