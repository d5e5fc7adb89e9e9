"""
Reading a configuration directory into a registry.
"""

from __future__ import annotations

import os

from .errors import ConfigError, InvalidConfiguration
from .model import Registry
from .parse import ConfigDocument, buildRegistry, parseText

__all__ = ["loadDirectory", "configFiles"]


def configFiles(directory: str) -> list[str]:
    """
    List the configuration files of a directory, sorted by name.

    Every C{*.toml} file directly inside C{directory} is read; other files,
    hidden files (editor backups such as C{.foo.toml.swp}) and
    subdirectories are ignored.

    @raise InvalidConfiguration: If the directory cannot be read.
    """
    try:
        names = os.listdir(directory)
    except OSError as e:
        raise InvalidConfiguration(
            [ConfigError(directory, "", f"cannot read the configuration directory: {e.strerror}")]
        ) from None
    return sorted(
        os.path.join(directory, name)
        for name in names
        if name.endswith(".toml") and not name.startswith(".")
    )


def loadDirectory(directory: str) -> Registry:
    """
    Read, validate and resolve every configuration file of a directory.

    @param directory: The configuration directory.
    @return: The registry.
    @raise InvalidConfiguration: With every problem found, if there is any;
        nothing is partly loaded.
    """
    documents: list[ConfigDocument] = []
    paths = configFiles(directory)
    if not paths:
        raise InvalidConfiguration(
            [ConfigError(directory, "", "no *.toml files found; see docs/configuration.md")]
        )
    for path in paths:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            documents.append(
                ConfigDocument(path, (), (), (ConfigError(path, "", f"cannot read: {e.strerror}"),))
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            error = ConfigError(path, "", f"not valid UTF-8 at byte {e.start}; save it as UTF-8")
            documents.append(ConfigDocument(path, (), (), (error,)))
            continue
        documents.append(parseText(path, text))
    return buildRegistry(documents)
