"""The command line: `python -m core <command>`; every command has --help."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli.audit import add_audit_commands
from core.cli.bounds import int_in
from core.cli.labels import add_label_commands
from core.cli.models import add_model_commands
from core.cli.predict import add_predict_commands
from core.cli.train import add_train_commands
from core.cli.users import add_user_commands
from core.cli.web import add_web_commands
from core.data.classes import CLASS_SETS, resolve_classes
from core.errors import DataError, OptionError
from core.paths import SAMPLE_DIR
from core.progress import tqdm_progress


def cmd_import_data(args: argparse.Namespace) -> int:
    from core.data.dataset import build_fer2013_dataset
    from core.data.folders import read_image_folders
    from core.data.store import save_dataset

    start = time.perf_counter()
    if args.fer2013:
        dataset = build_fer2013_dataset(args.fer2013, args.ferplus, track=tqdm_progress)
    else:
        class_names = args.class_names.split(",") if args.class_names else None
        dataset = read_image_folders(args.folders, class_names, track=tqdm_progress)
    read_seconds = time.perf_counter() - start
    folder = save_dataset(dataset, args.data_dir)
    print(
        f"imported {len(dataset):,} images in {read_seconds:.1f} s (read) + "
        f"{time.perf_counter() - start - read_seconds:.1f} s (write) into {folder}"
    )
    print_split_sizes(dataset)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from core.data.store import current_dataset_dir, load_dataset

    dataset = load_dataset(args.data_dir)
    where = current_dataset_dir(args.data_dir)
    if dataset.is_sample:
        print(
            "data set: the shipped SAMPLE (a few hundred images). Import the full set with:\n"
            "  python -m core import-data --fer2013 fer2013.csv.gz --ferplus fer2013new.csv"
        )
    else:
        print(f"data set: {dataset.info.get('source')} imported {dataset.info.get('created')} ({where})")
    print_split_sizes(dataset)
    print("\nFER2013 labels" if dataset.info.get("source") != "folders" else "\nfolder labels")
    print(dataset.class_counts("fer2013").to_string())
    if dataset.has_ferplus:
        from core.data.stats import ferplus_split_table, label_agreement_table

        print("\nFERPlus majority (Microsoft's rule)")
        print(ferplus_split_table(dataset).to_string())
        print("\nFER2013 label (rows) vs FERPlus majority (columns)")
        print(label_agreement_table(dataset).to_string())
    return 0


def print_split_sizes(dataset) -> None:
    from core.data.fer2013 import SPLITS

    sizes = {s: len(dataset.split_index(s)) for s in SPLITS}
    print(f"{len(dataset):,} images: " + " / ".join(f"{s} {n:,}" for s, n in sizes.items()))


def cmd_export_folders(args: argparse.Namespace) -> int:
    from core.data.folders import export_folders
    from core.data.store import load_dataset

    dataset = load_dataset(args.data_dir)
    classes = resolve_classes(args.classes) if args.classes else None
    written = export_folders(
        dataset, args.out, layout=args.layout, source=args.label_source, classes=classes, track=tqdm_progress
    )
    print(f"wrote {written:,} PNG images to {args.out} ({args.layout} layout, {args.label_source} labels)")
    if args.layout == "category":
        print(f"class order (pass as --labels when importing): {(Path(args.out) / 'labels.txt').read_text().strip()}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from core.models.registry import list_models, model_spec, parameter_count

    print(f"{'model':<22}{'params (7 classes)':>20}{'input':>8}  source")
    for name in list_models():
        spec = model_spec(name)
        params = parameter_count(name, num_classes=7)
        print(f"{name:<22}{params:>20,}{spec.input_size:>8}  {spec.source}: {spec.description}")
    return 0


def cmd_make_sample(args: argparse.Namespace) -> int:
    from core.data.store import load_dataset, make_sample, write_dataset_dir

    dataset = load_dataset(args.data_dir, fallback_to_sample=False)
    sample = make_sample(dataset, per_class=args.per_class, seed=args.seed)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    write_dataset_dir(sample, Path(args.out))
    print(f"wrote a sample of {len(sample)} images to {args.out}")
    print_split_sizes(sample)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="FER Studio command line.")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="data folder (default: data/ in the repo, or $FER_DATA_DIR)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("import-data", help="import FER2013(+FERPlus) csv files or an image-folder data set")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--fer2013", type=Path, help="Kaggle fer2013.csv (plain or .gz)")
    source.add_argument("--folders", type=Path, help="image-folder root holding train/ and test/ or valid/")
    p.add_argument("--ferplus", type=Path, help="FERPlus fer2013new.csv (joined with --fer2013 on row order)")
    p.add_argument(
        "--class-names",
        "--labels",
        dest="class_names",
        help="class names for category_0..n folders, e.g. angry,fearful,happy,neutral,sad,surprised",
    )
    p.set_defaults(run=cmd_import_data)

    p = commands.add_parser("info", help="print the current data set's per-split class counts")
    p.set_defaults(run=cmd_info)

    p = commands.add_parser("export-folders", help="write the data set out as image folders (one PNG per image)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--layout",
        choices=("kaggle", "category"),
        default="kaggle",
        help="kaggle: train/ test/ by class name; category: train/ valid/ test/ with category_k",
    )
    p.add_argument(
        "--label-source",
        "--labels",
        dest="label_source",
        choices=("fer2013", "ferplus"),
        default="fer2013",
        help="which labels name the folders",
    )
    p.add_argument("--classes", help=f"class set ({', '.join(CLASS_SETS)}) or a list like happy,sad,neutral")
    p.set_defaults(run=cmd_export_folders)

    p = commands.add_parser("models", help="list the registered model architectures")
    p.set_defaults(run=cmd_models)

    add_train_commands(commands)
    add_predict_commands(commands)
    add_web_commands(commands)
    add_label_commands(commands)
    add_user_commands(commands)
    add_audit_commands(commands)
    add_model_commands(commands)

    p = commands.add_parser("make-sample", help="(maintainers) rebuild the shipped sample from the imported data")
    p.add_argument("--out", type=Path, default=SAMPLE_DIR)
    p.add_argument("--per-class", type=int_in(1, 100_000), default=10, help="images per (split, class) cell")
    p.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0)
    p.set_defaults(run=cmd_make_sample)
    return parser


def one_line(exc: BaseException) -> str:
    """An error's message on one line: the CLI's answer is a single `error: ...` line, never a block."""
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the distributed launcher re-runs the same command under torchrun
    if getattr(args, "ferplus", None) and not getattr(args, "fer2013", None):
        print("error: --ferplus needs --fer2013 (FERPlus holds only votes for the FER2013 images)", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except OptionError as exc:  # an option that cannot work: a usage error, as argparse answers a malformed flag
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "error: out of memory (the input is larger than this machine can hold; see docs/security.md for the "
            "bounds on inputs)",
            file=sys.stderr,
        )
        return 1
    except (DataError, ValueError, OSError) as exc:  # bad input, unreadable or unwritable files, full disks
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: nothing half-written was kept (imports and checkpoints are written atomically)",
            file=sys.stderr,
        )
        return 130
