"""
Building a L{CertificateStore} from its sources, next to the snapshot it
belongs to.
"""

from __future__ import annotations

import datetime
import os
from typing import Iterable, Optional

from twisted.logger import Logger

from .pem import CertificateError, KeyPair, ServerCertificate, loadServerCertificate
from .selfsigned import ensureSelfSigned
from .store import (
    CertificateSources,
    CertificateStore,
    LoadedCertificates,
    acmeCertificatePair,
    scanCertificateDirectory,
)

__all__ = ["loadCertificateStore", "logLoadedCertificates"]


def loadCertificateStore(
    sources: CertificateSources,
    domains: Iterable[str],
    now: datetime.datetime,
    previous: Optional[CertificateStore] = None,
) -> LoadedCertificates:
    """
    Read and check every certificate of C{sources}.

    A file that cannot be used is reported in the result. When C{previous}
    served a certificate from that file and it has not expired, that
    certificate stays, so a bad edit or a half-copied file never takes a
    working certificate away.

    @param domains: The registry's domains; ACME certificates are read for
        these only, and the report of uncovered names is about these.
    @param previous: The store of the snapshot being replaced, if any.
    @raise CertificateError: If the default certificate cannot be used and
        there is no previous store to keep it from.
    """
    domains = list(domains)
    problems: list[CertificateError] = []
    kept: list[str] = []

    default, generated = _loadDefault(sources, now, previous, problems, kept)
    directory = _loadDirectory(sources, now, previous, problems, kept)
    acme = _loadAcme(sources, domains, now, previous, problems, kept)

    store = CertificateStore(default, directory, acme)
    uncovered = [
        name for domain in domains for name in store.uncoveredNames(sources.hostNames(domain))
    ]
    return LoadedCertificates(store, tuple(problems), tuple(kept), tuple(uncovered), generated)


def _keepPrevious(
    error: CertificateError,
    old: Optional[ServerCertificate],
    now: datetime.datetime,
    problems: list[CertificateError],
    kept: list[str],
) -> Optional[ServerCertificate]:
    problems.append(error)
    if old is not None and old.notAfter > now:
        kept.append(old.source)
        return old
    return None


def _loadDefault(
    sources: CertificateSources,
    now: datetime.datetime,
    previous: Optional[CertificateStore],
    problems: list[CertificateError],
    kept: list[str],
) -> tuple[ServerCertificate, bool]:
    pair = sources.defaultPair
    generated = False
    if pair is None:
        pair, generated = ensureSelfSigned(sources.stateDirectory, now)
    try:
        return loadServerCertificate(pair, now, requireNames=False), generated
    except CertificateError as e:
        old = _keepPrevious(e, previous.default if previous else None, now, problems, kept)
        if old is None:
            raise
        return old, generated


def _loadDirectory(
    sources: CertificateSources,
    now: datetime.datetime,
    previous: Optional[CertificateStore],
    problems: list[CertificateError],
    kept: list[str],
) -> list[ServerCertificate]:
    if sources.certificateDirectory is None:
        return []
    pairs, found = scanCertificateDirectory(sources.certificateDirectory)
    problems.extend(found)
    before = {c.source: c for c in previous.directory} if previous else {}
    loaded = []
    for pair in pairs:
        certificate = _loadOrKeep(pair, now, before.get(pair.certificatePath), problems, kept)
        if certificate is not None:
            loaded.append(certificate)
    return loaded


def _loadAcme(
    sources: CertificateSources,
    domains: list[str],
    now: datetime.datetime,
    previous: Optional[CertificateStore],
    problems: list[CertificateError],
    kept: list[str],
) -> dict[str, ServerCertificate]:
    if sources.acmeDirectory is None:
        return {}
    loaded = {}
    for domain in domains:
        pair = acmeCertificatePair(sources.acmeDirectory, domain)
        if not os.path.exists(pair.certificatePath):
            continue
        old = previous.acme.get(domain) if previous else None
        certificate = _loadOrKeep(pair, now, old, problems, kept)
        if certificate is not None:
            loaded[domain] = certificate
    return loaded


def _loadOrKeep(
    pair: KeyPair,
    now: datetime.datetime,
    old: Optional[ServerCertificate],
    problems: list[CertificateError],
    kept: list[str],
) -> Optional[ServerCertificate]:
    try:
        return loadServerCertificate(pair, now)
    except CertificateError as e:
        return _keepPrevious(e, old, now, problems, kept)


#: How many uncovered host names a log event lists by name.
LISTED_NAMES = 5


def logLoadedCertificates(loaded: LoadedCertificates, log: Logger, acmeEnabled: bool) -> None:
    """
    Log the problems of a freshly loaded store, and which names only the
    default certificate serves.
    """
    for problem in loaded.problems:
        log.error("Certificate not used: {path}: {reason}", path=problem.path, reason=problem.reason)
    for path in loaded.kept:
        log.warn("Still serving the previously loaded certificate of {path}", path=path)
    if not loaded.uncovered:
        return
    examples = ", ".join(loaded.uncovered[:LISTED_NAMES])
    if acmeEnabled:
        log.info(
            "{count} host names get the default certificate until ACME obtains theirs, "
            "such as {examples}",
            count=len(loaded.uncovered),
            examples=examples,
        )
    else:
        log.warn(
            "{count} host names have no certificate and get the default one, such as "
            "{examples}; add certificates to the certificate directory or enable ACME",
            count=len(loaded.uncovered),
            examples=examples,
        )
