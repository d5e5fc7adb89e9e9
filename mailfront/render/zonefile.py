"""
Zone-file text (the master file format of RFC 1035) of DNS records and zones.

The output uses fully qualified names everywhere and one record per line,
so an operator can paste lines into an existing zone, and BIND, NSD and Knot
load the complete zones as they are.
"""

from __future__ import annotations

from typing import Iterable

from .dnsrecords import AddressData, DnsRecord, NameData, RecordData, SoaData, SrvData, TxtData
from .dnszones import Zone

__all__ = ["rdataText", "recordLines", "zoneText", "quoteString"]


def quoteString(text: str) -> str:
    """
    Quote a character-string: escape C{"} and C{\\} with a backslash and
    write bytes outside printable ASCII as C{\\DDD}.
    """
    out = []
    for byte in text.encode("utf-8"):
        character = chr(byte)
        if character in '"\\':
            out.append("\\" + character)
        elif 0x20 <= byte < 0x7F:
            out.append(character)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def rdataText(data: RecordData) -> str:
    """
    Format the data part of a record in presentation format.
    """
    if isinstance(data, SrvData):
        return f"{data.priority} {data.weight} {data.port} {data.target}"
    if isinstance(data, TxtData):
        return " ".join(quoteString(string) for string in data.strings)
    if isinstance(data, AddressData):
        return data.address
    if isinstance(data, NameData):
        return data.target
    if isinstance(data, SoaData):
        return (
            f"{data.mname} {data.rname} {data.serial} {data.refresh} {data.retry} "
            f"{data.expire} {data.minimum}"
        )
    raise TypeError(f"unknown record data {data!r}")


def recordLines(records: Iterable[DnsRecord]) -> list[str]:
    """
    Format records as zone-file lines, with the owner column padded so the
    types line up.
    """
    records = list(records)
    width = max((len(record.owner) for record in records), default=0)
    return [
        f"{record.owner:<{width}} {record.ttl:>6} IN {record.type:<5} {rdataText(record.data)}"
        for record in records
    ]


def zoneText(zone: Zone) -> str:
    """
    Format a complete zone file, starting with C{$ORIGIN} and C{$TTL}.
    """
    lines = [f"$ORIGIN {zone.origin}", f"$TTL {zone.soa.ttl}"]
    lines.extend(recordLines(zone.records))
    return "\n".join(lines) + "\n"
