"""
Conversion of Autoconfig files (C{config-v1.1.xml}) into registry files.

This is the logic of C{mailfront import-autoconfig}: L{reader} turns one XML
file into registry records, L{output} names the providers, checks the result
with the registry's parser and writes the files.
"""

from .diagnostics import Diagnostic, ImportFailed
from .output import PlannedFile, importFiles, planImport, writeFiles
from .reader import ImportedFile, readAutoconfig

__all__ = [
    "Diagnostic",
    "ImportFailed",
    "ImportedFile",
    "PlannedFile",
    "importFiles",
    "planImport",
    "readAutoconfig",
    "writeFiles",
]
