"""
Tests for L{mailfront.registry.names}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry.names import InvalidName, normalizeDomain, splitAddress, toUnicode


class NormalizeDomainTests(SynchronousTestCase):
    """
    Domains are stored and looked up in one form.
    """

    def test_equivalentForms(self) -> None:
        """
        Case, a trailing dot, the U-label and the A-label all give the same
        key.
        """
        for form in ("bücher.example", "BÜCHER.example.", "xn--bcher-kva.example",
                     "XN--BCHER-KVA.EXAMPLE"):
            self.assertEqual(normalizeDomain(form), "xn--bcher-kva.example", form)

    def test_ascii(self) -> None:
        """
        A plain name is lower-cased.
        """
        self.assertEqual(normalizeDomain("Mail.Example.COM"), "mail.example.com")

    def test_invalid(self) -> None:
        """
        Empty names, spaces, empty labels, bad punycode and overlong names are
        rejected.
        """
        for bad in ("", ".", "a b.example", "a..example", "xn--zz.example", "-a.example",
                    "a" * 64 + ".example", ("a" * 60 + ".") * 5):
            self.assertRaises(InvalidName, normalizeDomain, bad)

    def test_toUnicode(self) -> None:
        """
        A-labels are shown as U-labels; other names are unchanged.
        """
        self.assertEqual(toUnicode("xn--bcher-kva.example"), "bücher.example")
        self.assertEqual(toUnicode("example.com"), "example.com")


class SplitAddressTests(SynchronousTestCase):
    """
    Addresses are split into a case-preserved local part and a normalized
    domain.
    """

    def test_split(self) -> None:
        """
        The local part keeps its case and any C{+} tag.
        """
        self.assertEqual(splitAddress("Fred+Lists@Bücher.Example"),
                         ("Fred+Lists", "xn--bcher-kva.example"))

    def test_lastAt(self) -> None:
        """
        A quoted local part containing C{@} splits at the last C{@}.
        """
        self.assertEqual(splitAddress('"a@b"@example.com'), ('"a@b"', "example.com"))

    def test_invalid(self) -> None:
        """
        Addresses without C{@}, local part or valid domain are rejected with
        a reason.
        """
        for bad, reason in (
            ("fred", "has no '@'"),
            ("@example.com", "empty local part"),
            ("fred@", "domain name is empty"),
            ("fr\x00ed@example.com", "control characters"),
        ):
            with self.assertRaises(InvalidName) as raised:
                splitAddress(bad)
            self.assertIn(reason, str(raised.exception))
