"""
Tests for loading, checking and choosing certificates.
"""

from __future__ import annotations

import datetime
import os

from cryptography.hazmat.primitives import serialization
from twisted.trial.unittest import SynchronousTestCase

from mailfront.tls import (
    CertificateError,
    CertificateSources,
    CertificateStore,
    KeyPair,
    loadCertificateStore,
    loadServerCertificate,
    lookupCertificate,
)
from mailfront.tls.store import normalizeServerName, scanCertificateDirectory

from .certificates import NOW, TestAuthority, writePEM

DAY = datetime.timedelta(days=1)


class CertificateFiles:
    """
    Writes certificates of one test authority into a directory.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.authority = TestAuthority()

    def write(self, stem: str, names: list[str], **validity: datetime.datetime) -> KeyPair:
        issued = self.authority.issue(names, **validity)
        certificate = writePEM(
            os.path.join(self.directory, stem + ".pem"), self.authority.fullchain(issued)
        )
        key = writePEM(os.path.join(self.directory, stem + ".key"), issued.keyPEM())
        return KeyPair(certificate, key)


class LoadServerCertificateTests(SynchronousTestCase):
    """
    Tests for L{loadServerCertificate}: each problem names the file.
    """

    def setUp(self) -> None:
        self.files = CertificateFiles(self.mktemp())

    def assertProblem(self, pair: KeyPair, path: str, words: str) -> None:
        error = self.assertRaises(CertificateError, loadServerCertificate, pair, NOW)
        self.assertEqual(error.path, path)
        self.assertIn(words, error.reason)
        self.assertIn(path, str(error))

    def test_valid(self) -> None:
        """
        A full chain with a matching key loads with its names and chain.
        """
        pair = self.files.write("one", ["autoconfig.one.example", "*.two.example"])
        certificate = loadServerCertificate(pair, NOW)
        self.assertEqual(certificate.names, {"autoconfig.one.example", "*.two.example"})
        self.assertEqual(certificate.chain, (self.files.authority.intermediate.certificate,))
        self.assertEqual(certificate.source, pair.certificatePath)

    def test_keyInCertificateFile(self) -> None:
        """
        The private key may follow the chain in the certificate file.
        """
        issued = self.files.authority.issue(["a.example"])
        path = writePEM(
            os.path.join(self.files.directory, "combined.pem"),
            self.files.authority.fullchain(issued),
            issued.keyPEM(),
        )
        certificate = loadServerCertificate(KeyPair(path, path), NOW)
        self.assertEqual(certificate.names, {"a.example"})

    def test_keyMismatch(self) -> None:
        """
        A key of another certificate is reported with the key's path.
        """
        pair = self.files.write("one", ["a.example"])
        other = self.files.write("two", ["b.example"])
        self.assertProblem(
            KeyPair(pair.certificatePath, other.keyPath), other.keyPath, "does not match"
        )

    def test_expired(self) -> None:
        """
        An expired certificate is reported with its expiry date.
        """
        pair = self.files.write("old", ["a.example"], notBefore=NOW - 90 * DAY, notAfter=NOW - DAY)
        self.assertProblem(pair, pair.certificatePath, "expired on 2026-02-28")

    def test_notYetValid(self) -> None:
        """
        A certificate whose validity starts later is rejected.
        """
        pair = self.files.write("early", ["a.example"], notBefore=NOW + DAY)
        self.assertProblem(pair, pair.certificatePath, "not valid before 2026-03-02")

    def test_chainOutOfOrder(self) -> None:
        """
        A chain with the intermediate before the leaf is rejected.
        """
        authority = self.files.authority
        issued = authority.issue(["a.example"])
        path = writePEM(
            os.path.join(self.files.directory, "reversed.pem"),
            authority.intermediate.certificatePEM(),
            issued.certificatePEM(),
        )
        key = writePEM(os.path.join(self.files.directory, "reversed.key"), issued.keyPEM())
        # The key matches the leaf, which is second, so the key check
        # fails first; with the intermediate's key the chain check fails.
        self.assertProblem(KeyPair(path, key), key, "does not match")
        intermediateKey = writePEM(
            os.path.join(self.files.directory, "intermediate.key"),
            authority.intermediate.keyPEM(),
        )
        self.assertProblem(KeyPair(path, intermediateKey), path, "out of order")

    def test_foreignIntermediate(self) -> None:
        """
        An intermediate that did not issue the leaf is rejected.
        """
        issued = self.files.authority.issue(["a.example"])
        stranger = TestAuthority(name="other")
        path = writePEM(
            os.path.join(self.files.directory, "foreign.pem"),
            issued.certificatePEM(),
            stranger.intermediate.certificatePEM(),
        )
        key = writePEM(os.path.join(self.files.directory, "foreign.key"), issued.keyPEM())
        self.assertProblem(KeyPair(path, key), path, "certificate 2 (CN=other intermediate)")

    def test_noNames(self) -> None:
        """
        A certificate without DNS names is rejected, except as the default.
        """
        pair = self.files.write("nameless", [])
        self.assertProblem(pair, pair.certificatePath, "names no host")
        self.assertEqual(loadServerCertificate(pair, NOW, requireNames=False).names, frozenset())

    def test_encryptedKey(self) -> None:
        """
        A passphrase-protected key is reported as such.
        """
        issued = self.files.authority.issue(["a.example"])
        pair = self.files.write("a", ["a.example"])
        writePEM(
            pair.keyPath,
            issued.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            ),
        )
        self.assertProblem(pair, pair.keyPath, "encrypted")

    def test_missingFiles(self) -> None:
        """
        Missing, empty or non-PEM files are reported with their paths.
        """
        pair = self.files.write("a", ["a.example"])
        missing = os.path.join(self.files.directory, "missing.pem")
        self.assertProblem(KeyPair(missing, pair.keyPath), missing, "cannot read")
        writePEM(pair.certificatePath, b"not a certificate")
        self.assertProblem(pair, pair.certificatePath, "no PEM certificate")
        pair = self.files.write("b", ["b.example"])
        writePEM(pair.keyPath, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        self.assertProblem(pair, pair.keyPath, "not a valid PEM private key")
        self.assertProblem(
            KeyPair(pair.certificatePath, pair.certificatePath),
            pair.certificatePath,
            "contains no private key",
        )

    def test_renewalTime(self) -> None:
        """
        Renewal is due when one third of the validity period is left.
        """
        pair = self.files.write("a", ["a.example"], notBefore=NOW, notAfter=NOW + 90 * DAY)
        self.assertEqual(loadServerCertificate(pair, NOW).renewalTime(), NOW + 60 * DAY)


class CertificateStoreTests(SynchronousTestCase):
    """
    Tests for choosing a certificate by server name.
    """

    def setUp(self) -> None:
        self.files = CertificateFiles(self.mktemp())
        self.default = self.load("default", ["localhost"])

    def load(self, stem: str, names: list[str], **validity: datetime.datetime):  # type: ignore[no-untyped-def]
        return loadServerCertificate(self.files.write(stem, names, **validity), NOW)

    def test_exact(self) -> None:
        """
        A name listed in a certificate selects that certificate.
        """
        one = self.load("one", ["autoconfig.one.example", "autodiscover.one.example"])
        two = self.load("two", ["autoconfig.two.example"])
        store = CertificateStore(self.default, [one, two])
        self.assertIs(store.select("autoconfig.one.example"), one)
        self.assertIs(store.select("autodiscover.one.example"), one)
        self.assertIs(store.select("autoconfig.two.example"), two)

    def test_wildcardOneLabel(self) -> None:
        """
        A wildcard covers exactly one label below its domain.
        """
        wildcard = self.load("wild", ["*.one.example"])
        store = CertificateStore(self.default, [wildcard])
        self.assertIs(store.select("autoconfig.one.example"), wildcard)
        self.assertIs(store.select("one.example"), self.default)
        self.assertIs(store.select("a.autoconfig.one.example"), self.default)
        self.assertIsNone(store.match("one.example"))

    def test_exactBeatsWildcard(self) -> None:
        """
        An exact name wins over a wildcard, whichever comes first.
        """
        wildcard = self.load("a-wild", ["*.one.example"])
        exact = self.load("b-exact", ["autoconfig.one.example"])
        for order in ([wildcard, exact], [exact, wildcard]):
            store = CertificateStore(self.default, order)
            self.assertIs(store.select("autoconfig.one.example"), exact)
            self.assertIs(store.select("autodiscover.one.example"), wildcard)

    def test_defaultForUnknownOrMissing(self) -> None:
        """
        An unknown name, or no name at all, gets the default certificate.
        """
        store = CertificateStore(self.default, [self.load("one", ["a.one.example"])])
        self.assertIs(store.select("unknown.example"), self.default)
        self.assertIs(store.select(None), self.default)
        self.assertIsNone(store.match("unknown.example"))

    def test_directoryBeatsAcme(self) -> None:
        """
        For the same name, the certificate directory wins over ACME.
        """
        acme = self.load("acme", ["autoconfig.one.example"], notAfter=NOW + 80 * DAY)
        operator = self.load("operator", ["autoconfig.one.example"], notAfter=NOW + 20 * DAY)
        store = CertificateStore(self.default, [operator], {"one.example": acme})
        self.assertIs(store.select("autoconfig.one.example"), operator)

    def test_laterExpiryWins(self) -> None:
        """
        Of two directory certificates for a name, the one valid longer wins.
        """
        later = self.load("a", ["autoconfig.one.example"], notAfter=NOW + 80 * DAY)
        earlier = self.load("b", ["autoconfig.one.example"], notAfter=NOW + 20 * DAY)
        store = CertificateStore(self.default, [later, earlier])
        self.assertIs(store.select("autoconfig.one.example"), later)

    def test_withAcme(self) -> None:
        """
        Adding an ACME certificate returns a new store and leaves the old one.
        """
        store = CertificateStore(self.default)
        acme = self.load("acme", ["autoconfig.one.example"])
        updated = store.withAcme("one.example", acme)
        self.assertIs(updated.select("autoconfig.one.example"), acme)
        self.assertIs(store.select("autoconfig.one.example"), self.default)

    def test_lookupCertificate(self) -> None:
        """
        The lookup for other users returns the covering certificate with its
        key and chain, in any letter case, and nothing for uncovered names.
        """
        one = self.load("one", ["autoconfig.one.example"])
        store = CertificateStore(self.default, [one])
        found = lookupCertificate(store, "AutoConfig.One.Example.")
        assert found is not None
        self.assertIs(found, one)
        self.assertEqual(found.chain, (self.files.authority.intermediate.certificate,))
        self.assertEqual(
            found.privateKey.public_key().public_numbers(),
            found.certificate.public_key().public_numbers(),  # type: ignore[union-attr]
        )
        self.assertIsNone(lookupCertificate(store, "unknown.example"))
        self.assertIsNone(lookupCertificate(None, "autoconfig.one.example"))

    def test_normalizeServerName(self) -> None:
        """
        Server names are matched in lower case without a trailing dot; bytes
        that are not ASCII count as no name.
        """
        self.assertEqual(normalizeServerName(b"AutoConfig.One.Example."), "autoconfig.one.example")
        self.assertIsNone(normalizeServerName(None))
        self.assertIsNone(normalizeServerName(b""))
        self.assertIsNone(normalizeServerName("bücher".encode("utf-8")))


class CertificateDirectoryTests(SynchronousTestCase):
    """
    Tests for reading a certificate directory into a store.
    """

    def setUp(self) -> None:
        base = self.mktemp()
        self.files = CertificateFiles(os.path.join(base, "certificates"))
        self.state = os.path.join(base, "state")
        self.sources = CertificateSources(
            stateDirectory=self.state, certificateDirectory=self.files.directory
        )

    def test_layouts(self) -> None:
        """
        Pairs of C{NAME.pem} and C{NAME.key}, combined files and certbot's
        C{fullchain.pem}/C{privkey.pem} subdirectories are all read; other
        files are ignored.
        """
        self.files.write("one", ["autoconfig.one.example"])
        authority = self.files.authority
        combined = authority.issue(["autoconfig.two.example"])
        writePEM(
            os.path.join(self.files.directory, "two.crt"),
            authority.fullchain(combined),
            combined.keyPEM(),
        )
        live = os.path.join(self.files.directory, "three.example")
        os.makedirs(live)
        issued = authority.issue(["autoconfig.three.example"])
        writePEM(os.path.join(live, "fullchain.pem"), authority.fullchain(issued))
        writePEM(os.path.join(live, "privkey.pem"), issued.keyPEM())
        writePEM(os.path.join(live, "README"), b"certbot's note")
        writePEM(os.path.join(self.files.directory, "README"), b"notes")

        loaded = loadCertificateStore(self.sources, ["one.example"], NOW)
        self.assertEqual(loaded.problems, ())
        for name in ("autoconfig.one.example", "autoconfig.two.example", "autoconfig.three.example"):
            self.assertIsNotNone(loaded.store.match(name), name)
        self.assertEqual(loaded.uncovered, ("autodiscover.one.example",))

    def test_problemsNamePaths(self) -> None:
        """
        Every unusable file is reported with its path, and the good ones
        still load.
        """
        good = self.files.write("good", ["autoconfig.one.example"])
        expired = self.files.write(
            "expired", ["autoconfig.two.example"], notBefore=NOW - 90 * DAY, notAfter=NOW - DAY
        )
        orphan = writePEM(os.path.join(self.files.directory, "orphan.key"), b"")
        empty = os.path.join(self.files.directory, "empty")
        os.makedirs(empty)

        loaded = loadCertificateStore(self.sources, [], NOW)
        problems = {problem.path: problem.reason for problem in loaded.problems}
        self.assertEqual(set(problems), {expired.certificatePath, orphan, empty})
        self.assertIn("expired", problems[expired.certificatePath])
        self.assertIn("orphan.pem", problems[orphan])
        self.assertIn("fullchain.pem", problems[empty])
        self.assertEqual(
            loaded.store.select("autoconfig.one.example").source, good.certificatePath
        )

    def test_badFileKeepsPrevious(self) -> None:
        """
        A certificate file that became unusable on reload keeps serving the
        certificate loaded before, and the problem is still reported.
        """
        pair = self.files.write("one", ["autoconfig.one.example"])
        first = loadCertificateStore(self.sources, [], NOW).store
        before = first.select("autoconfig.one.example")
        writePEM(pair.certificatePath, b"-----BEGIN CERTIFICATE-----\ntruncated")

        loaded = loadCertificateStore(self.sources, [], NOW, previous=first)
        self.assertIs(loaded.store.select("autoconfig.one.example"), before)
        self.assertEqual(loaded.kept, (pair.certificatePath,))
        self.assertEqual([p.path for p in loaded.problems], [pair.certificatePath])

    def test_changedFileReplaces(self) -> None:
        """
        A valid new certificate in the same file replaces the old one.
        """
        pair = self.files.write("one", ["autoconfig.one.example"])
        first = loadCertificateStore(self.sources, [], NOW).store
        self.files.write("one", ["autoconfig.one.example"])
        second = loadCertificateStore(self.sources, [], NOW, previous=first).store
        self.assertNotEqual(
            second.select("autoconfig.one.example").certificate,
            first.select("autoconfig.one.example").certificate,
        )
        self.assertEqual(second.select("autoconfig.one.example").source, pair.certificatePath)

    def test_badDefaultWithoutPrevious(self) -> None:
        """
        An unusable default certificate at start-up raises, naming the file.
        """
        pair = KeyPair(os.path.join(self.files.directory, "nope.pem"), "nope.key")
        sources = CertificateSources(defaultPair=pair, stateDirectory=self.state)
        error = self.assertRaises(CertificateError, loadCertificateStore, sources, [], NOW)
        self.assertEqual(error.path, pair.certificatePath)

    def test_badDefaultKeepsPrevious(self) -> None:
        """
        On reload, an unusable default certificate keeps the previous one.
        """
        pair = self.files.write("default", ["localhost"])
        sources = CertificateSources(defaultPair=pair, stateDirectory=self.state)
        first = loadCertificateStore(sources, [], NOW).store
        os.remove(pair.keyPath)
        loaded = loadCertificateStore(sources, [], NOW, previous=first)
        self.assertIs(loaded.store.default, first.default)
        self.assertEqual([p.path for p in loaded.problems], [pair.keyPath])

    def test_selfSignedDefault(self) -> None:
        """
        Without a default certificate, a self-signed one is generated once.
        """
        sources = CertificateSources(stateDirectory=self.state)
        first = loadCertificateStore(sources, [], NOW)
        second = loadCertificateStore(sources, [], NOW)
        self.assertTrue(first.generatedSelfSigned)
        self.assertFalse(second.generatedSelfSigned)
        self.assertEqual(first.store.default.names, {"localhost"})

    def test_unreadableDirectory(self) -> None:
        """
        A missing certificate directory is one problem, not a crash.
        """
        missing = os.path.join(self.files.directory, "missing")
        pairs, problems = scanCertificateDirectory(missing)
        self.assertEqual(pairs, [])
        self.assertEqual([p.path for p in problems], [missing])

    def test_acmeOnlyForRegistryDomains(self) -> None:
        """
        Stored ACME certificates are served for the registry's domains only,
        so a removed domain's certificate stops being served.
        """
        acme = os.path.join(self.files.directory, "..", "acme")
        for domain in ("one.example", "gone.example"):
            folder = os.path.join(acme, "certificates", domain)
            os.makedirs(folder)
            issued = self.files.authority.issue([f"autoconfig.{domain}"])
            writePEM(os.path.join(folder, "fullchain.pem"), self.files.authority.fullchain(issued))
            writePEM(os.path.join(folder, "privkey.pem"), issued.keyPEM())
        sources = CertificateSources(stateDirectory=self.state, acmeDirectory=acme)
        loaded = loadCertificateStore(sources, ["one.example"], NOW)
        self.assertEqual(set(loaded.store.acme), {"one.example"})
        self.assertIsNone(loaded.store.match("autoconfig.gone.example"))
