"""
Tests for L{mailfront.logs}: JSON lines output.
"""

from __future__ import annotations

import io
import json
import re
import sys

from twisted.internet.task import Clock
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mailfront.logs import eventAsJSONLine, jsonLinesObserver, jsonLogObserver
from mailfront.registry import loadDirectory
from mailfront.service import buildSite
from mailfront.show import requestInMemory
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .logcapture import captureEvents
from .running import EXAMPLE_CONFIG

#: Fields of the access event of an Autoconfig request for fred@example.com
#: from 127.0.0.1.
ACCESS_FIELDS = {
    "method": "GET",
    "path": "/mail/config-v1.1.xml",
    "status": 200,
    "protocol": "autoconfig",
    "domain": "example.com",
    "client": "127.0.0.1",
}


class Opaque:
    """
    An object whose repr must not reach the JSON output.
    """

    def __repr__(self) -> str:
        return "<Opaque holding private data>"


class JSONLineTests(SynchronousTestCase):
    """
    Each event becomes one line of JSON with its scalar fields.
    """

    def emit(self, level: LogLevel, format: str, **fields: object) -> dict[str, object]:
        output = io.StringIO()
        log = Logger(namespace="mailfront.test", observer=jsonLinesObserver(output))
        log.emit(level, format, **fields)
        lines = output.getvalue().split("\n")
        self.assertEqual(lines[1:], [""])
        record: dict[str, object] = json.loads(lines[0])
        return record

    def test_fields(self) -> None:
        """
        The line carries time, level, namespace, the formatted message and
        the event's string, number, boolean and null fields.
        """
        record = self.emit(
            LogLevel.warn,
            "Reload {what} took {seconds} s",
            what="one",
            seconds=1.5,
            count=3,
            flag=True,
            nothing=None,
        )

        self.assertRegex(str(record["time"]), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(record["level"], "warn")
        self.assertEqual(record["namespace"], "mailfront.test")
        self.assertEqual(record["message"], "Reload one took 1.5 s")
        self.assertEqual(
            (record["what"], record["seconds"], record["count"], record["flag"], record["nothing"]),
            ("one", 1.5, 3, True, None),
        )

    def test_objectsLeftOut(self) -> None:
        """
        Fields holding other objects are left out; only what the format
        string made of them appears, in the message.
        """
        record = self.emit(LogLevel.info, "done", request=Opaque())

        self.assertNotIn("request", record)
        self.assertNotIn("private data", json.dumps(record))

    def test_traceback(self) -> None:
        """
        An event with a failure carries its traceback.
        """
        try:
            raise ValueError("broken value")
        except ValueError:
            failure = Failure()

        record = self.emit(LogLevel.critical, "failed", log_failure=failure)

        self.assertIn("ValueError: broken value", str(record["traceback"]))

    def test_timeInUTC(self) -> None:
        """
        The time is the event's time in UTC with milliseconds.
        """
        line = eventAsJSONLine({"log_time": 1_800_000_000.25, "log_format": "x"})

        self.assertEqual(json.loads(line)["time"], "2027-01-15T08:00:00.250Z")

    def test_accessEvent(self) -> None:
        """
        The access event of a request becomes a line with method, path,
        status, protocol, domain, client and duration as their own keys.
        """
        holder = SnapshotHolder(buildSnapshot(loadDirectory(EXAMPLE_CONFIG), 1))
        site = buildSite(holder, Clock())
        events = captureEvents(self)

        requestInMemory(site, b"GET", b"/mail/config-v1.1.xml?emailaddress=fred%40example.com")

        access = [e for e in events if e.get("log_namespace") == "mailfront.access"]
        record = json.loads(eventAsJSONLine(access[0]))
        self.assertEqual({k: record[k] for k in ACCESS_FIELDS}, ACCESS_FIELDS)
        self.assertEqual(record["duration"], 0.0)
        self.assertEqual(record["namespace"], "mailfront.access")
        self.assertTrue(
            re.fullmatch(
                r"GET /mail/config-v1\.1\.xml 200 protocol=autoconfig domain=example\.com "
                r"client=127\.0\.0\.1 duration=0\.000000",
                str(record["message"]),
            ),
            record["message"],
        )

    def test_standardOutputFactory(self) -> None:
        """
        The factory for twistd's C{--logger} writes to standard output.
        """
        output = io.StringIO()
        self.patch(sys, "stdout", output)

        observer = jsonLogObserver()
        observer({"log_format": "hello", "log_time": 0.0, "log_level": LogLevel.info})

        self.assertEqual(json.loads(output.getvalue())["message"], "hello")
