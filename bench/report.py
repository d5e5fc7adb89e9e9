"""
Collecting results and printing them as Markdown tables with ratios.
"""

from __future__ import annotations

import json
from typing import Optional, TextIO

import attrs

from .wrk import LoadResult

__all__ = ["Measurement", "Report"]

MAILFRONT = "mailfront"
CEILING = "ceiling"
PEER = "automx2"


@attrs.frozen
class Measurement:
    """
    One load run against one server.

    @ivar target: C{mailfront}, C{ceiling}, C{automx2}, or a variant such as
        C{mailfront, 2 workers}.
    """

    section: str
    scenario: str
    target: str
    result: LoadResult


@attrs.define
class Report:
    """
    Everything one benchmark run found, in the order it was found.

    @ivar notes: Lines printed under the tables: skipped parts and why,
        failures, the state of each target.
    @ivar failed: Whether a check failed (a wrong or non-2xx response from
        mailfront or the ceiling, or a harness error).
    """

    out: TextIO
    measurements: list[Measurement] = attrs.field(factory=list)
    tables: dict[str, list[dict[str, object]]] = attrs.field(factory=dict)
    notes: list[str] = attrs.field(factory=list)
    failed: bool = False

    def note(self, text: str) -> None:
        """
        Print a note now and keep it for the summary.
        """
        self.notes.append(text)
        self.out.write(f"# {text}\n")
        self.out.flush()

    def fail(self, text: str) -> None:
        """
        Record a failed check.
        """
        self.failed = True
        self.note(f"FAILED: {text}")

    def add(self, measurement: Measurement) -> None:
        """
        Record a load run and print it as a progress line.
        """
        self.measurements.append(measurement)
        result = measurement.result
        self.out.write(
            f"  {measurement.scenario:<20} {measurement.target:<24} c={result.connections:<4}"
            f" {result.requestsPerSecond:9.0f} req/s  p50 {result.p50Milliseconds:7.2f} ms"
            f"  p99 {result.p99Milliseconds:7.2f} ms  failures {result.failures}\n"
        )
        self.out.flush()

    def addRow(self, table: str, row: dict[str, object]) -> None:
        """
        Add a row to a free-form table (DNS, scale), printed as it is.
        """
        self.tables.setdefault(table, []).append(row)
        self.out.write(f"  {table}: {row}\n")
        self.out.flush()

    def find(self, scenario: str, target: str, connections: int) -> Optional[LoadResult]:
        """
        Find the result of one scenario, target and connection count.
        """
        for measurement in self.measurements:
            result = measurement.result
            if (
                measurement.scenario == scenario
                and measurement.target == target
                and result.connections == connections
            ):
                return result
        return None

    def _ratio(self, value: LoadResult, scenario: str, target: str) -> str:
        other = self.find(scenario, target, value.connections)
        if other is None or other.requestsPerSecond == 0:
            return "–"
        return f"{value.requestsPerSecond / other.requestsPerSecond:.2f}"

    def httpTable(self) -> str:
        """
        Format the HTTP load runs with each result's ratio to the ceiling and
        to the peer on the same scenario and connection count.
        """
        lines = [
            "| Scenario | Server | Connections | Requests/s | p50 ms | p99 ms | Failed |"
            " × ceiling | × automx2 |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for m in self.measurements:
            r = m.result
            lines.append(
                f"| {m.scenario} | {m.target} | {r.connections} | {r.requestsPerSecond:,.0f} |"
                f" {r.p50Milliseconds:.2f} | {r.p99Milliseconds:.2f} | {r.failures} |"
                f" {self._ratio(r, m.scenario, CEILING)} | {self._ratio(r, m.scenario, PEER)} |"
            )
        return "\n".join(lines)

    def write(self) -> None:
        """
        Print every table and note.
        """
        self.out.write("\n## HTTP\n\n" + self.httpTable() + "\n")
        for name, rows in self.tables.items():
            self.out.write(f"\n## {name}\n\n")
            columns = list(rows[0])
            self.out.write("| " + " | ".join(columns) + " |\n")
            self.out.write("|" + " --- |" * len(columns) + "\n")
            for row in rows:
                self.out.write("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |\n")
        if self.notes:
            self.out.write("\n## Notes\n\n")
            for text in self.notes:
                self.out.write(f"- {text}\n")
        self.out.flush()

    def toJSON(self) -> dict[str, object]:
        """
        Convert every result to a JSON-ready mapping.
        """
        return {
            "http": [
                {
                    "section": m.section,
                    "scenario": m.scenario,
                    "target": m.target,
                    **m.result.toJSON(),
                }
                for m in self.measurements
            ],
            "tables": self.tables,
            "notes": self.notes,
            "failed": self.failed,
        }

    def save(self, path: str) -> None:
        """
        Write L{toJSON} to C{path}.
        """
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.toJSON(), f, indent=2)
            f.write("\n")
