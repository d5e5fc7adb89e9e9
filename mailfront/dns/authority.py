"""
Authoritative DNS answers from the zones of the current snapshot.

L{Authority} turns one question into the sections of a response: AA answers
for names in a zone mailfront serves, the SOA record in the authority section
for NXDOMAIN and NODATA (RFC 2308), and REFUSED for names outside every zone.
It reads the snapshot holder once per question, so a reload never mixes two
configurations in one answer.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

import attrs
from twisted.names import dns

from ..render.dnsrecords import AddressData, DnsRecord, NameData, SoaData, SrvData, TxtData
from ..render.dnszones import Zone
from ..snapshot import SnapshotHolder

__all__ = ["Answer", "Authority", "toResourceRecord", "queryName"]

#: Longest CNAME chain followed inside one zone.
_MAX_CHAIN = 8

#: Record types by the mnemonic the render layer uses.
_TYPES = {
    "A": dns.A,
    "AAAA": dns.AAAA,
    "CNAME": dns.CNAME,
    "NS": dns.NS,
    "SOA": dns.SOA,
    "SRV": dns.SRV,
    "TXT": dns.TXT,
}


@attrs.frozen
class Answer:
    """
    The sections and response code of a response.

    @ivar authoritative: Whether to set the AA bit.
    """

    rCode: int
    answers: tuple[dns.RRHeader, ...] = ()
    authority: tuple[dns.RRHeader, ...] = ()
    additional: tuple[dns.RRHeader, ...] = ()
    authoritative: bool = False


def _wireName(name: str) -> bytes:
    """
    Convert a fully qualified text name to Twisted's form, without the
    trailing dot (the root is the empty string).
    """
    return name.rstrip(".").encode("ascii")


def _payload(record: DnsRecord) -> dns.IEncodableRecord:
    data = record.data
    ttl = record.ttl
    if isinstance(data, SrvData):
        target = b"" if data.target == "." else _wireName(data.target)
        return dns.Record_SRV(data.priority, data.weight, data.port, target, ttl)
    if isinstance(data, TxtData):
        return dns.Record_TXT(*(string.encode("utf-8") for string in data.strings), ttl=ttl)
    if isinstance(data, AddressData):
        if record.type == "AAAA":
            return dns.Record_AAAA(data.address, ttl)
        return dns.Record_A(data.address, ttl)
    if isinstance(data, NameData):
        if record.type == "NS":
            return dns.Record_NS(_wireName(data.target), ttl)
        return dns.Record_CNAME(_wireName(data.target), ttl)
    if isinstance(data, SoaData):
        return dns.Record_SOA(
            mname=_wireName(data.mname),
            rname=_wireName(data.rname),
            serial=data.serial,
            refresh=data.refresh,
            retry=data.retry,
            expire=data.expire,
            minimum=data.minimum,
            ttl=ttl,
        )
    raise TypeError(f"unknown record data {data!r}")


def toResourceRecord(
    record: DnsRecord, owner: Optional[bytes] = None, ttl: Optional[int] = None
) -> dns.RRHeader:
    """
    Convert a rendered record to a C{twisted.names} resource record.

    @param owner: The owner name to write, such as the question's name with
        the client's letter case; the record's own owner by default.
    @param ttl: A TTL to use instead of the record's.
    """
    if ttl is not None:
        record = attrs.evolve(record, ttl=ttl)
    return dns.RRHeader(
        name=_wireName(record.owner) if owner is None else owner,
        type=_TYPES[record.type],
        cls=dns.IN,
        ttl=record.ttl,
        payload=_payload(record),
        auth=True,
    )


def queryName(name: bytes) -> str:
    """
    Normalize a question's name for lookups: ASCII lower case, as DNS
    compares names (RFC 4343), without a trailing dot. Bytes outside ASCII
    are kept as Latin-1 characters, so they can never equal a served name.
    """
    return name.lower().rstrip(b".").decode("latin-1")


class Authority:
    """
    Answers questions from the zones of the current snapshot.

    @ivar holder: Where the current snapshot is.
    @ivar serialOf: Returns the SOA serial of a registry domain's zones.
    """

    def __init__(self, holder: SnapshotHolder, serialOf: Callable[[str], int]) -> None:
        self.holder = holder
        self.serialOf = serialOf

    def findZone(self, name: bytes) -> Optional[Zone]:
        """
        Build the zone that contains C{name}, or return C{None} when no
        zone served here does.
        """
        data = self.holder.current.dns
        if data is None:
            return None
        found = data.findZone(queryName(name))
        if found is None:
            return None
        origin, domain = found
        return data.zone(origin, domain, self.serialOf(domain))

    def transferZone(self, name: bytes) -> Optional[Zone]:
        """
        Build the zone whose apex is C{name}, for a zone transfer, or
        return C{None} when no served zone has that apex.
        """
        zone = self.findZone(name)
        if zone is None or zone.origin != queryName(name) + ".":
            return None
        return zone

    def query(self, query: dns.Query) -> Answer:
        """
        Answer one question of class IN.

        @return: REFUSED for other classes and for names outside every
            zone; otherwise an authoritative answer, NODATA or NXDOMAIN.
        """
        if query.cls != dns.IN:
            return Answer(dns.EREFUSED)
        zone = self.findZone(query.name.name)
        if zone is None:
            return Answer(dns.EREFUSED)
        return _lookup(zone, query.name.name, query.type)


def _nodes(zone: Zone) -> dict[str, list[DnsRecord]]:
    nodes: dict[str, list[DnsRecord]] = {}
    for record in zone.records:
        nodes.setdefault(record.owner, []).append(record)
    return nodes


def _exists(nodes: dict[str, list[DnsRecord]], owner: str) -> bool:
    """
    Check whether a name exists: it owns records, or it is an empty
    non-terminal above a name that does (RFC 8020).
    """
    if owner in nodes:
        return True
    suffix = "." + owner
    return any(name.endswith(suffix) for name in nodes)


def _matching(records: Iterable[DnsRecord], queryType: int) -> list[DnsRecord]:
    if queryType == dns.ALL_RECORDS:
        return list(records)
    return [record for record in records if _TYPES[record.type] == queryType]


def _negative(zone: Zone, rCode: int) -> Answer:
    """
    Build NXDOMAIN or NODATA with the SOA record in the authority section.
    Its TTL is the smaller of its own TTL and the SOA minimum (RFC 2308).
    """
    soa = zone.soa
    assert isinstance(soa.data, SoaData)
    record = toResourceRecord(soa, ttl=min(soa.ttl, soa.data.minimum))
    return Answer(rCode, authority=(record,), authoritative=True)


def _additional(
    nodes: dict[str, list[DnsRecord]], answers: Iterable[DnsRecord]
) -> tuple[dns.RRHeader, ...]:
    """
    Address records of SRV targets that lie in the same zone.
    """
    result = []
    for record in answers:
        if isinstance(record.data, SrvData):
            for candidate in nodes.get(record.data.target, ()):
                if candidate.type in ("A", "AAAA"):
                    result.append(toResourceRecord(candidate))
    return tuple(result)


def _lookup(zone: Zone, name: bytes, queryType: int) -> Answer:
    nodes = _nodes(zone)
    owner = queryName(name) + "."
    if not _exists(nodes, owner):
        return _negative(zone, dns.ENAME)

    answers: list[dns.RRHeader] = []
    records = nodes.get(owner, [])
    wireOwner = name
    for _ in range(_MAX_CHAIN):
        found = _matching(records, queryType)
        if found:
            answers.extend(toResourceRecord(record, wireOwner) for record in found)
            return Answer(
                dns.OK,
                answers=tuple(answers),
                additional=_additional(nodes, found),
                authoritative=True,
            )
        alias = [record for record in records if record.type == "CNAME"]
        if not alias:
            break
        answers.append(toResourceRecord(alias[0], wireOwner))
        assert isinstance(alias[0].data, NameData)
        target = alias[0].data.target
        if target not in nodes:
            # The target lies outside this zone: the resolver follows it.
            return Answer(dns.OK, answers=tuple(answers), authoritative=True)
        records = nodes[target]
        wireOwner = _wireName(target)

    if answers:
        return Answer(dns.OK, answers=tuple(answers), authoritative=True)
    return _negative(zone, dns.OK)
