"""
Tests for L{mailfront.render.appleprofile}: the content of profiles, their
identifiers, escaping, and CMS signing checked with C{openssl cms -verify}.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    DavServer,
    DomainEntry,
    InvalidName,
    Provider,
    Server,
    loadDirectory,
    splitAddress,
)
from mailfront.render.appleprofile import (
    ProfileSigner,
    ProfileUnavailable,
    UnsupportedAddress,
    appleAuthentication,
    downloadFileName,
    renderProfile,
    signProfile,
)

from .running import EXAMPLE_CONFIG
from .signingchain import makeChain

_REGISTRY = loadDirectory(EXAMPLE_CONFIG)

_PASSWORD = (Authentication("password-cleartext"),)


def _entry(name: str = "example.org", **fields: Any) -> DomainEntry:
    return DomainEntry(name=name, provider=Provider(id="test", **fields))


def _imap(port: int = 993, socketType: str = "SSL", **fields: Any) -> Server:
    fields.setdefault("authentication", _PASSWORD)
    fields.setdefault("username", "%EMAILADDRESS%")
    return Server("imap", "imap.example.org", port, socketType, **fields)


def _smtp(port: int = 465, socketType: str = "SSL", **fields: Any) -> Server:
    fields.setdefault("authentication", _PASSWORD)
    fields.setdefault("username", "%EMAILADDRESS%")
    return Server("smtp", "smtp.example.org", port, socketType, **fields)


def _profile(entry: DomainEntry, localPart: str = "fred") -> dict[str, Any]:
    result: dict[str, Any] = plistlib.loads(renderProfile(entry, localPart))
    return result


def _payloads(profile: dict[str, Any], payloadType: str) -> list[dict[str, Any]]:
    return [p for p in profile["PayloadContent"] if p["PayloadType"] == payloadType]


def _mail(entry: DomainEntry, localPart: str = "fred") -> dict[str, Any]:
    [payload] = _payloads(_profile(entry, localPart), "com.apple.mail.managed")
    return payload


class MailPayloadTests(SynchronousTestCase):
    """
    The mail payload carries the provider's preferred servers with the types
    Apple documents.
    """

    def test_exampleHosting(self) -> None:
        """
        The hosting example gets its IMAP server on 993 and SMTP on 465,
        both with TLS, and the full address as user name.
        """
        mail = _mail(_REGISTRY.domains["example.com"])
        expected = {
            "EmailAccountType": "EmailTypeIMAP",
            "EmailAddress": "fred@example.com",
            "EmailAccountDescription": "Example Hosting Mail",
            "IncomingMailServerHostName": "mail.example-hosting.net",
            "IncomingMailServerPortNumber": 993,
            "IncomingMailServerUseSSL": True,
            "IncomingMailServerUsername": "fred@example.com",
            "IncomingMailServerAuthentication": "EmailAuthPassword",
            "OutgoingMailServerHostName": "smtp.example-hosting.net",
            "OutgoingMailServerPortNumber": 465,
            "OutgoingMailServerUseSSL": True,
            "OutgoingMailServerUsername": "fred@example.com",
            "OutgoingMailServerAuthentication": "EmailAuthPassword",
            "OutgoingPasswordSameAsIncomingPassword": True,
        }
        for key, value in expected.items():
            self.assertEqual(mail[key], value, key)
            self.assertIs(type(mail[key]), type(value), key)

    def test_plistTypes(self) -> None:
        """
        Ports are written as C{<integer>} and switches as C{<true/>}, never
        as strings or reals.
        """
        body = renderProfile(_REGISTRY.domains["example.com"], "fred")
        self.assertIn(
            b"<key>IncomingMailServerPortNumber</key>\n\t\t\t<integer>993</integer>", body
        )
        self.assertIn(b"<key>IncomingMailServerUseSSL</key>\n\t\t\t<true/>", body)
        self.assertIn(b"<key>PayloadVersion</key>\n\t<integer>1</integer>", body)
        self.assertTrue(body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist'))

    def test_localPartPlaceholder(self) -> None:
        """
        The school's C{%EMAILLOCALPART%} user name becomes the local part,
        and its STARTTLS-only submission server turns on the TLS switch.
        """
        mail = _mail(_REGISTRY.domains["school.example"], "Fred.Smith")
        self.assertEqual(mail["IncomingMailServerUsername"], "Fred.Smith")
        self.assertEqual(mail["OutgoingMailServerUsername"], "Fred.Smith")
        self.assertEqual(mail["OutgoingMailServerPortNumber"], 587)
        self.assertIs(mail["OutgoingMailServerUseSSL"], True)
        self.assertEqual(mail["EmailAddress"], "Fred.Smith@school.example")

    def test_implicitTLSPreferred(self) -> None:
        """
        Among servers of one protocol, implicit TLS wins even when the
        registry lists STARTTLS first.
        """
        entry = _entry(
            incoming=(_imap(143, "STARTTLS"), _imap(993, "SSL")),
            outgoing=(_smtp(587, "STARTTLS"), _smtp(465, "SSL")),
        )
        mail = _mail(entry)
        self.assertEqual(mail["IncomingMailServerPortNumber"], 993)
        self.assertEqual(mail["OutgoingMailServerPortNumber"], 465)

    def test_protocolOrder(self) -> None:
        """
        The first incoming protocol of the registry is kept: a provider that
        lists POP3 first gets a POP account.
        """
        pop3 = Server("pop3", "pop.example.org", 995, "SSL", _PASSWORD, "%EMAILADDRESS%")
        mail = _mail(_entry(incoming=(pop3, _imap()), outgoing=(_smtp(),)))
        self.assertEqual(mail["EmailAccountType"], "EmailTypePOP")
        self.assertEqual(mail["IncomingMailServerHostName"], "pop.example.org")
        self.assertEqual(mail["IncomingMailServerPortNumber"], 995)

    def test_urlTypesSkipped(self) -> None:
        """
        Servers reached by URL (Exchange Web Services) are skipped in favor
        of the IMAP server behind them.
        """
        ews = Server("ews", url="https://ews.example.org/EWS/Exchange.asmx",
                     authentication=_PASSWORD)
        mail = _mail(_entry(incoming=(ews, _imap()), outgoing=(_smtp(),)))
        self.assertEqual(mail["IncomingMailServerHostName"], "imap.example.org")

    def test_unencrypted(self) -> None:
        """
        A server without TLS turns the switch off.
        """
        mail = _mail(_entry(incoming=(_imap(143, "plain"),), outgoing=(_smtp(25, "plain"),)))
        self.assertIs(mail["IncomingMailServerUseSSL"], False)
        self.assertIs(mail["OutgoingMailServerUseSSL"], False)

    def test_noUsername(self) -> None:
        """
        Without a user name template the key is left out, so the device asks.
        """
        mail = _mail(_entry(incoming=(_imap(username=None),), outgoing=(_smtp(username=None),)))
        self.assertNotIn("IncomingMailServerUsername", mail)
        self.assertNotIn("OutgoingMailServerUsername", mail)

    def test_hostnamePlaceholder(self) -> None:
        """
        C{%EMAILDOMAIN%} in a host name becomes the domain.
        """
        server = Server("imap", "imap.%EMAILDOMAIN%", 993, "SSL", _PASSWORD)
        mail = _mail(_entry("example.net", incoming=(server,), outgoing=(_smtp(),)))
        self.assertEqual(mail["IncomingMailServerHostName"], "imap.example.net")

    def test_authentication(self) -> None:
        """
        Autoconfig methods map to Apple's values; methods Apple cannot use
        are skipped, and a password is the last resort.
        """
        cases = [
            ((Authentication("OAuth2"), Authentication("password-cleartext")),
             "EmailAuthPassword"),
            ((Authentication("password-encrypted"),), "EmailAuthCRAMMD5"),
            ((Authentication("NTLM"),), "EmailAuthNTLM"),
            ((Authentication("none"),), "EmailAuthNone"),
            ((Authentication("smtp-after-pop"),), "EmailAuthNone"),
            ((Authentication("SCRAM-SHA-256", "sasl"), Authentication("cram-md5", "sasl")),
             "EmailAuthCRAMMD5"),
            ((Authentication("OAuth2"),), "EmailAuthPassword"),
            ((), "EmailAuthPassword"),
        ]
        for methods, expected in cases:
            self.assertEqual(appleAuthentication(methods), expected, methods)

    def test_noPassword(self) -> None:
        """
        No profile contains a password key, for any example domain; the only
        key naming a password is the switch that asks for it once.
        """
        for name, entry in _REGISTRY.domains.items():
            profile = _profile(entry)
            for payload in profile["PayloadContent"]:
                passwordKeys = [key for key in payload if "Password" in key]
                self.assertIn(passwordKeys, ([], ["OutgoingPasswordSameAsIncomingPassword"]), name)


class DavPayloadTests(SynchronousTestCase):
    """
    CalDAV and CardDAV payloads come from the registry's C{calendar} and
    C{addressbook} sections.
    """

    def test_customerOne(self) -> None:
        """
        The customer with its own DAV server gets one payload of each kind
        with host, port 443, TLS, principal URL and user name.
        """
        profile = _profile(_REGISTRY.domains["customer-one.example"])
        [caldav] = _payloads(profile, "com.apple.caldav.account")
        [carddav] = _payloads(profile, "com.apple.carddav.account")
        self.assertEqual(caldav["CalDAVHostName"], "dav.customer-one.example")
        self.assertEqual(caldav["CalDAVPort"], 443)
        self.assertIs(caldav["CalDAVUseSSL"], True)
        self.assertEqual(caldav["CalDAVPrincipalURL"], "https://dav.customer-one.example/caldav/")
        self.assertEqual(caldav["CalDAVUsername"], "fred@customer-one.example")
        self.assertEqual(carddav["CardDAVHostName"], "dav.customer-one.example")
        self.assertEqual(carddav["CardDAVPort"], 443)
        self.assertEqual(carddav["CardDAVPrincipalURL"],
                         "https://dav.customer-one.example/carddav/")
        self.assertEqual(carddav["CardDAVUsername"], "fred@customer-one.example")

    def test_noDav(self) -> None:
        """
        A provider without DAV services gets the mail payload only.
        """
        profile = _profile(_REGISTRY.domains["example.com"])
        self.assertEqual([p["PayloadType"] for p in profile["PayloadContent"]],
                         ["com.apple.mail.managed"])

    def test_portAndPlainHTTP(self) -> None:
        """
        An explicit port is kept, C{http} turns TLS off, and a URL without a
        path leaves the principal URL to the device's own discovery.
        """
        entry = _entry(calendars=(DavServer("caldav", "http://dav.example.org:8008/"),))
        [caldav] = _payloads(_profile(entry), "com.apple.caldav.account")
        self.assertEqual(caldav["CalDAVPort"], 8008)
        self.assertIs(caldav["CalDAVUseSSL"], False)
        self.assertNotIn("CalDAVPrincipalURL", caldav)

    def test_addressInURL(self) -> None:
        """
        An address inserted into a URL path is percent-encoded, so C{/},
        C{?} and spaces in a local part cannot change the URL.
        """
        entry = _entry(
            addressbooks=(DavServer("carddav", "https://dav.example.org/%EMAILADDRESS%/"),)
        )
        [carddav] = _payloads(_profile(entry, "a b/c?d"), "com.apple.carddav.account")
        self.assertEqual(carddav["CardDAVPrincipalURL"],
                         "https://dav.example.org/a%20b%2Fc%3Fd@example.org/")

    def test_davOnly(self) -> None:
        """
        A provider with Exchange only but a calendar gets a profile with the
        calendar alone.
        """
        ews = Server("ews", url="https://ews.example.org/EWS/Exchange.asmx",
                     authentication=_PASSWORD)
        entry = _entry(incoming=(ews,), calendars=(DavServer("caldav", "https://c.example.org/"),))
        profile = _profile(entry)
        self.assertEqual([p["PayloadType"] for p in profile["PayloadContent"]],
                         ["com.apple.caldav.account"])
        self.assertIn("calendar", profile["PayloadDescription"])

    def test_nothingToSetUp(self) -> None:
        """
        A provider with nothing an Apple device can use raises
        L{ProfileUnavailable}; so does IMAP without any SMTP server.
        """
        self.assertRaises(ProfileUnavailable, renderProfile, _entry(), "fred")
        self.assertRaises(ProfileUnavailable, renderProfile, _entry(incoming=(_imap(),)), "fred")


class IdentifierTests(SynchronousTestCase):
    """
    Identifiers and UUIDs depend on the domain, the address and the payload
    kind only, so a second download replaces the installed profile.
    """

    def identifiers(self, profile: dict[str, Any]) -> list[tuple[str, str]]:
        return [(profile["PayloadIdentifier"], profile["PayloadUUID"])] + [
            (p["PayloadIdentifier"], p["PayloadUUID"]) for p in profile["PayloadContent"]
        ]

    def test_repeatable(self) -> None:
        """
        Two downloads are byte for byte the same, even from a freshly loaded
        registry.
        """
        entry = _REGISTRY.domains["customer-one.example"]
        again = loadDirectory(EXAMPLE_CONFIG).domains["customer-one.example"]
        self.assertEqual(renderProfile(entry, "fred"), renderProfile(again, "fred"))

    def test_pinned(self) -> None:
        """
        The identifiers of a known address stay what earlier releases
        served; a change would make installed profiles appear twice.
        """
        profile = _profile(_REGISTRY.domains["example.com"])
        self.assertEqual(
            self.identifiers(profile),
            [
                ("com.example.mailfront.729b19286380581080126c219d70e6f8",
                 "729B1928-6380-5810-8012-6C219D70E6F8"),
                ("com.example.mailfront.729b19286380581080126c219d70e6f8.mail",
                 "6CD35BDE-C471-5228-80E0-0D0F33CE13DE"),
            ],
        )

    def test_uniqueAndVersion5(self) -> None:
        """
        Every UUID in a profile is a distinct upper-case version 5 UUID, and
        every identifier is distinct.
        """
        profile = _profile(_REGISTRY.domains["customer-one.example"])
        pairs = self.identifiers(profile)
        self.assertEqual(len(pairs), 4)
        self.assertEqual(len({identifier for identifier, _ in pairs}), 4)
        self.assertEqual(len({value for _, value in pairs}), 4)
        for _, value in pairs:
            self.assertEqual(value, value.upper())
            self.assertEqual(uuid.UUID(value).version, 5)

    def test_perAddress(self) -> None:
        """
        Another address or another domain gets other identifiers, so two
        accounts can be installed side by side. The letter case of the
        local part does not count.
        """
        fred = self.identifiers(_profile(_REGISTRY.domains["example.com"], "fred"))
        anna = self.identifiers(_profile(_REGISTRY.domains["example.com"], "anna"))
        otherDomain = self.identifiers(_profile(_REGISTRY.domains["example.net"], "fred"))
        upper = self.identifiers(_profile(_REGISTRY.domains["example.com"], "Fred"))
        for other in (anna, otherDomain):
            self.assertFalse(set(fred) & set(other))
        self.assertEqual(fred, upper)

    def test_internationalizedDomain(self) -> None:
        """
        An internationalized domain gives an ASCII reverse-DNS identifier,
        an A-label address for the servers and the Unicode form in the
        names people read.
        """
        profile = _profile(_REGISTRY.domains["xn--bcher-kva.example"])
        self.assertTrue(
            profile["PayloadIdentifier"].startswith("example.xn--bcher-kva.mailfront."),
            profile["PayloadIdentifier"],
        )
        self.assertTrue(profile["PayloadIdentifier"].isascii())
        self.assertEqual(profile["PayloadContent"][0]["EmailAddress"],
                         "fred@xn--bcher-kva.example")
        self.assertEqual(profile["PayloadDisplayName"], "Bücher Mail (fred@bücher.example)")

    def test_downloadFileName(self) -> None:
        """
        The file name is the domain with the C{.mobileconfig} extension.
        """
        self.assertEqual(downloadFileName("example.com"), "example.com.mobileconfig")


#: Local parts that need escaping in XML, or that are unusual but valid.
ESCAPING_CASES = (
    "a&b",
    "<script>alert(1)</script>",
    '"quoted@local"',
    "o'neil",
    "fred]]>",
    "fred+lists",
    "jürgen",
    "\U0001f600",
    "tab\tinside",
)


class EscapingTests(SynchronousTestCase):
    """
    Addresses with characters that XML must escape still give a valid
    profile that carries the address unchanged.
    """

    def test_roundTrip(self) -> None:
        """
        Each address reads back unchanged from the property list, in the
        mail payload and in the user names.
        """
        entry = _REGISTRY.domains["example.com"]
        for localPart in ESCAPING_CASES:
            mail = _mail(entry, localPart)
            self.assertEqual(mail["EmailAddress"], f"{localPart}@example.com")
            self.assertEqual(mail["IncomingMailServerUsername"], f"{localPart}@example.com")

    def test_escapedInXML(self) -> None:
        """
        Markup characters appear escaped in the bytes, never raw.
        """
        body = renderProfile(_REGISTRY.domains["example.com"], "<b>&amp")
        self.assertIn(b"&lt;b&gt;&amp;amp@example.com", body)
        self.assertNotIn(b"<b>", body)

    def test_notXMLCharacter(self) -> None:
        """
        A character XML cannot carry is rejected with
        L{UnsupportedAddress} instead of producing an invalid file.
        """
        for localPart in ("fred\ufffe", "fred\x0b", "a\x00b"):
            self.assertRaises(UnsupportedAddress, renderProfile,
                              _REGISTRY.domains["example.com"], localPart)

    @settings(max_examples=200, deadline=None)
    @given(st.text(min_size=1, max_size=40))
    def test_anyLocalPart(self, localPart: str) -> None:
        """
        Any local part that the address parser accepts either gives a
        property list that carries it unchanged or raises
        L{UnsupportedAddress}.
        """
        try:
            parsedLocalPart, domain = splitAddress(f"{localPart}@example.com")
        except InvalidName:
            return
        entry = _REGISTRY.domains[domain]
        try:
            body = renderProfile(entry, parsedLocalPart)
        except UnsupportedAddress:
            return
        mail = plistlib.loads(body)["PayloadContent"][0]
        self.assertEqual(mail["EmailAddress"], f"{parsedLocalPart}@example.com")


def _openssl(*arguments: str, input: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *arguments], input=input, capture_output=True, timeout=30, check=False
    )


class SigningTests(SynchronousTestCase):
    """
    Signed profiles are CMS SignedData in DER with the profile attached and
    the intermediate certificate included, as C{openssl cms -verify} checks.
    """

    def setUp(self) -> None:
        if shutil.which("openssl") is None:
            raise self.skipTest("the openssl command is not installed (Debian package openssl)")
        self.chain = makeChain()
        self.directory = self.mktemp()
        _, self.rootPath = self.chain.write(self.directory)
        self.profile = renderProfile(_REGISTRY.domains["customer-one.example"], "fred")

    def verify(self, signed: bytes, rootPath: str) -> subprocess.CompletedProcess[bytes]:
        # A TLS certificate has only the serverAuth purpose. "-purpose any"
        # skips OpenSSL's S/MIME purpose check, but OpenSSL still verifies
        # the chain up to the root and the signature.
        return _openssl("cms", "-verify", "-inform", "DER", "-CAfile", rootPath,
                        "-purpose", "any", input=signed)

    def test_verifies(self) -> None:
        """
        The signature verifies against the issuing root alone, and the
        attached content is the unsigned profile byte for byte.
        """
        signed = signProfile(self.profile, self.chain.signer())
        result = self.verify(signed, self.rootPath)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, self.profile)

    def test_chainIncluded(self) -> None:
        """
        The leaf and the intermediate are embedded; without the intermediate
        the same root cannot verify the signature.
        """
        signed = signProfile(self.profile, self.chain.signer())
        embedded = pkcs7.load_der_pkcs7_certificates(signed)
        self.assertEqual({c.subject for c in embedded},
                         {self.chain.leaf.subject, self.chain.intermediate.subject})

        leafOnly = ProfileSigner(self.chain.leaf, self.chain.leafKey)
        result = self.verify(signProfile(self.profile, leafOnly), self.rootPath)
        self.assertNotEqual(result.returncode, 0)

    def test_otherRoot(self) -> None:
        """
        Another root does not verify the signature.
        """
        _, otherRoot = makeChain().write(os.path.join(self.directory, "other"))
        result = self.verify(signProfile(self.profile, self.chain.signer()), otherRoot)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"certificate verify error", result.stderr)

    def test_tampered(self) -> None:
        """
        A changed byte in the attached profile breaks the signature.
        """
        signed = bytearray(signProfile(self.profile, self.chain.signer()))
        position = bytes(signed).index(b"dav.customer-one.example")
        signed[position] = ord("D")
        result = self.verify(bytes(signed), self.rootPath)
        self.assertNotEqual(result.returncode, 0)

    def test_rsa(self) -> None:
        """
        An RSA signing key works as well as an ECDSA one.
        """
        chain = makeChain(leafKey=rsa.generate_private_key(65537, 2048))
        _, rootPath = chain.write(os.path.join(self.directory, "rsa"))
        result = self.verify(signProfile(self.profile, chain.signer()), rootPath)
        self.assertEqual(result.returncode, 0, result.stderr)
