"""``mixai-data``: one entry point for the training material.

    mixai-data corpus catalogue|excerpts|table ...   the recorded-music corpus (mixai.training.corpus)
    mixai-data render --out data/corpus ...          General-MIDI renderings (mixai.training.corpus.rendered)

For scripts written before the sub-commands, ``mixai-data --out ...`` still means ``render``.
"""

from __future__ import annotations

import sys

COMMANDS = {"corpus": "mixai.training.corpus.__main__", "render": "mixai.training.corpus.rendered"}


def main(argv: list[str] | None = None) -> int:
    import importlib

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    command = args.pop(0) if args and args[0] in COMMANDS else "render"
    return importlib.import_module(COMMANDS[command]).main(args)


if __name__ == "__main__":
    sys.exit(main())
