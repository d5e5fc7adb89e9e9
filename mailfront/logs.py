"""
JSON lines output for C{twisted.logger} events.

twistd writes text by default. Start it with
C{twistd --logger mailfront.logs.jsonLogObserver ...} to get one JSON object
per line on standard output instead, for journald, Loki or Elasticsearch.
A C{.tac} file can install L{jsonLinesObserver} on any file.

Each line contains C{time} (UTC, ISO 8601 with milliseconds), C{level},
C{namespace}, C{system}, C{message} (the formatted text), C{traceback} for
events that carry a failure, and every field of the event whose value is a
string, number, boolean or C{None}. Other values (objects such as requests or
protocols) are left out, because their C{repr} can hold data that must not be
logged; what the format string made of them is in C{message}.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

from twisted.logger import FileLogObserver, LogEvent, formatEvent
from twisted.python.failure import Failure

__all__ = ["eventAsJSONLine", "jsonLinesObserver", "jsonLogObserver"]

_SCALARS = (str, int, float, bool, type(None))


class _SecondCache:
    """
    The formatted form of the last whole second seen, because formatting a
    time costs more than the rest of a log line.
    """

    second = -1
    prefix = ""


def _isoTime(timestamp: float) -> str:
    second = int(timestamp)
    if second != _SecondCache.second:
        _SecondCache.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _SecondCache.second = second
    milliseconds = int((timestamp - second) * 1000)
    return "%s.%03dZ" % (_SecondCache.prefix, milliseconds)


def eventAsJSONLine(event: LogEvent) -> str:
    """
    Serialize one event as a line of JSON.

    @param event: A C{twisted.logger} event.
    @return: The JSON text followed by a newline.
    """
    record: dict[str, Any] = {}
    for key, value in event.items():
        if not key.startswith("log_") and isinstance(value, _SCALARS):
            record[key] = value

    level = event.get("log_level")
    record["time"] = _isoTime(event.get("log_time") or 0.0)
    record["level"] = None if level is None else level.name
    record["namespace"] = event.get("log_namespace")
    record["system"] = event.get("log_system")
    record["message"] = formatEvent(event)
    failure = event.get("log_failure")
    if isinstance(failure, Failure):
        record["traceback"] = failure.getTraceback()
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


def jsonLinesObserver(outFile: IO[Any]) -> FileLogObserver:
    """
    Build an observer that writes every event to C{outFile} with
    L{eventAsJSONLine}.
    """
    return FileLogObserver(outFile, eventAsJSONLine)


def jsonLogObserver() -> FileLogObserver:
    """
    Build a JSON lines observer on standard output, as twistd's C{--logger}
    option expects: a callable without arguments.
    """
    return jsonLinesObserver(sys.stdout)
