"""``python -m mixai`` is the ``mixai`` command."""

import sys

from mixai.cli import main

sys.exit(main())
