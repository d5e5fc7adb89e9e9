"""
Errors of configuration files, each naming the file, the key and the reason.
"""

from __future__ import annotations

from typing import Iterable

import attrs

__all__ = ["ConfigError", "InvalidConfiguration"]


@attrs.frozen
class ConfigError:
    """
    One problem in a configuration file.

    @ivar path: The file, as given to the loader.
    @ivar key: Dotted key path inside the file, such as
        C{providers.hosting.incoming[0].port}; empty for file-level problems.
    @ivar reason: What is wrong and, where possible, what to write instead.
    """

    path: str
    key: str
    reason: str

    def __str__(self) -> str:
        if self.key:
            return f"{self.path}: {self.key}: {self.reason}"
        return f"{self.path}: {self.reason}"


class InvalidConfiguration(Exception):
    """
    A configuration that was rejected as a whole.

    @ivar errors: Every problem found, in file order.
    """

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = tuple(errors)
        super().__init__(self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        noun = "problem" if count == 1 else "problems"
        lines = [f"invalid configuration ({count} {noun}):"]
        lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)
