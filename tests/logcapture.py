"""
Collecting log events in tests.
"""

from __future__ import annotations

from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

__all__ = ["captureEvents"]


@implementer(ILogObserver)
class EventList(list[LogEvent]):
    """
    A list of events that is also a log observer.
    """

    def __call__(self, event: LogEvent) -> None:
        self.append(event)


def captureEvents(testCase: SynchronousTestCase) -> list[LogEvent]:
    """
    Collect every log event published until the test ends.
    """
    events = EventList()
    globalLogPublisher.addObserver(events)
    testCase.addCleanup(globalLogPublisher.removeObserver, events)
    return events
