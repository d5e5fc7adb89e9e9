"""
Every protocol's response to one email address, for C{mailfront show}.

Each protocol contributes a section function to L{SECTIONS}. HTTP protocols
send their requests through the same Site the server runs, in memory (see
L{requestInMemory}), so the printed response is the one a client would get
from a server with this configuration, status line included.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence
from urllib.parse import quote

import attrs
from lxml import etree
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web.server import Site

from .service import buildSite
from .render.zonefile import recordLines
from .snapshot import Snapshot, SnapshotHolder
from .web import appleprofile, autoconfig, autodiscover

__all__ = [
    "CapturedResponse",
    "Inquiry",
    "SECTIONS",
    "Section",
    "requestInMemory",
    "appleProfileSection",
    "autoconfigSection",
    "autodiscoverJSONSection",
    "autodiscoverSection",
    "dnsSection",
    "mobileSyncSection",
    "formatReport",
    "inquire",
]


@attrs.frozen
class CapturedResponse:
    """
    An HTTP response as a client receives it.

    @ivar headers: Header names in lower case, with their values, in the
        order sent.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """
        Find the first value of a header, by its lower-case name.
        """
        for key, value in self.headers:
            if key == name:
                return value
        return None


def _dechunk(body: bytes) -> bytes:
    chunks = []
    while body:
        sizeLine, _, body = body.partition(b"\r\n")
        size = int(sizeLine.split(b";")[0], 16)
        if size == 0:
            break
        chunks.append(body[:size])
        body = body[size + 2 :]
    return b"".join(chunks)


def requestInMemory(
    site: Site,
    method: bytes,
    target: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> CapturedResponse:
    """
    Send one HTTP/1.1 request through C{site} without a socket.

    The request goes through Twisted's HTTP parser, the Site and every
    resource exactly as over TCP; the client address is 127.0.0.1. Only
    resources that respond without waiting for the reactor are supported.

    @param target: The request target, such as C{b"/path?query"}.
    @param headers: Request headers; C{Content-Length} and
        C{Connection: close} are added.
    """
    lines = [b"%s %s HTTP/1.1" % (method, target)]
    lines.extend(b"%s: %s" % (name, value) for name, value in headers)
    lines.append(b"Content-Length: %d" % (len(body),))
    lines.append(b"Connection: close")
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + body

    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 0))
    protocol = site.buildProtocol(transport.getPeer())
    assert protocol is not None
    protocol.makeConnection(transport)
    protocol.dataReceived(raw)

    head, _, responseBody = transport.value().partition(b"\r\n\r\n")
    statusLine, *headerLines = head.decode("iso-8859-1").split("\r\n")
    _, code, reason = statusLine.split(" ", 2)
    responseHeaders = []
    for line in headerLines:
        name, _, value = line.partition(":")
        responseHeaders.append((name.strip().lower(), value.strip()))
    response = CapturedResponse(int(code), reason, tuple(responseHeaders), responseBody)
    if response.header("transfer-encoding") == "chunked":
        response = attrs.evolve(response, body=_dechunk(responseBody))
    return response


@attrs.frozen
class Inquiry:
    """
    One address to show, with what a section needs to build its response.

    @ivar address: The address as the operator typed it.
    @ivar domain: Its normalized domain.
    @ivar site: The public Site, serving C{snapshot}.
    """

    address: str
    domain: str
    snapshot: Snapshot
    site: Site


@attrs.frozen
class Section:
    """
    One protocol's response, as text for a terminal.
    """

    title: str
    text: str


def _describeHTTP(request: str, response: CapturedResponse) -> str:
    contentType = response.header("content-type") or "no content type"
    lines = [request, f"{response.status} {response.reason} ({contentType})"]
    location = response.header("location")
    if location is not None:
        lines.append(f"Location: {location}")
    lines.append(response.body.decode("utf-8", "replace").rstrip("\n"))
    return "\n".join(lines)


def autoconfigSection(inquiry: Inquiry) -> Section:
    """
    Show the Autoconfig document that Thunderbird would fetch.
    """
    host = f"autoconfig.{inquiry.domain}"
    target = f"{autoconfig.PATHS[0].decode()}?emailaddress={quote(inquiry.address, safe='')}"
    response = requestInMemory(
        inquiry.site, b"GET", target.encode("ascii"), [(b"Host", host.encode("ascii"))]
    )
    return Section("Autoconfig", _describeHTTP(f"GET http://{host}{target}", response))


def _autodiscoverRequest(schema: str, responseSchema: str, address: str) -> bytes:
    root = etree.Element(
        "Autodiscover",
        nsmap={None: f"http://schemas.microsoft.com/exchange/autodiscover/{schema}"},
    )
    request = etree.SubElement(root, "Request")
    etree.SubElement(request, "EMailAddress").text = address
    etree.SubElement(request, "AcceptableResponseSchema").text = (
        f"http://schemas.microsoft.com/exchange/autodiscover/{responseSchema}"
    )
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return body


def _postAutodiscover(inquiry: Inquiry, schema: str, responseSchema: str) -> str:
    host = f"autodiscover.{inquiry.domain}"
    body = _autodiscoverRequest(schema, responseSchema, inquiry.address)
    response = requestInMemory(
        inquiry.site,
        b"POST",
        autodiscover.XML_PATH,
        [(b"Host", host.encode("ascii")), (b"Content-Type", b"text/xml")],
        body,
    )
    request = f"POST https://{host}{autodiscover.XML_PATH.decode()} ({schema})"
    return _describeHTTP(request, response)


def autodiscoverSection(inquiry: Inquiry) -> Section:
    """
    Show the Outlook (POX) Autodiscover response that Outlook would get.
    """
    text = _postAutodiscover(
        inquiry, "outlook/requestschema/2006", "outlook/responseschema/2006a"
    )
    return Section("Autodiscover (Outlook)", text)


def mobileSyncSection(inquiry: Inquiry) -> Section:
    """
    Show the ActiveSync (mobilesync) Autodiscover response.
    """
    text = _postAutodiscover(
        inquiry, "mobilesync/requestschema/2006", "mobilesync/responseschema/2006"
    )
    return Section("Autodiscover (ActiveSync)", text)


def autodiscoverJSONSection(inquiry: Inquiry) -> Section:
    """
    Show the JSON Autodiscover responses for both protocols clients ask.
    """
    host = f"autodiscover.{inquiry.domain}"
    parts = []
    for protocol in ("AutodiscoverV1", "ActiveSync"):
        target = (
            f"{autodiscover.JSON_PATH.decode()}?Email={quote(inquiry.address, safe='')}"
            f"&Protocol={protocol}"
        )
        response = requestInMemory(
            inquiry.site, b"GET", target.encode("ascii"), [(b"Host", host.encode("ascii"))]
        )
        parts.append(_describeHTTP(f"GET https://{host}{target}", response))
    return Section("Autodiscover (JSON)", "\n\n".join(parts))


def appleProfileSection(inquiry: Inquiry) -> Section:
    """
    Show the Apple configuration profile, unsigned so it can be read; the
    server signs what it sends.
    """
    host = f"autoconfig.{inquiry.domain}"
    target = f"{appleprofile.PATH.decode()}?emailaddress={quote(inquiry.address, safe='')}"
    response = requestInMemory(
        inquiry.site, b"GET", target.encode("ascii"), [(b"Host", host.encode("ascii"))]
    )
    return Section(
        "Apple profile (shown unsigned)", _describeHTTP(f"GET https://{host}{target}", response)
    )


def dnsSection(inquiry: Inquiry) -> Section:
    """
    Show the DNS records mailfront publishes for the domain, as zone-file
    lines (the same records the DNS authority serves).
    """
    data = inquiry.snapshot.dns
    if data is None:
        text = "the configuration has no [dns] table; see docs/dns.md"
    elif inquiry.domain not in data.templates:
        text = f"{inquiry.domain} is not in the configuration; no records"
    else:
        text = "\n".join(recordLines(data.records(inquiry.domain)))
    return Section("DNS records", text)


#: Section functions, one per protocol, in the order they are printed.
SECTIONS: tuple[Callable[[Inquiry], Section], ...] = (
    autoconfigSection,
    autodiscoverSection,
    mobileSyncSection,
    autodiscoverJSONSection,
    appleProfileSection,
    dnsSection,
)


def inquire(snapshot: Snapshot, address: str, domain: str) -> list[Section]:
    """
    Ask every protocol of L{SECTIONS} about an address.

    @param domain: The normalized domain of C{address}.
    """
    site = buildSite(SnapshotHolder(snapshot), Clock())
    inquiry = Inquiry(address, domain, snapshot, site)
    return [section(inquiry) for section in SECTIONS]


def formatReport(snapshot: Snapshot, address: str, domain: str) -> str:
    """
    Describe the domain's entry and every protocol's response, for printing.
    """
    entry = snapshot.lookup(domain)
    if entry is None:
        lines = [f"{domain} is not in the configuration; every protocol responds not found."]
    else:
        source = entry.source or "an unknown file"
        lines = [f"{domain}: provider {entry.provider.id}, configured in {source}"]
    for section in inquire(snapshot, address, domain):
        lines.append("")
        lines.append(f"== {section.title} ==")
        lines.append(section.text)
    return "\n".join(lines) + "\n"
