"""
Snapshots: a registry plus everything prepared from it for serving.

A snapshot is built completely before it is used and never changes
afterwards. The web resources and the DNS authority read the current
snapshot once per request from a L{SnapshotHolder}, so a reload that swaps
the holder's snapshot can never give one request a mix of old and new data.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

import attrs

from .registry import DomainEntry, Registry
from .render.autoconfig import AutoconfigTemplate, prepareTemplate
from .render.autodiscover import OutlookTemplates
from .tls.store import CertificateStore
from .render.dnszones import DnsData, prepareDnsData

__all__ = ["Snapshot", "SnapshotHolder", "buildSnapshot"]


@attrs.frozen
class Snapshot:
    """
    An immutable view of one configuration, ready to serve requests.

    @ivar registry: The validated registry.
    @ivar generation: Counts the snapshots built by this process, from 1.
    @ivar autoconfig: Prepared Autoconfig template of each domain.
    @ivar certificates: The certificates the HTTPS listeners serve, or
        C{None} in a snapshot built for a use without HTTPS.
    @ivar outlookTemplates: Outlook Autodiscover responses prepared on first
        use, by provider; a cache of what C{registry} determines, filled
        from the reactor thread, so what the snapshot serves never changes.
    @ivar dns: Prepared DNS zones, or C{None} when the configuration has no
        C{[dns]} table.
    """

    registry: Registry
    generation: int
    autoconfig: Mapping[str, AutoconfigTemplate]
    certificates: Optional[CertificateStore] = None
    outlookTemplates: OutlookTemplates = attrs.field(factory=dict, eq=False, repr=False)
    dns: Optional[DnsData] = None

    def lookup(self, domain: str) -> Optional[DomainEntry]:
        """
        Find a normalized domain in the registry.
        """
        return self.registry.domains.get(domain)


def buildSnapshot(
    registry: Registry,
    generation: int,
    certificates: Optional[CertificateStore] = None,
) -> Snapshot:
    """
    Prepare every response that does not depend on the request.

    Domains that share a provider object share one prepared template.

    @param certificates: The store loaded for this registry with
        L{mailfront.tls.loadCertificateStore}.
    """
    templates: dict[int, AutoconfigTemplate] = {}
    autoconfig: dict[str, AutoconfigTemplate] = {}
    for name, entry in registry.domains.items():
        key = id(entry.provider)
        template = templates.get(key)
        if template is None:
            template = templates[key] = prepareTemplate(entry.provider)
        autoconfig[name] = template
    dns = prepareDnsData(registry) if registry.dns is not None else None
    return Snapshot(
        registry=registry,
        generation=generation,
        autoconfig=autoconfig,
        certificates=certificates,
        dns=dns,
    )


class SnapshotHolder:
    """
    The reference to the snapshot that serves requests now.

    @ivar current: The snapshot in use. Replace it only from the reactor
        thread, with L{swap}.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.current = snapshot
        self._observers: list[Callable[[Snapshot, Snapshot], None]] = []

    def addObserver(self, observer: Callable[[Snapshot, Snapshot], None]) -> None:
        """
        Call C{observer(previous, current)} after every L{swap}, for work
        that follows a new configuration (DNS NOTIFY, certificate requests).

        Observers run in the reactor thread, in the order they were added;
        they must not raise.
        """
        self._observers.append(observer)

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """
        Make C{snapshot} current, tell the observers, and return the
        snapshot it replaces.
        """
        previous, self.current = self.current, snapshot
        for observer in self._observers:
            observer(previous, snapshot)
        return previous
