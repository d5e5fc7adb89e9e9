"""
Zones: how the records of every domain are cut into DNS zones, with SOA and
NS records from the C{[dns]} table.

Two layouts exist (L{mailfront.registry.model.ZONE_LAYOUTS}):

  - C{subdomains}: each domain's names become small zones that the domain's
    own zone delegates: C{_tcp.D} (every SRV record), C{_smtp._tls.D},
    C{_mta-sts.D}, and C{autoconfig.D} and C{autodiscover.D} when they carry
    addresses. A CNAME cannot sit at a zone apex, so C{autoconfig.D} and
    C{autodiscover.D} CNAMEs stay in the parent zone.
  - C{domain}: each domain is one zone with all its records. A registry
    domain below another one is a zone of its own, delegated from the parent
    zone.

L{DnsData} is prepared once per snapshot, and the authority uses it to find
the zone that contains a name.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Iterator, Mapping, Optional

import attrs

from ..registry.model import DnsSettings, Registry
from .dnsrecords import (
    DnsRecord,
    NameData,
    RecordTemplate,
    SoaData,
    SrvData,
    fullyQualified,
    prepareRecordTemplate,
)

__all__ = [
    "SUBZONE_PREFIXES",
    "Zone",
    "ZoneSettingsMissing",
    "DnsData",
    "prepareDnsData",
]

#: Zones of the C{subdomains} layout, relative to the domain, as label
#: tuples.
SUBZONE_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("_tcp",),
    ("_smtp", "_tls"),
    ("_mta-sts",),
    ("autoconfig",),
    ("autodiscover",),
)


class ZoneSettingsMissing(ValueError):
    """
    Complete zones were requested from a configuration without a C{[dns]}
    table, so there is no SOA or NS data.
    """


@attrs.frozen
class Zone:
    """
    A complete zone: SOA first, then NS, then the other records.

    @ivar origin: Fully qualified apex name.
    @ivar domain: The registry domain the zone belongs to.
    """

    origin: str
    domain: str
    records: tuple[DnsRecord, ...]

    @property
    def soa(self) -> DnsRecord:
        """
        The zone's SOA record.
        """
        return self.records[0]


def _relative(owner: str, domain: str) -> tuple[str, ...]:
    """
    Return the labels of C{owner} below C{domain}, none at the domain
    itself.
    """
    stem = owner[: -len(domain) - 2] if owner != domain + "." else ""
    return tuple(stem.split(".")) if stem else ()


def _subzonePrefix(owner: str, domain: str) -> Optional[tuple[str, ...]]:
    labels = _relative(owner, domain)
    for prefix in SUBZONE_PREFIXES:
        if len(labels) >= len(prefix) and labels[len(labels) - len(prefix) :] == prefix:
            return prefix
    return None


def _origin(prefix: tuple[str, ...], domain: str) -> str:
    return ".".join(prefix + (domain,)) + "."


@attrs.frozen
class DnsData:
    """
    The DNS view of one registry, prepared for serving and export.

    @ivar settings: The C{[dns]} table, or defaults when the configuration
        has none (then L{configured} is false and no complete zone exists).
    @ivar configured: Whether the configuration has a C{[dns]} table.
    @ivar templates: Record template of each domain; domains with one
        provider object share one template.
    @ivar subzones: In the C{subdomains} layout, the zone prefixes of each
        template, by the template's digest.
    @ivar parents: In the C{domain} layout, the closest enclosing registry
        domain of each domain that has one.
    @ivar children: In the C{domain} layout, the registry domains whose
        closest enclosing registry domain is the key.
    """

    settings: DnsSettings
    configured: bool
    templates: Mapping[str, RecordTemplate]
    subzones: Mapping[str, tuple[tuple[str, ...], ...]] = attrs.field(factory=dict)
    parents: Mapping[str, str] = attrs.field(factory=dict)
    children: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def records(self, domain: str) -> tuple[DnsRecord, ...]:
        """
        Return the records of a registry domain, without SOA and NS.
        """
        return self.templates[domain].render(domain)

    def zoneOrigins(self, domain: str) -> tuple[str, ...]:
        """
        Return the apex names of the zones of a registry domain.
        """
        if self.settings.zoneLayout == "domain":
            return (domain + ".",)
        return tuple(_origin(prefix, domain) for prefix in self._subzones(domain))

    def _subzones(self, domain: str) -> tuple[tuple[str, ...], ...]:
        return self.subzones.get(self.templates[domain].digest, ())

    def findZone(self, name: str) -> Optional[tuple[str, str]]:
        """
        Find the closest zone that contains a name.

        @param name: A lower-case name without trailing dot.
        @return: C{(origin, domain)}, or C{None} if no zone served here
            contains the name.
        """
        labels = tuple(name.split(".")) if name else ()
        for start in range(len(labels)):
            candidate = labels[start:]
            if self.settings.zoneLayout == "domain":
                domain = ".".join(candidate)
                if domain in self.templates:
                    return domain + ".", domain
                continue
            for prefix in SUBZONE_PREFIXES:
                if candidate[: len(prefix)] != prefix:
                    continue
                domain = ".".join(candidate[len(prefix) :])
                if domain in self.templates and prefix in self._subzones(domain):
                    return _origin(prefix, domain), domain
        return None

    def zoneRecords(self, origin: str, domain: str) -> tuple[DnsRecord, ...]:
        """
        Return the records of a domain that lie in one of its zones, without
        SOA and NS.
        """
        return tuple(
            record
            for record in self.records(domain)
            if record.owner == origin or record.owner.endswith("." + origin)
        )

    def parentRecords(self, domain: str) -> tuple[DnsRecord, ...]:
        """
        Return the records that belong in the domain's own zone when
        mailfront serves the C{subdomains} layout: the NS records that
        delegate each zone, and the CNAMEs, which cannot be zones.
        """
        if self.settings.zoneLayout == "domain":
            return ()
        origins = self.zoneOrigins(domain)
        delegations = [
            DnsRecord(origin, "NS", self.settings.ttl, NameData(fullyQualified(server)))
            for origin in origins
            for server in self.settings.nameServers
        ]
        outside = [
            record
            for record in self.records(domain)
            if not any(record.owner == o or record.owner.endswith("." + o) for o in origins)
        ]
        return tuple(delegations + outside)

    def zone(self, origin: str, domain: str, serial: int) -> Zone:
        """
        Build a complete zone.

        @param serial: The SOA serial.
        @raise ZoneSettingsMissing: If the configuration has no C{[dns]}
            table.
        """
        settings = self.settings
        if not self.configured or settings.soa is None or not settings.nameServers:
            raise ZoneSettingsMissing(
                "complete zones need a [dns] table with name-servers and [dns.soa] rname; "
                "see docs/configuration.md"
            )
        soa = settings.soa
        mname = fullyQualified(soa.mname or settings.nameServers[0])
        data = SoaData(
            mname,
            fullyQualified(soa.rname),
            serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum,
        )
        records = [DnsRecord(origin, "SOA", settings.ttl, data)]
        records.extend(self._nameServers(origin))
        records.extend(self.zoneRecords(origin, domain))
        if settings.zoneLayout == "domain":
            for child in self.children.get(domain, ()):
                records.extend(self._nameServers(child + "."))
        return Zone(origin, domain, tuple(records))

    def _nameServers(self, owner: str) -> Iterator[DnsRecord]:
        for server in self.settings.nameServers:
            yield DnsRecord(owner, "NS", self.settings.ttl, NameData(fullyQualified(server)))

    def zones(self, domain: str, serial: int) -> tuple[Zone, ...]:
        """
        Build every zone of a registry domain.

        @raise ZoneSettingsMissing: As L{zone}.
        """
        return tuple(self.zone(origin, domain, serial) for origin in self.zoneOrigins(domain))

    def addresslessTargets(self, domains: Iterable[str]) -> list[tuple[DnsRecord, str]]:
        """
        Find SRV and CNAME targets that lie in a zone served here without
        address records there, so resolvers would get NXDOMAIN or NODATA for
        them. This happens in the C{domain} layout when a mail host is named
        under a served domain.

        @return: Each record with the origin of the zone its target lies in.
        """
        problems = []
        verdicts: dict[str, Optional[str]] = {}
        for domain in domains:
            for record in self.records(domain):
                data = record.data
                if not isinstance(data, (SrvData, NameData)) or data.target == ".":
                    continue
                if data.target not in verdicts:
                    verdicts[data.target] = self._addresslessZone(data.target)
                origin = verdicts[data.target]
                if origin is not None:
                    problems.append((record, origin))
        return problems

    def _addresslessZone(self, target: str) -> Optional[str]:
        found = self.findZone(target.rstrip("."))
        if found is None:
            return None
        origin, domain = found
        for record in self.zoneRecords(origin, domain):
            if record.owner == target and record.type in ("A", "AAAA"):
                return None
        return origin

    def digest(self) -> str:
        """
        Hash everything that the zones contain except serials; equal digests
        mean equal zones.
        """
        hasher = hashlib.sha256(repr(self._zoneSettings()).encode("utf-8"))
        for domain in sorted(self.templates):
            hasher.update(f"\n{domain} {self.templates[domain].digest}".encode("ascii"))
        return hasher.hexdigest()

    def _zoneSettings(self) -> tuple[DnsSettings, bool]:
        """
        Return the settings that shape the zones, without the file they came
        from.
        """
        return attrs.evolve(self.settings, source=""), self.configured

    def changedDomains(self, previous: DnsData) -> Optional[set[str]]:
        """
        Find the domains whose zones differ from those of C{previous}.

        @return: The changed or added domains, or C{None} when the settings
            changed, which changes every zone.
        """
        if previous._zoneSettings() != self._zoneSettings():
            return None
        changed = set()
        for domain, template in self.templates.items():
            before = previous.templates.get(domain)
            if before is None or (before is not template and before.digest != template.digest):
                changed.add(domain)
        # A delegation to an added or removed child changes the parent zone.
        for domain in set(self.templates).symmetric_difference(previous.templates):
            parent = self.parents.get(domain) or previous.parents.get(domain)
            if parent is not None and parent in self.templates:
                changed.add(parent)
        return changed


#: A domain to render templates for when only the owner names relative to the
#: domain matter.
_PROBE_DOMAIN = "zone-layout.invalid"


def _templateSubzones(template: RecordTemplate) -> tuple[tuple[str, ...], ...]:
    """
    Find the prefixes of the C{subdomains} layout that contain records of a
    template. A prefix whose apex is a CNAME is no zone.
    """
    found: dict[tuple[str, ...], bool] = {}
    for record in template.render(_PROBE_DOMAIN):
        prefix = _subzonePrefix(record.owner, _PROBE_DOMAIN)
        if prefix is None:
            continue
        apexAlias = record.type == "CNAME" and record.owner == _origin(prefix, _PROBE_DOMAIN)
        found[prefix] = found.get(prefix, True) and not apexAlias
    return tuple(prefix for prefix in SUBZONE_PREFIXES if found.get(prefix))


def _enclosingDomains(domains: Mapping[str, object]) -> dict[str, str]:
    parents = {}
    for domain in domains:
        labels = domain.split(".")
        for start in range(1, len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in domains:
                parents[domain] = candidate
                break
    return parents


def prepareDnsData(registry: Registry) -> DnsData:
    """
    Prepare the DNS view of a registry.

    Domains that share a provider object share one record template.
    """
    settings = registry.dns or DnsSettings()
    byProvider: dict[int, RecordTemplate] = {}
    templates: dict[str, RecordTemplate] = {}
    for name, entry in registry.domains.items():
        key = id(entry.provider)
        template = byProvider.get(key)
        if template is None:
            template = byProvider[key] = prepareRecordTemplate(entry.provider, settings)
        templates[name] = template

    subzones = {}
    if settings.zoneLayout == "subdomains":
        subzones = {t.digest: _templateSubzones(t) for t in byProvider.values()}
    parents: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    if settings.zoneLayout == "domain":
        parents = _enclosingDomains(templates)
        for child, parent in parents.items():
            children.setdefault(parent, []).append(child)
    return DnsData(
        settings=settings,
        configured=registry.dns is not None,
        templates=templates,
        subzones=subzones,
        parents=parents,
        children={parent: tuple(sorted(names)) for parent, names in children.items()},
    )
