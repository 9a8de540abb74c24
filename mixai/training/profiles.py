"""Moved to :mod:`mixai.training.master.profiles`; this old path is kept for existing scripts and imports.

Deprecated: import :mod:`mixai.training.master.profiles` instead.
"""

import sys

from mixai.training.master import profiles as moved

if __name__ == "__main__":
    sys.exit(moved.main())
sys.modules[__name__] = moved
