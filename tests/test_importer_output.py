"""
Tests for L{mailfront.importer.output}: naming providers, checking the
converted files together, and writing them all or none.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from mailfront.importer import ImportFailed, importFiles, output
from mailfront.registry import loadDirectory

from .test_importer_reader import _MINIMAL


def _variant(domain: str, providerID: str = "") -> str:
    """
    Return the minimal file for another domain and provider id.
    """
    return _MINIMAL.replace("example.org", domain).replace(
        f'id="{domain}"', f'id="{providerID or domain}"'
    )


class ImportFilesTests(SynchronousTestCase):
    """
    L{importFiles} writes one registry file per input, named after the
    provider, that the registry loads.
    """

    def setUp(self) -> None:
        self.sources = self.mktemp()
        os.makedirs(self.sources)

    def source(self, name: str, text: str) -> str:
        path = os.path.join(self.sources, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def errors(self, paths: list[str], target: str) -> list[str]:
        try:
            importFiles(paths, target)
        except ImportFailed as e:
            return [str(error) for error in e.errors]
        raise AssertionError("the import succeeded")

    def test_writesLoadableFiles(self) -> None:
        """
        Each input becomes C{<provider id>.toml} in the output directory,
        which is created with its parents, and the directory loads.
        """
        target = os.path.join(self.mktemp(), "new", "config")
        written = importFiles(
            [
                self.source("a.xml", _variant("a.example")),
                self.source("b.xml", _variant("b.example")),
            ],
            target,
        )
        self.assertEqual(
            [plan.target for plan in written],
            [os.path.join(target, "a.example.toml"), os.path.join(target, "b.example.toml")],
        )
        self.assertEqual(sorted(os.listdir(target)), ["a.example.toml", "b.example.toml"])
        registry = loadDirectory(target)
        self.assertEqual(sorted(registry.domains), ["a.example", "b.example"])

    def test_headerNotes(self) -> None:
        """
        The written file starts with comments naming the source, the changes
        made on import and the source's own comments.
        """
        text = _MINIMAL.replace("%EMAILADDRESS%</username>", "%EMAILADDRESS</username>", 1)
        text = text.replace("<clientConfig", "<!-- Hand-made\n  in 2015 -->\n<clientConfig")
        target = self.mktemp()
        [plan] = importFiles([self.source("hand.xml", text)], target)
        with open(plan.target, encoding="utf-8") as f:
            head = f.read().split("\n\n", 1)[0]
        self.assertEqual(
            head,
            "# Imported from hand.xml by mailfront import-autoconfig.\n"
            "# Changes made on import:\n"
            "#   /clientConfig/emailProvider/incomingServer/username: placeholder "
            "'%EMAILADDRESS' written as '%EMAILADDRESS%'\n"
            "# Comments of the source file, in order:\n"
            "#   Hand-made\n"
            "#   in 2015",
        )

    def test_refusesToOverwrite(self) -> None:
        """
        An existing file is never overwritten: the import fails naming it,
        the file keeps its content, and no other file is written.
        """
        target = self.mktemp()
        os.makedirs(target)
        existing = os.path.join(target, "b.example.toml")
        with open(existing, "w") as f:
            f.write("# mine\n")
        a = self.source("a.xml", _variant("a.example"))
        b = self.source("b.xml", _variant("b.example"))
        self.assertEqual(
            self.errors([a, b], target),
            [
                f"{b}: {existing} already exists; refusing to overwrite it "
                "(move it away or choose another --output directory)"
            ],
        )
        self.assertEqual(os.listdir(target), ["b.example.toml"])
        with open(existing) as f:
            self.assertEqual(f.read(), "# mine\n")

    def test_badInputWritesNothing(self) -> None:
        """
        When one input cannot be converted, no file is written, not even
        for the good inputs, and the output directory is not created.
        """
        target = self.mktemp()
        good = self.source("good.xml", _variant("a.example"))
        bad = self.source("bad.xml", "not xml")
        [error] = self.errors([good, bad], target)
        self.assertTrue(error.startswith(f"{bad}:1: not well-formed XML"), error)
        self.assertFalse(os.path.exists(target))

    def test_missingInput(self) -> None:
        """
        A file that cannot be read is named with the system's reason.
        """
        missing = os.path.join(self.mktemp(), "missing.xml")
        self.assertEqual(
            self.errors([missing], self.mktemp()),
            [f"{missing}: cannot read: No such file or directory"],
        )

    def test_sameInputTwice(self) -> None:
        """
        A file given twice is reported instead of clashing with itself.
        """
        path = self.source("a.xml", _variant("a.example"))
        self.assertEqual(
            self.errors([path, path], self.mktemp()), [f"{path}: given more than once"]
        )

    def test_domainInTwoFiles(self) -> None:
        """
        A domain listed by two inputs is rejected, naming both files,
        because a domain has exactly one provider.
        """
        a = self.source("a.xml", _variant("a.example"))
        b = self.source(
            "b.xml",
            _variant("b.example").replace(
                "<domain>b.example</domain>", "<domain>b.example</domain><domain>A.example</domain>"
            ),
        )
        self.assertEqual(
            self.errors([a, b], self.mktemp()),
            [
                f"{b}: domain a.example is also listed by {a}; a domain has exactly one "
                "provider, so remove it from one of the files"
            ],
        )

    def test_sharedProviderID(self) -> None:
        """
        Inputs that share an C{emailProvider id} get distinct names: the
        one that lists the id among its domains keeps it, the others are
        named after their first domain, with a warning.
        """
        owner = self.source("com.xml", _variant("zoho.example", "zoho.example"))
        other = self.source("au.xml", _variant("zoho.example.au", "zoho.example"))
        target = self.mktemp()
        written = importFiles([owner, other], target)
        self.assertEqual(
            [plan.imported.provider.id for plan in written], ["zoho.example", "zoho.example.au"]
        )
        self.assertEqual(written[0].imported.warnings, ())
        [warning] = written[1].imported.warnings
        self.assertEqual(
            str(warning),
            f"{other}: provider id 'zoho.example' is also used by {owner}; this provider is "
            "named 'zoho.example.au' after its first domain",
        )
        self.assertEqual(len(loadDirectory(target).providers), 2)

    def test_sharedProviderIDWithoutOwner(self) -> None:
        """
        When no input lists the shared id as a domain, every one of them is
        named after its first domain.
        """
        a = self.source("a.xml", _variant("a.example", "Shared"))
        b = self.source("b.xml", _variant("b.example", "Shared"))
        written = importFiles([a, b], self.mktemp())
        self.assertEqual(
            [plan.imported.provider.id for plan in written], ["a.example", "b.example"]
        )

    def test_registryRulesApply(self) -> None:
        """
        The converted files must pass the registry's own checks: an IMAP
        provider without SMTP is rejected, naming the source file.
        """
        start = _MINIMAL.index("<outgoingServer")
        end = _MINIMAL.index("</outgoingServer>") + len("</outgoingServer>")
        path = self.source("nosmtp.xml", _MINIMAL[:start] + _MINIMAL[end:])
        [error] = self.errors([path], self.mktemp())
        self.assertTrue(
            error.startswith(
                f"{path}: the converted settings are invalid: "
                "providers.example.org.outgoing: missing"
            ),
            error,
        )

    def test_failedWriteRemovesWrittenFiles(self) -> None:
        """
        If writing fails part-way, the files already written are removed
        again and no temporary file is left behind.
        """
        calls = []

        def failSecond(source: str, target: str) -> None:
            calls.append(target)
            if len(calls) == 2:
                raise OSError(28, "No space left on device", target)
            os.link(source, target)

        self.patch(output, "_link", failSecond)
        target = self.mktemp()
        a = self.source("a.xml", _variant("a.example"))
        b = self.source("b.xml", _variant("b.example"))
        [error] = self.errors([a, b], target)
        self.assertEqual(
            error,
            f"{os.path.join(target, 'b.example.toml')}: cannot write: No space left on device; "
            "nothing was written",
        )
        self.assertEqual(len(calls), 2)
        self.assertEqual(os.listdir(target), [])
