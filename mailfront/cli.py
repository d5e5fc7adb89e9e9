"""
The C{mailfront} command: tools for operators that do not start the server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, TextIO

from .importer import ImportFailed, importFiles
from .registry import InvalidConfiguration, loadDirectory

__all__ = ["main"]


def _check(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        registry = loadDirectory(arguments.config_dir)
    except InvalidConfiguration as e:
        err.write(f"{e}\n")
        return 1
    out.write(
        f"{arguments.config_dir}: valid, {len(registry.providers)} providers, "
        f"{len(registry.domains)} domains\n"
    )
    return 0


def _importAutoconfig(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        written = importFiles(arguments.files, arguments.output)
    except ImportFailed as e:
        for error in e.errors:
            err.write(f"error: {error}\n")
        err.write("nothing was written\n")
        return 1
    for plan in written:
        for warning in plan.imported.warnings:
            err.write(f"warning: {warning}\n")
        count = len(plan.imported.domains)
        noun = "domain" if count == 1 else "domains"
        out.write(f"{plan.source} -> {plan.target} (provider {plan.imported.provider.id!r}, "
                  f"{count} {noun})\n")
    return 0


def buildParser() -> argparse.ArgumentParser:
    """
    Build the parser of every subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="mailfront",
        description="Tools for the mailfront auto-configuration server. "
        "Start the server itself with: twistd -n mailfront --config DIR",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="validate a configuration directory and report every problem"
    )
    check.add_argument("config_dir", metavar="CONFIG_DIR", help="directory of *.toml files")
    check.set_defaults(run=_check)

    importer = commands.add_parser(
        "import-autoconfig",
        help="convert config-v1.1.xml files into registry files",
        description="Convert Autoconfig files (config-v1.1.xml, as served by hand or "
        "kept in Thunderbird's ISP database) into registry files, one "
        "<provider id>.toml per input. Existing files are never overwritten; "
        "if any input cannot be converted, nothing is written.",
    )
    importer.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="DIR",
        help="directory for the new *.toml files; created if missing",
    )
    importer.add_argument("files", nargs="+", metavar="FILE.xml", help="Autoconfig files")
    importer.set_defaults(run=_importAutoconfig)
    return parser


def main(
    argv: Optional[Sequence[str]] = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """
    Run one subcommand and return its exit status.
    """
    parser = buildParser()
    arguments = parser.parse_args(argv)
    status: int = arguments.run(arguments, out, err)
    return status


if __name__ == "__main__":
    sys.exit(main())
