"""
Tests for C{mailfront import-autoconfig}: what an operator sees on the
terminal, the exit status, and that C{mailfront check} accepts the result.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from mailfront.cli import main

from .running import ROOT
from .test_import_ispdb import ISPDB
from .test_importer_reader import _MINIMAL


class ImportCommandTests(SynchronousTestCase):
    """
    The command writes registry files, prints one line per file and the
    warnings, and exits non-zero without writing anything on any error.
    """

    def command(self, *arguments: str) -> tuple[int, str, str]:
        out = io.StringIO()
        err = io.StringIO()
        status = main(list(arguments), out, err)
        return status, out.getvalue(), err.getvalue()

    def source(self, text: str) -> str:
        path = self.mktemp() + ".xml"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_importAndCheck(self) -> None:
        """
        Importing ISP database files prints where each went, warns about
        the repairs made, exits 0, and C{mailfront check} accepts the
        output directory.
        """
        target = self.mktemp()
        office = os.path.join(ISPDB, "office365.com.xml")
        posteo = os.path.join(ISPDB, "posteo.de.xml")
        status, out, err = self.command("import-autoconfig", "--output", target, office, posteo)
        self.assertEqual(status, 0, err)
        self.assertEqual(
            out.splitlines(),
            [
                f"{office} -> {os.path.join(target, 'office365.com.toml')} "
                "(provider 'office365.com', 3 domains)",
                f"{posteo} -> {os.path.join(target, 'posteo.de.toml')} "
                "(provider 'posteo.de', 50 domains)",
            ],
        )
        self.assertEqual(
            err.splitlines(),
            [
                f"warning: {office}:29: /clientConfig/emailProvider/incomingServer[3]/username: "
                "placeholder '%EMAILADDRESS' written as '%EMAILADDRESS%'",
                f"warning: {office}:34: /clientConfig/emailProvider/incomingServer[4]/username: "
                "placeholder '%EMAILADDRESS' written as '%EMAILADDRESS%'",
            ],
        )

        status, out, err = self.command("check", target)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, f"{target}: valid, 2 providers, 53 domains\n")

    def test_refusesToOverwrite(self) -> None:
        """
        Importing the same file twice into one directory fails the second
        time, naming the existing file, and leaves it as it was.
        """
        target = self.mktemp()
        path = os.path.join(ISPDB, "posteo.de.xml")
        self.assertEqual(self.command("import-autoconfig", "-o", target, path)[0], 0)
        written = os.path.join(target, "posteo.de.toml")
        with open(written, "a") as f:
            f.write("# edited by hand\n")

        status, out, err = self.command("import-autoconfig", "-o", target, path)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err,
            f"error: {path}: {written} already exists; refusing to overwrite it "
            "(move it away or choose another --output directory)\n"
            "nothing was written\n",
        )
        with open(written) as f:
            self.assertTrue(f.read().endswith("# edited by hand\n"))

    def test_badInput(self) -> None:
        """
        A file that is not Autoconfig is named with the reason, the command
        exits 1 and the output directory is not created.
        """
        target = self.mktemp()
        bad = self.source("<html><body>Not found</body></html>")
        status, out, err = self.command("import-autoconfig", "--output", target, bad)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err,
            f"error: {bad}:1: /html: the root element is <html>, not <clientConfig>; "
            "this is not an Autoconfig file\n"
            "nothing was written\n",
        )
        self.assertFalse(os.path.exists(target))

    def test_everyErrorListed(self) -> None:
        """
        Problems in several files are all listed in one run.
        """
        first = self.source(_MINIMAL.replace("<port>993</port>", "<port>x</port>"))
        second = self.source("")
        status, out, err = self.command("import-autoconfig", "-o", self.mktemp(), first, second)
        self.assertEqual(status, 1)
        lines = err.splitlines()
        self.assertEqual(len(lines), 3, err)
        self.assertTrue(lines[0].startswith(f"error: {first}:8: "), lines[0])
        self.assertTrue(lines[1].startswith(f"error: {second}:"), lines[1])
        self.assertEqual(lines[2], "nothing was written")

    def test_usageErrors(self) -> None:
        """
        A missing C{--output} or a missing file is a usage error with exit
        status 2, as for every argparse command.
        """
        for arguments in (["import-autoconfig", "a.xml"], ["import-autoconfig", "-o", "x"]):
            stderr = io.StringIO()
            self.patch(sys, "stderr", stderr)
            with self.assertRaises(SystemExit) as raised:
                main(arguments)
            self.assertEqual(raised.exception.code, 2)
            self.assertIn("usage: mailfront import-autoconfig", stderr.getvalue())

    def test_exitStatusOfTheProcess(self) -> None:
        """
        Run as a process, the command exits 0 on success and 1 on failure.
        """
        target = os.path.abspath(self.mktemp())

        def importFile(name: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mailfront.cli",
                    "import-autoconfig",
                    "-o",
                    target,
                    os.path.join(ISPDB, name),
                ],
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=ROOT),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        good = importFile("posteo.de.xml")
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertEqual(os.listdir(target), ["posteo.de.toml"])
        bad = importFile("LICENSE")
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("LICENSE:1: not well-formed XML", bad.stderr)
