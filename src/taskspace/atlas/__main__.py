"""Command line: place a folder of images on the map of datasets (chapter 7).

    python -m taskspace.atlas place FOLDER [--out map.png] [--top 5] [--scale book]
    python -m taskspace.atlas build [--scale book]

``place`` reads FOLDER (PNG/JPEG files, flat or one sub-folder per class), encodes the images,
places the dataset on the map and prints the datasets that contain it most and those it contains
most, predicted by the boxes and measured by soft overlap; with ``--out`` it also draws the map.
The first use of a scale builds its map (minutes; then cached in the user cache, where chapter 7
finds it too); ``build`` does only that, and prints where the map is kept. The folder and the
output path are checked before anything slow starts, and nothing is written when a step fails:
an unreadable or oversized image, an empty folder or too few images end the command with one
line on stderr and exit status 2. The report opens with the placement's warnings
(:attr:`~taskspace.atlas.placement.Placement.warnings`): images far from every dataset on the
map, and the small ``fast`` map, whose "contains" direction is not meaningful.

Like a notebook, this entry point sits outside the package's one-way flow: it uses
:mod:`taskspace.plotting.atlas` to draw.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from taskspace.atlas.build import SCALES, atlas_path, load_atlas
from taskspace.atlas.placement import FAR_PERCENTILE, MIN_IMAGES, place
from taskspace.cache import atomic_write_bytes
from taskspace.data.folder import FolderError, load_image_folder
from taskspace.data.resolve import DataNotFoundError

_FORMATS = (".png", ".pdf", ".svg")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m taskspace.atlas",
        description="Place your own dataset on Task2Box's map of datasets (book chapter 7).",
        epilog="place warns when the images are far from every dataset on the map (their median "
        f"distance to the nearest image on the map beyond that of {FAR_PERCENTILE:.0f}% of the "
        "map's own images) "
        "and, at --scale fast, that the small test map cannot say which datasets yours contains.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    placing = commands.add_parser("place", help="place a folder of images on the map")
    placing.add_argument(
        "folder", type=Path, help="PNG/JPEG images, flat or one sub-folder per class"
    )
    placing.add_argument("--out", type=Path, help="draw the map with the new box into this file")
    placing.add_argument("--top", type=int, default=5, help="relations to list each way (5)")
    placing.add_argument("--name", help="the dataset's name (default: the folder's)")
    building = commands.add_parser("build", help="build (or find) the cached map and say where")
    for command in (placing, building):
        command.add_argument("--scale", choices=sorted(SCALES), default="book", help="which map")
    return parser


def _check_output(out: Path | None) -> None:
    if out is None:
        return
    if out.suffix.lower() not in _FORMATS:
        raise FolderError(f"--out {out}: the map can be written as {', '.join(_FORMATS)}")
    if not out.parent.resolve().is_dir():
        raise FolderError(f"--out {out}: the folder {out.parent} does not exist")


def _place(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise FolderError(f"--top must be at least 1, got {args.top}")
    _check_output(args.out)
    image_size = SCALES[args.scale].image_size
    dataset = load_image_folder(args.folder, size=image_size, min_images=MIN_IMAGES)
    print(
        f"read {len(dataset)} images of {dataset.num_classes} class(es) from {args.folder}",
        file=sys.stderr,
    )
    if not atlas_path(args.scale).is_file():
        print(f"building the {args.scale!r} map once (minutes; then cached)...", file=sys.stderr)
    atlas = load_atlas(args.scale)
    placement = place(dataset.images, atlas, name=args.name or dataset.name)
    print(placement.report(args.top))
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        from taskspace.plotting.atlas import placement_figure

        figure = placement_figure(atlas.boxes, atlas.names, atlas.groups, placement)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=args.out.suffix.lower()[1:], dpi=150, bbox_inches="tight")
        atomic_write_bytes(args.out, buffer.getvalue())
        print(f"map written to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with a message)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            load_atlas(args.scale)
            print(atlas_path(args.scale))
            return 0
        return _place(args)
    except (FolderError, ValueError, DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
