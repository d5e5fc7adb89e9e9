"""
Turning converted Autoconfig files into registry files on disk.

L{importFiles} reads every input, converts it, names each provider, checks
the result with the registry's own parser, and only then writes the files.
Either every file is written or none is.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from typing import Iterable, Sequence

import attrs

from ..registry.emit import formatProviderFile
from ..registry.errors import InvalidConfiguration
from ..registry.parse import buildRegistry, parseText
from .diagnostics import Diagnostic, ImportFailed
from .reader import ImportedFile, providerID, readAutoconfig

__all__ = ["PlannedFile", "importFiles", "planImport", "writeFiles"]


@attrs.frozen
class PlannedFile:
    """
    A registry file about to be written.

    @ivar source: The Autoconfig file it comes from.
    @ivar target: Where it goes.
    @ivar imported: The converted content, with the final provider id.
    @ivar text: The TOML text.
    """

    source: str
    target: str
    imported: ImportedFile
    text: str


def _readAll(paths: Sequence[str]) -> list[ImportedFile]:
    errors: list[Diagnostic] = []
    imported: list[ImportedFile] = []
    seen: set[str] = set()
    for path in paths:
        real = os.path.realpath(path)
        if real in seen:
            errors.append(Diagnostic(path, None, "", "given more than once"))
            continue
        seen.add(real)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            errors.append(Diagnostic(path, None, "", f"cannot read: {e.strerror}"))
            continue
        try:
            imported.append(readAutoconfig(path, data))
        except ImportFailed as e:
            errors.extend(e.errors)
    if errors:
        raise ImportFailed(errors)
    return imported


def _withWarning(imported: ImportedFile, newID: str, message: str) -> ImportedFile:
    warning = Diagnostic(imported.path, None, "", message)
    return attrs.evolve(
        imported,
        provider=attrs.evolve(imported.provider, id=newID),
        warnings=imported.warnings + (warning,),
    )


def _assignIDs(files: list[ImportedFile]) -> list[ImportedFile]:
    """
    Give each provider a unique id.

    When several files name the same C{emailProvider id} (the regional
    files of one company often do), the file that lists that id among its
    own domains keeps it, and each other one is named after its first domain.
    """
    byID: dict[str, list[int]] = defaultdict(list)
    for index, imported in enumerate(files):
        byID[imported.provider.id].append(index)
    result = list(files)
    for name, indexes in byID.items():
        if len(indexes) == 1:
            continue
        owners = [i for i in indexes if name in files[i].domains]
        keeper = owners[0] if len(owners) == 1 else None
        for index in indexes:
            if index == keeper:
                continue
            imported = files[index]
            others = ", ".join(files[i].path for i in indexes if i != index)
            newID = providerID(imported.domains[0])
            result[index] = _withWarning(
                imported,
                newID,
                f"provider id {name!r} is also used by {others}; this provider is "
                f"named {newID!r} after its first domain",
            )

    errors = []
    seen: dict[str, str] = {}
    for imported in result:
        previous = seen.setdefault(imported.provider.id, imported.path)
        if previous != imported.path:
            errors.append(
                Diagnostic(
                    imported.path,
                    None,
                    "",
                    f"provider id {imported.provider.id!r} is also used by {previous}; "
                    "change the emailProvider id of one of them",
                )
            )
    if errors:
        raise ImportFailed(errors)
    return result


def _checkDomains(files: Iterable[ImportedFile]) -> None:
    errors = []
    owners: dict[str, str] = {}
    for imported in files:
        for name in imported.domains:
            owner = owners.setdefault(name, imported.path)
            if owner != imported.path:
                errors.append(
                    Diagnostic(
                        imported.path,
                        None,
                        "",
                        f"domain {name} is also listed by {owner}; a domain has exactly "
                        "one provider, so remove it from one of the files",
                    )
                )
    if errors:
        raise ImportFailed(errors)


def _header(imported: ImportedFile) -> list[str]:
    lines = [f"Imported from {os.path.basename(imported.path)} by mailfront import-autoconfig."]
    if imported.warnings:
        lines.append("Changes made on import:")
        lines.extend(
            f"  {warning.element or 'file'}: {warning.message}" for warning in imported.warnings
        )
    if imported.comments:
        lines.append("Comments of the source file, in order:")
        for comment in imported.comments:
            lines.extend(f"  {line.strip()}" for line in comment.splitlines() if line.strip())
    return lines


def _validate(planned: Sequence[PlannedFile]) -> None:
    """
    Read the planned files back with the registry's parser.

    This applies every rule of hand-written configuration to the import, so
    what is written always passes C{mailfront check}.
    """
    documents = [parseText(plan.target, plan.text) for plan in planned]
    sources = {plan.target: plan.source for plan in planned}
    try:
        buildRegistry(documents)
    except InvalidConfiguration as e:
        raise ImportFailed(
            Diagnostic(
                sources.get(error.path, error.path),
                None,
                "",
                f"the converted settings are invalid: {error.key}: {error.reason}"
                if error.key
                else f"the converted settings are invalid: {error.reason}",
            )
            for error in e.errors
        ) from None


def planImport(paths: Sequence[str], outputDirectory: str) -> list[PlannedFile]:
    """
    Read, convert and check Autoconfig files without writing anything.

    @param paths: The Autoconfig files.
    @param outputDirectory: The directory the registry files are meant for;
        each is named after its provider, C{<provider id>.toml}.
    @return: The files to write, in the order of C{paths}.
    @raise ImportFailed: With every problem found.
    """
    files = _assignIDs(_readAll(paths))
    _checkDomains(files)
    planned = [
        PlannedFile(
            source=imported.path,
            target=os.path.join(outputDirectory, f"{imported.provider.id}.toml"),
            imported=imported,
            text=formatProviderFile(imported.provider, imported.domains, _header(imported)),
        )
        for imported in files
    ]
    _validate(planned)
    existing = [plan for plan in planned if os.path.lexists(plan.target)]
    if existing:
        raise ImportFailed(
            Diagnostic(
                plan.source,
                None,
                "",
                f"{plan.target} already exists; refusing to overwrite it "
                "(move it away or choose another --output directory)",
            )
            for plan in existing
        )
    return planned


def _link(source: str, target: str) -> None:
    os.link(source, target)


def _writeNew(target: str, text: str) -> None:
    """
    Write a file that must not exist yet, so that it never appears half-written.

    The text goes to a hidden temporary file in the same directory, which the
    loader skips. That file is then hard-linked to the target name, and the
    link fails if the name was taken in the meantime.
    """
    directory, name = os.path.split(target)
    descriptor, temporary = tempfile.mkstemp(dir=directory or ".", prefix=f".{name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        _link(temporary, target)
    finally:
        os.unlink(temporary)


def writeFiles(planned: Sequence[PlannedFile], outputDirectory: str) -> None:
    """
    Write planned files, all or none.

    @param outputDirectory: Created, with its parents, if missing.
    @raise ImportFailed: If a file cannot be written; the files written
        before it are removed again.
    """
    written: list[str] = []
    try:
        os.makedirs(outputDirectory, exist_ok=True)
        for plan in planned:
            _writeNew(plan.target, plan.text)
            written.append(plan.target)
    except OSError as e:
        for path in written:
            os.unlink(path)
        # os.link reports the name it could not create as its second file name.
        where = e.filename2 or e.filename or outputDirectory
        reason = "already exists" if isinstance(e, FileExistsError) else e.strerror
        raise ImportFailed(
            [Diagnostic(str(where), None, "", f"cannot write: {reason}; nothing was written")]
        ) from None


def importFiles(paths: Sequence[str], outputDirectory: str) -> list[PlannedFile]:
    """
    Convert Autoconfig files into registry files in a directory.

    @param paths: The Autoconfig files.
    @param outputDirectory: Where the C{.toml} files go.
    @return: What was written, with the warnings of each file.
    @raise ImportFailed: With every problem found; then nothing was written.
    """
    planned = planImport(paths, outputDirectory)
    writeFiles(planned, outputDirectory)
    return planned
