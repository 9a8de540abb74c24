"""Old import paths: the modules that moved when mixai grew folders (see docs/architecture.md).

Each old module (``mixai.pipeline``, ``mixai.audio``...) is now a thin shim that re-exports the
names from their new home and calls :func:`moved` once, on first import, which issues a
:class:`DeprecationWarning` pointing at the importing line. New code imports the new paths.
"""

from __future__ import annotations

import warnings


def moved(old: str, new: str) -> None:
    """Warn that module ``old`` moved to ``new`` (called from the old module's top level)."""
    warnings.warn(f"{old} is deprecated: import from {new} instead", DeprecationWarning, stacklevel=3)


__all__ = ["moved"]
