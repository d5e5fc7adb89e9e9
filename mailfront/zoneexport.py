"""
The C{mailfront dns} command: the registry's DNS records as zone-file text.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable, TextIO

from .registry import InvalidConfiguration, InvalidName, loadDirectory, normalizeDomain
from .render.dnszones import DnsData, ZoneSettingsMissing, prepareDnsData
from .render.zonefile import rdataText, recordLines, zoneText

__all__ = ["addCommand"]


def addCommand(
    commands: argparse._SubParsersAction, clock: Callable[[], float] = time.time
) -> None:  # type: ignore[type-arg]
    """
    Add the C{dns} subcommand to the C{mailfront} parser.

    @param clock: Returns the Unix time, the default SOA serial.
    """
    command = commands.add_parser(
        "dns",
        help="print the DNS records of the registry as zone-file lines or complete zones",
        description="Print the records of each domain as zone-file lines to add to its "
        "existing zone, or complete zone files with SOA and NS records from the "
        "[dns] table.",
    )
    command.add_argument("config_dir", metavar="CONFIG_DIR", help="directory of *.toml files")
    command.add_argument(
        "domains", metavar="DOMAIN", nargs="*", help="domains to print (default: every domain)"
    )
    output = command.add_mutually_exclusive_group()
    output.add_argument(
        "--zone",
        action="store_true",
        help="print complete zone files, as the zone-layout of the [dns] table cuts them",
    )
    output.add_argument(
        "--output-dir",
        metavar="DIR",
        help="write each complete zone to DIR/ZONE.zone instead of printing it",
    )
    output.add_argument(
        "--delegation",
        action="store_true",
        help="print what each domain's own zone needs when mailfront serves the "
        "subdomains layout: NS records for each delegated zone, and the CNAMEs",
    )
    command.add_argument(
        "--serial",
        type=int,
        metavar="N",
        help="SOA serial of complete zones (default: the current Unix time)",
    )
    command.set_defaults(run=lambda arguments, out, err: _run(arguments, out, err, clock))


def _selectDomains(data: DnsData, names: list[str], err: TextIO) -> list[str] | None:
    if not names:
        return sorted(data.templates)
    selected = []
    for name in names:
        try:
            domain = normalizeDomain(name)
        except InvalidName as e:
            err.write(f"{name}: {e}\n")
            return None
        if domain not in data.templates:
            err.write(f"{name}: not a domain of the registry\n")
            return None
        selected.append(domain)
    return selected


def _run(
    arguments: argparse.Namespace, out: TextIO, err: TextIO, clock: Callable[[], float]
) -> int:
    try:
        registry = loadDirectory(arguments.config_dir)
    except InvalidConfiguration as e:
        err.write(f"{e}\n")
        return 1
    data = prepareDnsData(registry)
    domains = _selectDomains(data, arguments.domains, err)
    if domains is None:
        return 1

    if arguments.zone or arguments.output_dir:
        serial = arguments.serial if arguments.serial is not None else int(clock())
        if not 0 <= serial < 2**32:
            err.write(f"--serial: {serial} is not from 0 to 4294967295\n")
            return 1
        return _zones(data, domains, serial, arguments.output_dir, out, err)
    if arguments.delegation:
        for domain in domains:
            _section(out, f"; In the zone of {domain}:", data.parentRecords(domain))
        return 0
    for domain in domains:
        _section(out, f"; {domain}", data.records(domain))
    return 0


def _section(out: TextIO, heading: str, records: tuple) -> None:  # type: ignore[type-arg]
    out.write(heading + "\n")
    for line in recordLines(records):
        out.write(line + "\n")
    out.write("\n")


def _zones(
    data: DnsData, domains: list[str], serial: int, directory: str | None, out: TextIO, err: TextIO
) -> int:
    problems = data.addresslessTargets(domains)
    if problems:
        for record, origin in problems:
            err.write(
                f"{record.owner} {record.type} {rdataText(record.data)}: the target lies in the "
                f"zone {origin}, which has no address records for it; name mail hosts outside "
                "the domains mailfront serves as whole zones\n"
            )
        return 1
    try:
        zones = [zone for domain in domains for zone in data.zones(domain, serial)]
    except ZoneSettingsMissing as e:
        err.write(f"{e}\n")
        return 1
    if directory is None:
        out.write("\n".join(zoneText(zone) for zone in zones))
        return 0
    os.makedirs(directory, exist_ok=True)
    for zone in zones:
        path = os.path.join(directory, zone.origin + "zone")
        with open(path, "w", encoding="ascii") as f:
            f.write(zoneText(zone))
        out.write(path + "\n")
    return 0
