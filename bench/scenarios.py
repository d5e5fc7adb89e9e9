"""
The HTTP scenarios: what each client family requests, from mailfront and
from the peer, and how a response is checked.
"""

from __future__ import annotations

import http.client
import random
from typing import Callable, Optional, Sequence
from urllib.parse import quote

import attrs
from lxml import etree

from .registry import BenchProvider, BenchRegistry

__all__ = [
    "OUTLOOK_REQUEST",
    "SCENARIOS",
    "Answer",
    "Scenario",
    "fetch",
    "sampleRequests",
]

#: The body Outlook posts to Autodiscover, with C{%ADDRESS%} where the
#: address goes. Outlook and Thunderbird send it pretty-printed like this.
OUTLOOK_REQUEST = b"""\
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%ADDRESS%</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""

#: Thunderbird sends exactly this type, because outlook.com requires it.
OUTLOOK_CONTENT_TYPE = "text/xml; charset=utf-8"

_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@attrs.frozen
class Answer:
    """
    One HTTP response, as the checks see it.
    """

    status: int
    contentType: str
    body: bytes


def _serverHosts(answer: Answer, tag: str) -> Optional[set[str]]:
    try:
        root = etree.fromstring(answer.body, _SAFE_XML)
    except etree.XMLSyntaxError:
        return None
    return {
        (element.text or "").strip()
        for element in root.iter()
        if isinstance(element.tag, str) and etree.QName(element).localname == tag
    }


def _checkAutoconfig(answer: Answer, domain: str, provider: BenchProvider) -> Optional[str]:
    hosts = _serverHosts(answer, "hostname")
    if hosts is None:
        return "the answer is not well-formed XML"
    domains = _serverHosts(answer, "domain") or set()
    if domain not in domains:
        return f"the answer lists no <domain> {domain}"
    missing = {provider.imapHost, provider.smtpHost} - hosts
    return f"the answer lacks the host names {sorted(missing)}" if missing else None


def _checkAutodiscover(answer: Answer, domain: str, provider: BenchProvider) -> Optional[str]:
    hosts = _serverHosts(answer, "Server")
    if hosts is None:
        return "the answer is not well-formed XML"
    missing = {provider.imapHost, provider.smtpHost} - hosts
    return f"the answer lacks the <Server> values {sorted(missing)}" if missing else None


def _checkProfile(answer: Answer, domain: str, provider: BenchProvider) -> Optional[str]:
    # A signed profile is CMS with the property list attached as it is, so
    # the host names appear in the bytes either way.
    for host in (provider.imapHost, provider.smtpHost):
        if f"<string>{host}</string>".encode("ascii") not in answer.body:
            return f"the profile does not name the host {host}"
    return None


@attrs.frozen
class Scenario:
    """
    One kind of request, as sent to mailfront and to the peer.

    @ivar name: Short name, used in file names and options.
    @ivar title: Name in the report.
    @ivar hostPrefix: Prefixed to the domain to make the Host header, as the
        client family does.
    @ivar mailfrontPath: The path with query for an address, on mailfront.
    @ivar peerPath: The same request's path on automx2.
    @ivar body: The request body template with C{%ADDRESS%}, for POST.
    @ivar check: Returns a problem of a 200 response for an address of a
        domain, or C{None} if the response is correct.
    """

    name: str
    title: str
    method: str
    hostPrefix: str
    mailfrontPath: Callable[[str], str]
    peerPath: Callable[[str], str]
    check: Callable[[Answer, str, BenchProvider], Optional[str]]
    body: Optional[bytes] = None
    contentType: str = ""

    def requestBody(self, address: str) -> Optional[bytes]:
        """
        Fill the body template with C{address}.
        """
        if self.body is None:
            return None
        return self.body.replace(b"%ADDRESS%", address.encode("ascii"))


def _query(path: str) -> Callable[[str], str]:
    return lambda address: f"{path}?emailaddress={quote(address, safe='')}"


def _fixed(path: str) -> Callable[[str], str]:
    return lambda address: path


SCENARIOS: Sequence[Scenario] = (
    Scenario(
        name="autoconfig",
        title="Autoconfig GET",
        method="GET",
        hostPrefix="autoconfig.",
        mailfrontPath=_query("/mail/config-v1.1.xml"),
        peerPath=_query("/mail/config-v1.1.xml"),
        check=_checkAutoconfig,
    ),
    Scenario(
        name="autodiscover",
        title="Autodiscover POST",
        method="POST",
        hostPrefix="autodiscover.",
        mailfrontPath=_fixed("/autodiscover/autodiscover.xml"),
        peerPath=_fixed("/autodiscover/autodiscover.xml"),
        check=_checkAutodiscover,
        body=OUTLOOK_REQUEST,
        contentType=OUTLOOK_CONTENT_TYPE,
    ),
    Scenario(
        name="apple",
        title="Apple profile GET",
        method="GET",
        hostPrefix="autoconfig.",
        mailfrontPath=_query("/apple/mail.mobileconfig"),
        peerPath=_query("/mobileconfig/"),
        check=_checkProfile,
    ),
)


def sampleRequests(registry: BenchRegistry, count: int, seed: int = 8) -> list[tuple[str, str]]:
    """
    Choose C{count} addresses spread over every domain of C{registry}.

    Each domain gets addresses in turn; the order is shuffled with a fixed
    seed, so every run and every server gets the same requests.

    @return: C{(address, domain)} pairs.
    """
    domains = [name for _, name in registry.domains()]
    pairs = []
    for number in range(count):
        domain = domains[number % len(domains)]
        pairs.append((f"user{number}@{domain}", domain))
    random.Random(seed).shuffle(pairs)
    return pairs


def fetch(
    port: int, scenario: Scenario, address: str, domain: str, peer: bool = False
) -> Answer:
    """
    Send one request of C{scenario} to 127.0.0.1 and read the response.

    @param peer: Use the peer's path instead of mailfront's.
    """
    path = (scenario.peerPath if peer else scenario.mailfrontPath)(address)
    headers = {"Host": scenario.hostPrefix + domain}
    body = scenario.requestBody(address)
    if body is not None:
        headers["Content-Type"] = scenario.contentType
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(scenario.method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.getheader("content-type", ""), response.read())
    finally:
        connection.close()
