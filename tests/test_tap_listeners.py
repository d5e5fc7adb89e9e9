"""
Tests for the listener options of C{twistd mailfront}.
"""

from __future__ import annotations

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mailfront.tap import Options

from .running import EXAMPLE_CONFIG


class ListenerOptionTests(SynchronousTestCase):
    """
    Listener descriptions are checked when the options are parsed, so a
    typo is a one-line usage error that names the option.
    """

    def parse(self, *arguments: str) -> Options:
        options = Options()
        options.parseOptions(["--config", EXAMPLE_CONFIG, *arguments])
        return options

    def test_tlsEndpointRejected(self) -> None:
        """
        An C{ssl:} description for C{--https} is rejected with the fix,
        because mailfront wraps a plain endpoint in its own TLS.
        """
        error = self.assertRaises(usage.UsageError, self.parse, "--https", "ssl:8443")
        self.assertEqual(
            str(error),
            "--https ssl:8443: mailfront speaks TLS itself with its own certificates, "
            "so give a plain endpoint such as tcp:443",
        )

    def test_invalidDescriptions(self) -> None:
        """
        A malformed or unknown endpoint type names the option and value.
        """
        for option, description in (
            ("--http", "tcp:abc"),
            ("--https", "nosuchtype:443"),
            ("--admin", "tcp:"),
        ):
            error = self.assertRaises(usage.UsageError, self.parse, option, description)
            self.assertTrue(
                str(error).startswith(
                    f"{option} {description}: not a valid Twisted endpoint description ("
                ),
                str(error),
            )

    def test_validDescriptions(self) -> None:
        """
        Plain TCP descriptions, repeated, are accepted in order.
        """
        options = self.parse(
            "--http", "tcp:8080:interface=127.0.0.1", "--http", r"tcp:8081:interface=\:\:1",
            "--https", "tcp:8443",
        )
        self.assertEqual(options["http"], ["tcp:8080:interface=127.0.0.1", r"tcp:8081:interface=\:\:1"])
        self.assertEqual(options["https"], ["tcp:8443"])
