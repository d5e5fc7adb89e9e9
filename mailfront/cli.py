"""
The C{mailfront} command: tools for operators that do not start the server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from typing import Any, Optional, Sequence, TextIO

from . import zoneexport
from .importer import ImportFailed, importFiles
from .registry import InvalidConfiguration, InvalidName, loadDirectory, splitAddress
from .service import DEFAULT_CONFIG, DEFAULT_STATE
from .show import formatReport
from .snapshot import buildSnapshot

__all__ = ["main"]

#: Default base URL of the admin listener for C{mailfront reload}, matching
#: the server's default C{--admin} endpoint.
DEFAULT_ADMIN_URL = "http://127.0.0.1:8081"
DEFAULT_TOKEN_FILE = os.path.join(DEFAULT_STATE, "admin-token")


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


def _show(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        domain = splitAddress(arguments.address)[1]
    except InvalidName as e:
        err.write(f"invalid email address: {e}\n")
        return 2
    try:
        registry = loadDirectory(arguments.config)
    except InvalidConfiguration as e:
        err.write(f"{e}\n")
        return 1
    snapshot = buildSnapshot(registry, generation=1)
    out.write(formatReport(snapshot, arguments.address, domain))
    return 0 if snapshot.lookup(domain) is not None else 1


def _signalReload(pidfile: str, out: TextIO, err: TextIO) -> int:
    try:
        with open(pidfile, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError) as e:
        err.write(f"cannot read a process id from {pidfile}: {e}\n")
        return 2
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as e:
        err.write(f"cannot send SIGHUP to process {pid}: {e.strerror}\n")
        return 2
    out.write(
        f"sent SIGHUP to process {pid}; its log and /readyz show whether the "
        "configuration was applied\n"
    )
    return 0


def _postReload(arguments: argparse.Namespace, token: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        arguments.admin.rstrip("/") + "/reload",
        method="POST",
        headers={"Authorization": "Bearer " + token.decode("latin-1")},
    )
    try:
        with urllib.request.urlopen(request, timeout=arguments.timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        if e.code != 422:
            raise
        return e.code, json.load(e)


def _reload(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if arguments.pidfile is not None:
        return _signalReload(arguments.pidfile, out, err)
    try:
        with open(arguments.token_file, "rb") as f:
            token = f.read().strip()
    except OSError as e:
        err.write(f"cannot read the admin token file {arguments.token_file}: {e.strerror}\n")
        return 2
    try:
        status, result = _postReload(arguments, token)
    except OSError as e:
        # urllib's errors (refused, timed out, HTTP 401) are OSErrors too.
        err.write(f"reload through {arguments.admin} failed: {e}\n")
        return 2
    if status == 200:
        out.write(f"reloaded: generation {result['generation']} is serving\n")
        return 0
    err.write(f"reload rejected; generation {result['generation']} is still serving:\n")
    for error in result["errors"]:
        location = f"{error['file']}: {error['key']}" if error["key"] else error["file"]
        err.write(f"  {location}: {error['reason']}\n")
    return 1


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
    show = commands.add_parser(
        "show", help="print every protocol's response for an email address"
    )
    show.add_argument("address", metavar="EMAIL", help="the email address to look up")
    show.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        metavar="CONFIG_DIR",
        help=f"configuration directory of *.toml files (default: {DEFAULT_CONFIG})",
    )
    show.set_defaults(run=_show)

    reload = commands.add_parser(
        "reload",
        help="make a running server reload its configuration and print the result",
        description="Ask a running server to reload its configuration through its "
        "admin listener and print the result. With --pidfile, send SIGHUP instead; "
        "the result then shows only in the server's log and on /readyz.",
    )
    reload.add_argument(
        "--admin",
        default=DEFAULT_ADMIN_URL,
        metavar="URL",
        help=f"base URL of the admin listener (default: {DEFAULT_ADMIN_URL})",
    )
    reload.add_argument(
        "--token-file",
        default=DEFAULT_TOKEN_FILE,
        metavar="FILE",
        help=f"the server's admin token file (default: {DEFAULT_TOKEN_FILE})",
    )
    reload.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the reload to end (default: 60)",
    )
    reload.add_argument(
        "--pidfile", metavar="FILE", help="send SIGHUP to the process id in this file"
    )
    reload.set_defaults(run=_reload)
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
    try:
        status: int = arguments.run(arguments, out, err)
    except BrokenPipeError:
        # The reader went away (as with "mailfront dns DIR | head"); the
        # output it wanted was written. Point stdout at /dev/null so the
        # interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
