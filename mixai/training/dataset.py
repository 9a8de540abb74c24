"""Moved to :mod:`mixai.training.master.dataset`; this old path is kept for existing scripts and imports.

Deprecated: import :mod:`mixai.training.master.dataset` instead.
"""

import sys

from mixai.training.master import dataset as moved

if __name__ == "__main__":
    sys.exit(moved.main())
sys.modules[__name__] = moved
