"""
The C{mailfront} command: tools for operators that do not start the server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, TextIO

from . import zoneexport
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

    zoneexport.addCommand(commands)
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
