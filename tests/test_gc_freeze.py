"""
L{freezeLoadedObjects}: the loaded registry leaves the garbage collector's
view.
"""

from __future__ import annotations

import gc

from twisted.trial.unittest import SynchronousTestCase

from mailfront.service import freezeLoadedObjects


class FreezeLoadedObjectsTests(SynchronousTestCase):
    """
    L{freezeLoadedObjects} moves existing objects to the permanent
    generation, so full collections no longer scan them.
    """

    def test_objectsFrozen(self) -> None:
        """
        After the call, the objects that existed are frozen, and an object
        made before it is among them.
        """
        self.addCleanup(gc.unfreeze)
        made = [object() for _ in range(1000)]
        freezeLoadedObjects()
        self.assertGreaterEqual(gc.get_freeze_count(), len(made))
        self.assertFalse(any(obj is made for obj in gc.get_objects()))
