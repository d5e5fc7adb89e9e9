"""
Round trip of real Autoconfig files: the 108 provider files of Thunderbird's
ISP database (in C{tests/data/ispdb}) are imported, loaded as a registry and
served back, and every response must match the original file.

The original and the served document are both read here with the standard
library's XML parser, independently of mailfront's importer and renderer.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from typing import Any, Callable

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.importer import importFiles
from mailfront.registry import Registry, loadDirectory, normalizeDomain
from mailfront.render.autoconfig import renderAutoconfig

from .running import EXAMPLE_CONFIG, ROOT

ISPDB = os.path.join(ROOT, "tests", "data", "ispdb")

#: Folder of the shared reference data, beside the clone. The environment
#: variable MAILFRONT_SHARED_DATA names another folder, for a checkout that
#: has the data elsewhere.
SHARED_DATA = os.environ.get("MAILFRONT_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
GRAMMAR = os.path.join(SHARED_DATA, "autoconfig.rng")

#: Values of the originals that the importer repairs on purpose, by file,
#: element path and the value expected in the response. Clients replace only
#: complete placeholders, so C{%EMAILADDRESS} without its closing C{%} would
#: be sent as a literal login name.
REPAIRS = {
    "office365.com.xml": [
        ("emailProvider/incomingServer[3]/username", "%EMAILADDRESS%"),
        ("emailProvider/incomingServer[4]/username", "%EMAILADDRESS%"),
    ],
}


def ispdbFiles() -> list[str]:
    """
    List the ISP database files used by the tests, sorted by name.
    """
    return sorted(name for name in os.listdir(ISPDB) if name.endswith(".xml"))


def _canonical(element: ElementTree.Element) -> tuple[Any, ...]:
    """
    Describe an element as its attributes, text and children, with the
    children grouped by name. The order of different elements carries no
    meaning in Autoconfig, but the order of repeated ones (servers,
    authentication methods, descriptions) is the order of preference.
    Empty elements are left out.
    """
    children: dict[str, list[tuple[Any, ...]]] = {}
    for child in element:
        described = _canonical(child)
        # An element with no attribute, text or child, such as the
        # <loginButton/> of 1und1.de.xml, sets nothing.
        if described != ((), "", ()):
            children.setdefault(child.tag, []).append(described)
    return (
        tuple(sorted(element.attrib.items())),
        (element.text or "").strip(),
        tuple(sorted(children.items())),
    )


def _withoutDomains(root: ElementTree.Element) -> ElementTree.Element:
    """
    Remove what differs by design between a provider file and the response
    for one domain: the version, the C{emailProvider} id and the domain list.
    """
    root.attrib.pop("version", None)
    emailProvider = root.find("emailProvider")
    assert emailProvider is not None
    emailProvider.attrib.pop("id", None)
    for domain in emailProvider.findall("domain"):
        emailProvider.remove(domain)
    return root


def _original(name: str) -> ElementTree.Element:
    root = ElementTree.parse(os.path.join(ISPDB, name)).getroot()
    for path, value in REPAIRS.get(name, []):
        element = root.find(path)
        assert element is not None, path
        element.text = value
    return root


def _domains(root: ElementTree.Element) -> list[str]:
    return [normalizeDomain(domain.text or "") for domain in root.iter("domain")]


def _importInto(case: SynchronousTestCase, names: list[str]) -> Registry:
    output = case.mktemp()
    importFiles([os.path.join(ISPDB, name) for name in names], output)
    return loadDirectory(output)


class IspdbRoundTripTests(SynchronousTestCase):
    """
    Each ISP database file imports without loss: the response served for each
    of its domains has the same servers in the same order, with the same
    host names, ports, socket types, authentication methods (in order, with
    their C{system}), user names, and the same pages, web mail, OAuth 2 and
    other settings as the original. One test per file is added below.
    """

    def assertRoundTrip(self, name: str) -> None:
        """
        Import one file, serve every one of its domains, and compare each
        response with the original file.
        """
        original = _original(name)
        domains = _domains(original)
        expected = _canonical(_withoutDomains(original))
        registry = _importInto(self, [name])

        self.assertEqual(sorted(registry.domains), sorted(set(domains)))
        for domain in domains:
            entry = registry.lookup(domain)
            assert entry is not None, domain
            response = ElementTree.fromstring(renderAutoconfig(entry.provider, domain))
            self.assertEqual(response.get("version"), "1.1")
            emailProvider = response.find("emailProvider")
            assert emailProvider is not None
            self.assertEqual(emailProvider.get("id"), domain)
            self.assertEqual([d.text for d in emailProvider.findall("domain")], [domain])
            self.assertEqual(_canonical(_withoutDomains(response)), expected, domain)

    def test_everyFileHasATest(self) -> None:
        """
        The data folder contains the 108 files, and each has its own test.
        """
        names = ispdbFiles()
        self.assertEqual(len(names), 108)
        for name in names:
            self.assertTrue(hasattr(self, _testName(name)), name)

    def test_repairsStillNeeded(self) -> None:
        """
        Each repair listed in L{REPAIRS} matches a value that really is
        malformed in the data, so the list cannot hide a silent change.
        """
        for name, repairs in REPAIRS.items():
            root = ElementTree.parse(os.path.join(ISPDB, name)).getroot()
            for path, value in repairs:
                element = root.find(path)
                assert element is not None, path
                self.assertNotEqual(element.text, value)

    def test_allFilesTogether(self) -> None:
        """
        All 108 files import in one run into one directory that loads as a
        registry. The four Zoho files share the C{emailProvider} id
        C{zoho.com}: the file that lists C{zoho.com} keeps it, and the
        others are named after their first domain.
        """
        registry = _importInto(self, ispdbFiles())
        self.assertEqual(len(registry.providers), 108)
        for name in ("zoho.com", "zoho.com.au", "zoho.in", "zoho.jp"):
            entry = registry.lookup(name)
            assert entry is not None
            self.assertEqual(entry.provider.id, name)
        self.assertEqual(
            len(registry.domains),
            len({d for name in ispdbFiles() for d in _domains(_original(name))}),
        )


def _testName(name: str) -> str:
    return "test_" + name.removesuffix(".xml").replace(".", "_").replace("-", "_")


def _makeRoundTripTest(name: str) -> Callable[[IspdbRoundTripTests], None]:
    def test(self: IspdbRoundTripTests) -> None:
        self.assertRoundTrip(name)

    test.__doc__ = f"""
        {name} imports and is served back with the same settings for each
        of its domains.
        """
    return test


for _name in ispdbFiles():
    setattr(IspdbRoundTripTests, _testName(_name), _makeRoundTripTest(_name))


class GrammarTests(SynchronousTestCase):
    """
    Every response mailfront serves for the example configuration and for the
    imported ISP database validates against the RELAX NG grammar of the
    Autoconfig draft, read from the shared reference data beside the clone.
    """

    def grammar(self) -> etree.RelaxNG:
        if not os.path.exists(GRAMMAR):
            self.skipTest(
                f"the Autoconfig RELAX NG grammar is not at {os.path.abspath(GRAMMAR)}; "
                "put the shared reference data beside the clone or set "
                "MAILFRONT_SHARED_DATA"
            )
        return etree.RelaxNG(etree.parse(GRAMMAR))

    def invalidResponses(self, grammar: etree.RelaxNG, registry: Registry) -> list[str]:
        problems = []
        for name, entry in sorted(registry.domains.items()):
            document = etree.fromstring(renderAutoconfig(entry.provider, name))
            if not grammar.validate(document):
                problems.append(f"{name}: {grammar.error_log.last_error}")
        return problems

    def test_examples(self) -> None:
        """
        The response for each domain of C{examples/config} is valid.
        """
        grammar = self.grammar()
        registry = loadDirectory(EXAMPLE_CONFIG)
        self.assertTrue(registry.domains)
        self.assertEqual(self.invalidResponses(grammar, registry), [])

    def test_importedIspdb(self) -> None:
        """
        The response for each domain of every imported ISP database file is
        valid.
        """
        grammar = self.grammar()
        registry = _importInto(self, ispdbFiles())
        self.assertEqual(len(registry.domains), 658)
        self.assertEqual(self.invalidResponses(grammar, registry), [])

    def test_grammarRejects(self) -> None:
        """
        The grammar is strict enough to matter: a response whose port is not
        a number is invalid.
        """
        grammar = self.grammar()
        registry = loadDirectory(EXAMPLE_CONFIG)
        name, entry = sorted(registry.domains.items())[0]
        broken = renderAutoconfig(entry.provider, name).replace(b"<port>993<", b"<port>x<", 1)
        self.assertIn(b"<port>x<", broken)
        self.assertFalse(grammar.validate(etree.fromstring(broken)))
