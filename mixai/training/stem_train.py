"""Moved to :mod:`mixai.training.stems.train`; this old path is kept for existing scripts and imports.

Deprecated: import :mod:`mixai.training.stems.train` instead.
"""

import sys

from mixai.training.stems import train as moved

if __name__ == "__main__":
    sys.exit(moved.main())
sys.modules[__name__] = moved
