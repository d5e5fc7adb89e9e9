"""
DNS records of a mail domain, derived from its registry entry.

The records are those mail and calendar clients look up (RFC 6186 and RFC
8314 SRV for IMAP, POP3 and submission, RFC 6764 CalDAV and CardDAV, RFC 8620
JMAP, C{_autodiscover._tcp}), the C{autoconfig.} and C{autodiscover.} host
names, and the TXT records of MTA-STS (RFC 8461) and TLS reporting (RFC
8460). The zone-file export and the live DNS authority both start from
L{deriveRecords}, so they publish the same data.

Every name is fully qualified, in lower-case A-label form, with the trailing
dot.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Iterable, Optional, Union
from urllib.parse import urlsplit

import attrs

from ..registry.model import (
    PLACEHOLDERS,
    DavServer,
    DnsSettings,
    MtaStsPolicy,
    Provider,
    Server,
)
from ..registry.names import InvalidName, normalizeDomain

__all__ = [
    "SrvData",
    "TxtData",
    "AddressData",
    "NameData",
    "SoaData",
    "RecordData",
    "DnsRecord",
    "NO_TARGET",
    "PRIORITY_STEP",
    "AUTODISCOVER_PORT",
    "deriveRecords",
    "RecordTemplate",
    "prepareRecordTemplate",
    "mtaStsPolicyText",
    "mtaStsPolicyID",
    "fullyQualified",
    "fitsInDns",
]

#: The SRV target that marks a service as decidedly not offered (RFC 2782).
NO_TARGET = "."

#: Distance between the priorities of successive SRV records of one family,
#: leaving room for records an operator adds by hand.
PRIORITY_STEP = 5

#: Port of the C{_autodiscover._tcp} SRV record. Thunderbird ignores the
#: port and always uses HTTPS on 443, and Outlook expects 443.
AUTODISCOVER_PORT = 443

#: Maximum length of a domain name in text form without the trailing dot.
_MAX_NAME = 253

#: Maximum length of a character-string inside a TXT record, in bytes.
_MAX_TXT_STRING = 255


@attrs.frozen
class SrvData:
    """
    The data of an SRV record (RFC 2782).

    @ivar target: A fully qualified host name, or L{NO_TARGET}.
    """

    priority: int
    weight: int
    port: int
    target: str


@attrs.frozen
class TxtData:
    """
    The data of a TXT record: one or more character-strings of at most 255
    bytes, which readers of MTA-STS and TLS-RPT records join.
    """

    strings: tuple[str, ...]


@attrs.frozen
class AddressData:
    """
    The data of an A or AAAA record, as the address's compressed text.
    """

    address: str


@attrs.frozen
class NameData:
    """
    The data of a CNAME or NS record: a fully qualified name.
    """

    target: str


@attrs.frozen
class SoaData:
    """
    The data of an SOA record (RFC 1035).

    @ivar mname: Fully qualified name of the primary name server.
    @ivar rname: Fully qualified mailbox name of the person responsible.
    """

    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


RecordData = Union[SrvData, TxtData, AddressData, NameData, SoaData]


@attrs.frozen
class DnsRecord:
    """
    One resource record of class IN.

    @ivar owner: Fully qualified lower-case owner name.
    @ivar type: The type mnemonic: C{SRV}, C{TXT}, C{A}, C{AAAA}, C{CNAME},
        C{NS} or C{SOA}.
    @ivar ttl: Time to live in seconds.
    """

    owner: str
    type: str
    ttl: int
    data: RecordData


def fullyQualified(name: str) -> str:
    """
    Add the trailing dot to a normalized name.
    """
    return name if name.endswith(".") else name + "."


# Targets ---------------------------------------------------------------------


def _substitute(template: str, domain: str) -> Optional[str]:
    """
    Replace C{%EMAILDOMAIN%}; return C{None} if a per-user placeholder
    remains, because DNS cannot publish a name that differs per user.
    """
    text = template.replace("%EMAILDOMAIN%", domain)
    if any(f"%{name}%" in text for name in PLACEHOLDERS):
        return None
    return text


def _hostTarget(hostname: Optional[str], domain: str) -> Optional[str]:
    """
    Convert a registry host name to an SRV target, or C{None} when it cannot
    be one: a per-user template or an IP address literal.
    """
    if hostname is None:
        return None
    text = _substitute(hostname, domain)
    if text is None:
        return None
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        return None
    try:
        return fullyQualified(normalizeDomain(text))
    except InvalidName:
        return None


@attrs.frozen
class _Endpoint:
    """
    The host, port and path a URL points to, and whether it uses TLS.

    @ivar path: The URL's path, or C{None} when it differs per user.
    """

    target: str
    port: int
    path: Optional[str]
    secure: bool


def _urlEndpoint(url: str, domain: str) -> Optional[_Endpoint]:
    parts = urlsplit(url.replace("%EMAILDOMAIN%", domain))
    if parts.scheme not in ("https", "http"):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    target = _hostTarget(parts.hostname, domain)
    if target is None:
        return None
    secure = parts.scheme == "https"
    path = _substitute(parts.path, domain)
    return _Endpoint(target, port or (443 if secure else 80), path, secure)


# Mail access and submission ----------------------------------------------------

#: SRV label of each server type and socket type (RFC 6186 section 3, RFC
#: 8314 section 5.1). C{_imap}, C{_pop3} and C{_submission} cover both
#: STARTTLS and servers without TLS.
_MAIL_LABELS = {
    ("imap", "SSL"): "_imaps",
    ("imap", "STARTTLS"): "_imap",
    ("imap", "plain"): "_imap",
    ("pop3", "SSL"): "_pop3s",
    ("pop3", "STARTTLS"): "_pop3",
    ("pop3", "plain"): "_pop3",
    ("smtp", "SSL"): "_submissions",
    ("smtp", "STARTTLS"): "_submission",
    ("smtp", "plain"): "_submission",
}

#: The labels of each family, all published so that a service that is not
#: offered gets the C{.} target.
_ACCESS_LABELS = ("_imaps", "_imap", "_pop3s", "_pop3")
_SUBMISSION_LABELS = ("_submissions", "_submission")

#: RFC 8314 section 4: implicit TLS before STARTTLS before no TLS.
_TLS_RANK = {"SSL": 0, "STARTTLS": 1, "plain": 2}


def _preferenceOrder(servers: Iterable[Server]) -> list[Server]:
    """
    Order servers by protocol (in the order the registry first names each),
    then implicit TLS before STARTTLS before no TLS, then registry order.
    """
    listed = [server for server in servers if (server.type, server.socketType) in _MAIL_LABELS]
    protocols = list(dict.fromkeys(server.type for server in listed))
    ranked = sorted(
        enumerate(listed),
        key=lambda pair: (
            protocols.index(pair[1].type),
            _TLS_RANK[pair[1].socketType or "plain"],
            pair[0],
        ),
    )
    return [server for _, server in ranked]


def _mailFamily(
    servers: Iterable[Server], labels: tuple[str, ...], domain: str, ttl: int
) -> list[DnsRecord]:
    """
    SRV records of one family: the access labels (IMAP and POP3 share one
    priority sequence, RFC 6186 section 3.4) or the submission labels.
    """
    records: list[DnsRecord] = []
    seen: set[tuple[str, str, int]] = set()
    offered: set[str] = set()
    priority = 0
    for server in _preferenceOrder(servers):
        label = _MAIL_LABELS[(server.type, server.socketType or "plain")]
        if label not in labels:
            continue
        offered.add(label)
        target = _hostTarget(server.hostname, domain)
        if target is None or server.port is None or (label, target, server.port) in seen:
            continue
        seen.add((label, target, server.port))
        data = SrvData(priority, 0, server.port, target)
        records.append(DnsRecord(f"{label}._tcp.{domain}.", "SRV", ttl, data))
        priority += PRIORITY_STEP

    for label in labels:
        if label not in offered:
            # RFC 6186 section 3.4 and RFC 2782: a lone record with the "."
            # target marks the service as not offered.
            data = SrvData(0, 0, 0, NO_TARGET)
            records.append(DnsRecord(f"{label}._tcp.{domain}.", "SRV", ttl, data))
    return records


# Other services -----------------------------------------------------------------


def _txtStrings(text: str) -> tuple[str, ...]:
    """
    Split ASCII text into character-strings of at most 255 bytes.
    """
    return tuple(
        text[start : start + _MAX_TXT_STRING] for start in range(0, len(text), _MAX_TXT_STRING)
    ) or ("",)


def _davRecords(services: Iterable[DavServer], name: str, domain: str, ttl: int) -> list[DnsRecord]:
    """
    RFC 6764 records of the most preferred CalDAV or CardDAV service: SRV
    under C{_caldavs} (TLS) or C{_caldav}, and a C{path=} TXT record at the
    same name when the context path is not the root or the well-known URI.
    """
    for service in services:
        endpoint = _urlEndpoint(service.url, domain)
        if endpoint is None:
            continue
        owner = f"_{name}{'s' if endpoint.secure else ''}._tcp.{domain}."
        records = [DnsRecord(owner, "SRV", ttl, SrvData(0, 0, endpoint.port, endpoint.target))]
        path = endpoint.path
        if path is not None and path not in ("", "/", f"/.well-known/{name}") and path.isascii():
            records.append(DnsRecord(owner, "TXT", ttl, TxtData(_txtStrings(f"path={path}"))))
        return records
    return []


def _jmapRecords(servers: Iterable[Server], domain: str, ttl: int) -> list[DnsRecord]:
    """
    Derive the RFC 8620 section 2.2 SRV record of the first JMAP server.
    Clients then fetch C{https://target:port/.well-known/jmap}.
    """
    for server in servers:
        if server.type != "jmap":
            continue
        endpoint: Optional[_Endpoint] = None
        if server.url is not None:
            endpoint = _urlEndpoint(server.url, domain)
        elif server.port is not None:
            target = _hostTarget(server.hostname, domain)
            if target is not None:
                endpoint = _Endpoint(target, server.port, "", True)
        if endpoint is None or not endpoint.secure:
            continue
        owner = f"_jmap._tcp.{domain}."
        return [DnsRecord(owner, "SRV", ttl, SrvData(0, 0, endpoint.port, endpoint.target))]
    return []


def mtaStsPolicyText(policy: MtaStsPolicy) -> str:
    """
    Format the policy file served at C{https://mta-sts.D/.well-known/mta-sts.txt}
    (RFC 8461), with CRLF line endings.
    """
    lines = ["version: STSv1", f"mode: {policy.mode}"]
    lines.extend(f"mx: {host}" for host in policy.mx)
    lines.append(f"max_age: {policy.maxAge}")
    return "".join(line + "\r\n" for line in lines)


def mtaStsPolicyID(policy: MtaStsPolicy) -> str:
    """
    Return the configured policy id, or one derived from the policy text so
    that it changes whenever the policy does.
    """
    if policy.id is not None:
        return policy.id
    return hashlib.sha256(mtaStsPolicyText(policy).encode("ascii")).hexdigest()[:32]


def _policyRecords(provider: Provider, domain: str, ttl: int) -> list[DnsRecord]:
    records = []
    if provider.mtaSts is not None:
        # TODO: publish mta-sts.D at the mailfront host once mailfront serves
        # the policy file; until then the operator publishes that name.
        text = f"v=STSv1; id={mtaStsPolicyID(provider.mtaSts)}"
        records.append(DnsRecord(f"_mta-sts.{domain}.", "TXT", ttl, TxtData(_txtStrings(text))))
    if provider.tlsReporting is not None:
        text = "v=TLSRPTv1; rua=" + ",".join(provider.tlsReporting.rua)
        records.append(DnsRecord(f"_smtp._tls.{domain}.", "TXT", ttl, TxtData(_txtStrings(text))))
    return records


def _discoveryRecords(settings: DnsSettings, domain: str) -> list[DnsRecord]:
    """
    Derive the C{autoconfig.} and C{autodiscover.} names and the
    C{_autodiscover} SRV record, all pointing at the host that runs mailfront.
    """
    ttl = settings.ttl
    records: list[DnsRecord] = []
    if settings.mailfrontHostname is not None:
        host = fullyQualified(settings.mailfrontHostname)
        for prefix in ("autoconfig", "autodiscover"):
            records.append(DnsRecord(f"{prefix}.{domain}.", "CNAME", ttl, NameData(host)))
        srvTarget = host
    elif settings.mailfrontAddresses:
        for prefix in ("autoconfig", "autodiscover"):
            for address in settings.mailfrontAddresses:
                recordType = "AAAA" if ":" in address else "A"
                records.append(
                    DnsRecord(f"{prefix}.{domain}.", recordType, ttl, AddressData(address))
                )
        srvTarget = f"autodiscover.{domain}."
    else:
        return records
    data = SrvData(0, 0, AUTODISCOVER_PORT, srvTarget)
    records.insert(0, DnsRecord(f"_autodiscover._tcp.{domain}.", "SRV", ttl, data))
    return records


def _withoutAliases(records: list[DnsRecord]) -> list[DnsRecord]:
    """
    Replace SRV targets that are CNAME owners of these records by the CNAME's
    target (RFC 2782: a target must not be an alias), and drop duplicates.
    """
    aliases = {
        record.owner: record.data.target
        for record in records
        if record.type == "CNAME" and isinstance(record.data, NameData)
    }
    result: dict[DnsRecord, None] = {}
    for record in records:
        if isinstance(record.data, SrvData) and record.data.target in aliases:
            record = attrs.evolve(
                record, data=attrs.evolve(record.data, target=aliases[record.data.target])
            )
        result[record] = None
    return list(result)


def fitsInDns(record: DnsRecord) -> bool:
    """
    Check that the owner and target names of a record are short enough for
    DNS.
    """
    names = [record.owner]
    if isinstance(record.data, (SrvData, NameData)):
        names.append(record.data.target)
    return all(len(name.rstrip(".")) <= _MAX_NAME for name in names)


def _derive(provider: Provider, domain: str, settings: DnsSettings) -> list[DnsRecord]:
    ttl = settings.ttl
    records: list[DnsRecord] = []
    records.extend(_mailFamily(provider.incoming, _ACCESS_LABELS, domain, ttl))
    records.extend(_mailFamily(provider.outgoing, _SUBMISSION_LABELS, domain, ttl))
    records.extend(_davRecords(provider.calendars, "caldav", domain, ttl))
    records.extend(_davRecords(provider.addressbooks, "carddav", domain, ttl))
    records.extend(_jmapRecords(provider.incoming, domain, ttl))
    records.extend(_discoveryRecords(settings, domain))
    records.extend(_policyRecords(provider, domain, ttl))
    return _withoutAliases(records)


def deriveRecords(provider: Provider, domain: str, settings: DnsSettings) -> tuple[DnsRecord, ...]:
    """
    Derive the records a domain publishes, without SOA and NS.

    SRV priorities follow the registry's order of preference, with implicit
    TLS ahead of STARTTLS (RFC 8314 section 4) and one priority sequence
    shared by IMAP and POP3 (RFC 6186 section 3.4). Servers whose host name
    differs per user or is an IP address are left out, and names longer
    than DNS allows are dropped.

    @param provider: The domain's effective provider.
    @param domain: The normalized A-label domain, without trailing dot.
    @param settings: TTL and the host that runs mailfront.
    @return: The records in a stable order, without duplicates.
    """
    return tuple(record for record in _derive(provider, domain, settings) if fitsInDns(record))


@attrs.frozen
class RecordTemplate:
    """
    The records of a provider derived once, with a slot where the domain
    goes, so that a million domains of one provider share one derivation.

    @ivar records: Records derived for L{_DOMAIN_SLOT}.
    @ivar digest: Hash of C{records}; equal digests mean equal records for
        every domain.
    """

    records: tuple[DnsRecord, ...]
    digest: str

    def render(self, domain: str) -> tuple[DnsRecord, ...]:
        """
        Fill in the domain, as L{deriveRecords} would have derived them.

        @param domain: A normalized A-label domain without trailing dot.
        """
        filled = (_fillSlot(record, domain) for record in self.records)
        return tuple(record for record in filled if fitsInDns(record))


#: Stand-in for the domain while a template is derived. It is a valid host
#: name that no registry domain can equal, because C{.invalid} names are
#: reserved (RFC 6761).
_DOMAIN_SLOT = "mailfront-domain-slot.invalid"


def _fillSlot(record: DnsRecord, domain: str) -> DnsRecord:
    data = record.data
    if isinstance(data, SrvData):
        data = attrs.evolve(data, target=data.target.replace(_DOMAIN_SLOT, domain))
    elif isinstance(data, NameData):
        data = NameData(data.target.replace(_DOMAIN_SLOT, domain))
    elif isinstance(data, TxtData):
        text = "".join(data.strings)
        if _DOMAIN_SLOT in text:
            data = TxtData(_txtStrings(text.replace(_DOMAIN_SLOT, domain)))
    return DnsRecord(record.owner.replace(_DOMAIN_SLOT, domain), record.type, record.ttl, data)


def prepareRecordTemplate(provider: Provider, settings: DnsSettings) -> RecordTemplate:
    """
    Derive a provider's records once, for L{RecordTemplate.render}.
    """
    records = tuple(_derive(provider, _DOMAIN_SLOT, settings))
    digest = hashlib.sha256(repr(records).encode("utf-8")).hexdigest()
    return RecordTemplate(records, digest)
