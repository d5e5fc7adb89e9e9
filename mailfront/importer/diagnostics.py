"""
Messages of the importer: what it changed, dropped or could not convert.
"""

from __future__ import annotations

from typing import Iterable, Optional

import attrs

__all__ = ["Diagnostic", "ImportFailed"]


@attrs.frozen
class Diagnostic:
    """
    One problem or change, located in a source file.

    @ivar path: The file, as given on the command line.
    @ivar line: The line of the element concerned, when known.
    @ivar element: XPath of the element concerned, such as
        C{/clientConfig/emailProvider/incomingServer[2]/port}; empty for
        problems of the whole file.
    @ivar message: What is wrong or what the importer did about it.
    """

    path: str
    line: Optional[int]
    element: str
    message: str

    def __str__(self) -> str:
        location = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.element:
            return f"{location}: {self.element}: {self.message}"
        return f"{location}: {self.message}"


class ImportFailed(Exception):
    """
    An import that was rejected as a whole; nothing was written.

    @ivar errors: Every problem found, in file order.
    """

    def __init__(self, errors: Iterable[Diagnostic]) -> None:
        self.errors = tuple(errors)
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)
