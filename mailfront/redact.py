"""
Removal of personal data from text that goes into logs.

Plain Python with no Twisted import, so every layer can use it.
"""

from __future__ import annotations

import re

__all__ = ["redactAddresses"]

# The local part of an address, up to an "@" or its percent-encoded form
# "%40". It stops at characters that delimit paths, query parameters, quotes
# and words, so only the address itself is replaced.
_LOCAL_PART = re.compile(r"""[^\s/?&=@'"<>,;:()\[\]]+(@|%40)""")


def redactAddresses(text: str) -> str:
    """
    Replace the local part of every email address in C{text} with C{*}.

    C{/v1.0/fred@example.com} becomes C{/v1.0/*@example.com}, so a log keeps
    the domain but never a whole address. Percent-encoded addresses
    (C{fred%40example.com}) are redacted too.

    @param text: Any text, such as a request path or an error message.
    @return: C{text} with local parts replaced, or C{text} itself when it
        contains no C{@} and no C{%40}.
    """
    if "@" not in text and "%40" not in text:
        return text
    return _LOCAL_PART.sub(r"*\1", text)
