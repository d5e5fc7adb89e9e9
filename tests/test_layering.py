"""
The layering of the package: the registry and the renderers know nothing of
the network.
"""

from __future__ import annotations

import ast
import os

from twisted.trial.unittest import SynchronousTestCase

import mailfront

_PACKAGE = os.path.dirname(os.path.abspath(mailfront.__file__))

#: Packages that must not import Twisted, and what else they must not import.
_RULES = {
    "registry": ("twisted", "lxml", "mailfront.web", "mailfront.render"),
    "render": ("twisted", "mailfront.web"),
}


def _imports(path: str) -> set[str]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = os.path.relpath(os.path.dirname(path), os.path.dirname(_PACKAGE))
                parts = package.split(os.sep)
                base = ".".join(parts[: len(parts) - node.level + 1])
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


class LayeringTests(SynchronousTestCase):
    """
    C{mailfront.registry} and C{mailfront.render} import neither Twisted nor
    the adapters, so every protocol renders from plain records.
    """

    def test_forbiddenImports(self) -> None:
        """
        No module of a layer imports what its rule forbids.
        """
        checked = 0
        for layer, forbidden in _RULES.items():
            directory = os.path.join(_PACKAGE, layer)
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                checked += 1
                for imported in _imports(path):
                    for prefix in forbidden:
                        self.assertFalse(
                            imported == prefix or imported.startswith(prefix + "."),
                            f"{layer}/{name} imports {imported}",
                        )
        self.assertGreater(checked, 4)

    def test_relativeImportsResolved(self) -> None:
        """
        The import reader resolves relative imports, so the rule also covers
        C{from ..web import x}.
        """
        path = os.path.join(_PACKAGE, "render", "autoconfig.py")
        self.assertIn("mailfront.registry.model", _imports(path))
