"""
Every generated profile against Apple's published profile schemas: required
keys present, no unknown keys, value types, allowed values and formats.

The schemas are the YAML files of the C{mdm/profiles} folder of
github.com/apple/device-management (MIT licensed). They are not part of the
repository: the tests read them from C{shared/data/apple-profiles/} in the
folder that contains the clone, or from C{$MAILFRONT_SHARED_DATA/apple-profiles/},
and are skipped when neither exists.
"""

from __future__ import annotations

import datetime
import os
import plistlib
import re
from typing import Any, Iterator, Optional

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    DavServer,
    DomainEntry,
    Provider,
    Server,
    loadDirectory,
)
from mailfront.render.appleprofile import renderProfile

from .running import EXAMPLE_CONFIG, ROOT
from .test_render_appleprofile import ESCAPING_CASES

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a test extra
    yaml = None


def _schemaDirectory() -> str:
    shared = os.environ.get("MAILFRONT_SHARED_DATA") or os.path.join(
        ROOT, os.pardir, "shared", "data"
    )
    return os.path.join(shared, "apple-profiles")


#: Schema type names and the Python types plistlib reads them as.
_TYPES: dict[str, tuple[type, ...]] = {
    "<string>": (str,),
    "<integer>": (int,),
    "<boolean>": (bool,),
    "<real>": (float,),
    "<array>": (list,),
    "<dictionary>": (dict,),
    "<date>": (datetime.datetime,),
    "<data>": (bytes,),
}


class SchemaChecker:
    """
    Checks property-list values against Apple's key descriptions.

    @ivar topLevel: The key descriptions of the profile's top level.
    @ivar common: The keys every payload has.
    @ivar payloads: Each payload type's own key descriptions.
    """

    def __init__(self, directory: str) -> None:
        assert yaml is not None
        schemas = {}
        for name in sorted(os.listdir(directory)):
            if name.endswith(".yaml"):
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    schema = yaml.safe_load(f)
                schemas[schema["payload"]["payloadtype"]] = schema["payloadkeys"]
        self.topLevel = schemas.pop("TopLevel")
        self.common = schemas.pop("CommonPayloadKeys")
        self.payloads = schemas

    def checkProfile(self, profile: dict[str, Any]) -> list[str]:
        """
        List every way C{profile} breaks the schemas; empty when it fits.
        """
        problems = self.checkKeys(profile, self.topLevel, "profile")
        for index, payload in enumerate(profile.get("PayloadContent", [])):
            where = f"PayloadContent[{index}]"
            if not isinstance(payload, dict):
                continue
            payloadType = payload.get("PayloadType")
            own = self.payloads.get(payloadType)
            if own is None:
                problems.append(f"{where}: no schema for PayloadType {payloadType!r}")
                continue
            problems += self.checkKeys(payload, self.common + own, where)
        return problems

    def checkKeys(
        self, value: dict[str, Any], specs: list[dict[str, Any]], where: str
    ) -> list[str]:
        """
        Check a dictionary's keys against a list of key descriptions.
        """
        byName = {spec["key"]: spec for spec in specs}
        anyKey = byName.pop("ANY", None)
        problems = []
        for name, spec in byName.items():
            if spec.get("presence") == "required" and name not in value:
                problems.append(f"{where}: required key {name} is missing")
        for key, item in value.items():
            itemSpec = byName.get(key, anyKey)
            if itemSpec is None:
                problems.append(f"{where}: key {key} is not in the schema")
                continue
            problems += self.checkValue(item, itemSpec, f"{where}.{key}")
        return problems

    def checkValue(self, value: Any, spec: dict[str, Any], where: str) -> list[str]:
        """
        Check one value's type, allowed values, format and sub-keys.
        """
        expected = _TYPES.get(spec["type"])
        if expected is not None:
            # bool is a subclass of int in Python, but not in a property list.
            wrongBool = isinstance(value, bool) and bool not in expected
            if wrongBool or not isinstance(value, expected):
                return [f"{where}: expected {spec['type']}, found {type(value).__name__}"]
        problems = []
        allowed = spec.get("rangelist")
        if allowed is not None and value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {allowed}")
        pattern = spec.get("format")
        if pattern is not None and not re.search(pattern, value):
            problems.append(f"{where}: {value!r} does not match {pattern}")
        subkeys: Optional[list[dict[str, Any]]] = spec.get("subkeys")
        if subkeys and spec["type"] == "<array>":
            for index, item in enumerate(value):
                problems += self.checkValue(item, subkeys[0], f"{where}[{index}]")
        elif subkeys and spec["type"] == "<dictionary>":
            problems += self.checkKeys(value, subkeys, where)
        return problems


_PASSWORD = (Authentication("password-cleartext"),)


def _syntheticEntries() -> Iterator[DomainEntry]:
    """
    Providers that exercise the branches the examples do not: POP3, no
    encryption, CRAM-MD5, DAV on its own port, and DAV only.
    """
    pop3 = Server("pop3", "pop.example.org", 110, "plain", (Authentication("secure"),),
                  "%EMAILLOCALPART%")
    smtp = Server("smtp", "smtp.example.org", 25, "plain", (Authentication("none"),))
    yield DomainEntry("pop.example.org", Provider("pop", incoming=(pop3,), outgoing=(smtp,)))
    dav = (DavServer("caldav", "http://dav.example.org:8008/%EMAILADDRESS%/"),)
    yield DomainEntry("dav.example.org", Provider("dav", calendars=dav, addressbooks=(
        DavServer("carddav", "https://dav.example.org/", username="%EMAILLOCALPART%"),
    )))


class AppleSchemaTests(SynchronousTestCase):
    """
    Generated profiles fit Apple's published schemas.
    """

    def setUp(self) -> None:
        if yaml is None:
            raise self.skipTest("PyYAML is not installed; install the test extras")
        directory = _schemaDirectory()
        if not os.path.isdir(directory):
            raise self.skipTest(
                f"Apple's profile schemas are not at {os.path.abspath(directory)}; "
                "put them there or set MAILFRONT_SHARED_DATA to the folder that "
                "contains apple-profiles/"
            )
        self.checker = SchemaChecker(directory)

    def test_everyExampleDomain(self) -> None:
        """
        The profile of every example domain, for plain addresses and for
        addresses that need escaping, fits the schemas.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        checked = 0
        for name, entry in registry.domains.items():
            for localPart in ("fred", *ESCAPING_CASES):
                profile = plistlib.loads(renderProfile(entry, localPart))
                self.assertEqual(self.checker.checkProfile(profile), [], f"{localPart}@{name}")
                checked += 1
        self.assertGreaterEqual(checked, 5 * 10)

    def test_otherBranches(self) -> None:
        """
        POP3, unencrypted, CRAM-MD5 and DAV-only profiles fit the schemas.
        """
        for entry in _syntheticEntries():
            profile = plistlib.loads(renderProfile(entry, "fred"))
            self.assertEqual(self.checker.checkProfile(profile), [], entry.name)

    def test_checkerFindsProblems(self) -> None:
        """
        The checker reports a port written as a string, an unknown account
        type, a missing required key, an unknown key and a boolean where an
        integer belongs, so a passing check means something.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        profile = plistlib.loads(renderProfile(registry.domains["example.com"], "fred"))
        mail = profile["PayloadContent"][0]
        mail["IncomingMailServerPortNumber"] = "993"
        mail["EmailAccountType"] = "EmailTypeExchange"
        del mail["OutgoingMailServerHostName"]
        mail["IncomingMailServerUseTLS"] = True
        profile["PayloadVersion"] = True
        problems = self.checker.checkProfile(profile)
        expected = [
            "profile.PayloadVersion: expected <integer>, found bool",
            "PayloadContent[0]: required key OutgoingMailServerHostName is missing",
            "PayloadContent[0].EmailAccountType: 'EmailTypeExchange' is not one of "
            "['EmailTypeIMAP', 'EmailTypePOP']",
            "PayloadContent[0].IncomingMailServerPortNumber: expected <integer>, found str",
            "PayloadContent[0]: key IncomingMailServerUseTLS is not in the schema",
        ]
        self.assertEqual(sorted(problems), sorted(expected))
