"""
Writing key and certificate files so that a reader never sees half a file
and a private key is never readable by others, not even for a moment.
"""

from __future__ import annotations

import os

__all__ = ["writeFile", "makePrivateDirectory"]


def writeFile(path: str, data: bytes, mode: int) -> None:
    """
    Replace C{path} atomically with C{data}.

    The data goes to a temporary file created with C{mode}, is flushed to
    disk, and is renamed over C{path}.

    @param mode: Permission bits of the new file, such as C{0o600} for a key.
    """
    temporary = path + ".new"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(temporary)
        raise
    os.replace(temporary, path)


def makePrivateDirectory(path: str) -> None:
    """
    Create C{path} and its parents readable by the owner only, and tighten
    an existing C{path} to mode C{0o700}.
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
