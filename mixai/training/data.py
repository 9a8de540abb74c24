"""Moved to :mod:`mixai.training.corpus.rendered`; this old path is kept for existing scripts and imports.

Deprecated: import :mod:`mixai.training.corpus.rendered` instead.
"""

import sys

from mixai.training.corpus import rendered as moved

if __name__ == "__main__":
    sys.exit(moved.main())
sys.modules[__name__] = moved
