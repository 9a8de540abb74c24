"""``python -m mixai.training.corpus`` (also ``mixai-data corpus``): the recorded-music corpus.

    python -m mixai.training.corpus catalogue                 # measure tracks, write recorded.json
    python -m mixai.training.corpus excerpts --out data/recorded
    python -m mixai.training.corpus table                     # the split table (Markdown)
    python -m mixai.training.corpus stems --out data/stems/recorded   # real band stems, in windows
"""

from __future__ import annotations

import argparse
import sys

from mixai.training.corpus.catalogue import (MANIFEST_PATH, CatalogueError, build_manifest, load_manifest,
                                             split_table, write_manifest)
from mixai.training.corpus.excerpts import ExcerptConfig, build_excerpts
from mixai.training.corpus.layout import SPLITS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixai-data corpus",
                                     description="The catalogue of real recorded music from Debian packages, "
                                                 "split by package, and excerpt corpora cut from it.")
    sub = parser.add_subparsers(dest="command", required=True)
    cat = sub.add_parser("catalogue", help="measure every track of the installed packages, write the manifest")
    cat.add_argument("--out", default=str(MANIFEST_PATH), help="manifest path (default: the shipped one)")
    cat.add_argument("--jobs", type=int, default=2)
    ex = sub.add_parser("excerpts", help="cut excerpts of the catalogued tracks into a corpus folder")
    ex.add_argument("--out", default="data/recorded")
    ex.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    ex.add_argument("--seconds", type=float, default=20.0, help="excerpt length (default 20)")
    ex.add_argument("--windows", type=int, default=3, help="excerpts per track (default 3)")
    ex.add_argument("--reference-seconds", type=float, default=30.0,
                    help="length of the held-out splits' same-track reference (default 30)")
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--limit", type=int, default=None, help="at most N tracks per split")
    ex.add_argument("--jobs", type=int, default=2)
    sub.add_parser("table", help="print the split table")
    st = sub.add_parser("stems", help="cut the real band stems (fretsonfire-songs-muldjord) into windows, "
                                      "split by song")
    st.add_argument("--out", default="data/stems/recorded")
    st.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    st.add_argument("--seconds", type=float, default=15.0, help="window length (default 15)")
    st.add_argument("--hop", type=float, default=7.5, help="seconds from one window to the next (default 7.5)")
    st.add_argument("--jobs", type=int, default=2)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "catalogue":
            manifest = build_manifest(jobs=args.jobs)
            path = write_manifest(manifest, args.out)
            print(f"{len(manifest['tracks'])} tracks from {len(manifest['packages'])} packages -> {path}")
            if manifest["missing_packages"]:
                print("not installed: " + ", ".join(manifest["missing_packages"]), file=sys.stderr)
            print(split_table(manifest))
        elif args.command == "excerpts":
            config = ExcerptConfig(seconds=args.seconds, windows=args.windows,
                                   reference_seconds=args.reference_seconds, seed=args.seed)
            index = build_excerpts(args.out, config=config, splits=tuple(args.splits), jobs=args.jobs,
                                   limit=args.limit)
            for split, ids in index["splits"].items():
                print(f"{split}: {len(ids)} excerpts")
        elif args.command == "stems":
            from mixai.training.corpus.stems_recorded import WindowConfig, build_stem_windows

            if not 1.0 <= args.seconds <= 120.0 or not 0.5 <= args.hop <= 120.0:
                raise CatalogueError("--seconds must be 1..120 and --hop 0.5..120")
            index = build_stem_windows(args.out, config=WindowConfig(args.seconds, args.hop),
                                       splits=tuple(args.splits), jobs=args.jobs)
            for song, split in sorted(index["songs"].items(), key=lambda kv: (kv[1], kv[0])):
                count = sum(p.startswith(song + ".") for p in index["splits"][split])
                print(f"{split:<5}  {song:<24} {count} windows")
        else:
            print(split_table(load_manifest()))
    except CatalogueError as exc:
        print(f"mixai-data corpus: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
