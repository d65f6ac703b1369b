"""Commands that change or combine models: `adjust` (post-hoc logit adjustment for rare classes) and `ensemble`."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_adjust(args: argparse.Namespace) -> int:
    from core.evaluation.logit_adjust import ADJUSTMENT_HEADING, adjust_checkpoint, adjustment_section
    from core.evaluation.model_card import calibration_section, with_calibration_section, with_section

    result = adjust_checkpoint(args.checkpoint, out=args.out, max_accuracy_drop=args.max_accuracy_drop / 100)
    target = Path(result["checkpoint"])
    print(
        f"{target}: tau {result['tau']:.2f} (tuned on PublicTest), temperature {result['temperature']:.3f}, "
        f"tta {result['tta']}"
    )
    for split, scores in result["splits"].items():
        before, after = scores["before"], scores["after"]
        macro_before, macro_after = (sum(s["recall"]) / len(s["recall"]) for s in (before, after))
        print(
            f"  {split}: accuracy {before['accuracy']:.2%} -> {after['accuracy']:.2%}, macro recall "
            f"{macro_before:.3f} -> {macro_after:.3f}"
        )
        print(
            "    recall "
            + ", ".join(
                f"{c} {b:.2f}->{a:.2f}" for c, b, a in zip(result["classes"], before["recall"], after["recall"])
            )
        )
    card = target.with_suffix(".md")
    if card.is_file() or (args.out and args.checkpoint.with_suffix(".md").is_file()):
        text = (card if card.is_file() else args.checkpoint.with_suffix(".md")).read_text()
        text = with_section(text, ADJUSTMENT_HEADING, adjustment_section(result))
        section = calibration_section(target.stem, result["calibration_report"], target.parent)
        card.write_text(with_calibration_section(text, section))
        print(f"card {card} updated (recall before/after, calibration)")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from core.ensemble_format import ensemble_stem, write_ensemble
    from core.evaluation.ensemble_card import best_member, ensemble_card, evaluate_ensemble
    from core.evaluation.model_card import hardware

    path = write_ensemble(args.out, args.members, args.weights)
    result = evaluate_ensemble(path)
    for model, row in result["rows"].items():
        print(
            f"  {model:28s} "
            + "  ".join(f"{s} {r['accuracy']:.2%} (macro recall {r['macro_recall']:.3f})" for s, r in row.items())
        )
    best, best_public = best_member(result)
    ensemble_public = result["rows"]["ensemble"]["PublicTest"]["accuracy"]
    if ensemble_public <= best_public and not args.keep:
        path.unlink()
        print(
            f"not kept: the ensemble's PublicTest {ensemble_public:.2%} does not beat its best member's "
            f"({best}, {best_public:.2%}); --keep writes it anyway"
        )
        return 1
    private = result["rows"]["ensemble"].get("PrivateTest", {}).get("accuracy")
    write_ensemble(
        path, args.members, args.weights, metrics={"public_accuracy": ensemble_public, "private_accuracy": private}
    )
    card = path.with_name(f"{ensemble_stem(path)}.md")
    card.write_text(ensemble_card(ensemble_stem(path), result, hardware()))
    print(f"wrote {path} and its card {card}")
    return 0


def add_model_commands(commands) -> None:
    p = commands.add_parser(
        "adjust",
        help="post-hoc logit adjustment for rare classes: tune tau on PublicTest, "
        "store the per-class bias in the checkpoint (and its card's recall before/after)",
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="a .pt checkpoint")
    p.add_argument("--out", type=Path, help="write the adjusted checkpoint here (default: in place)")
    p.add_argument(
        "--max-accuracy-drop",
        type=float,
        default=0.5,
        help="PublicTest accuracy points tau may give away for macro recall (default 0.5)",
    )
    p.set_defaults(run=cmd_adjust)

    p = commands.add_parser(
        "ensemble",
        help="combine checkpoints (same classes and input size) into an ensemble "
        "file that every command takes as a model; kept with a card when it beats its best "
        "member on PublicTest",
    )
    p.add_argument("--members", type=Path, nargs="+", required=True, help="two or more .pt checkpoints")
    p.add_argument("--weights", type=float, nargs="+", help="one positive weight per member (default: equal)")
    p.add_argument("--out", type=Path, required=True, help="NAME.ensemble.json (members are listed relative to it)")
    p.add_argument("--keep", action="store_true", help="keep the file even when it does not beat its best member")
    p.set_defaults(run=cmd_ensemble)
