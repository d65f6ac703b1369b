"""Commands that change or combine shipped models: `adjust` (post-hoc logit adjustment for rare classes)."""
from __future__ import annotations

import argparse
from pathlib import Path


def cmd_adjust(args: argparse.Namespace) -> int:
    from core.evaluation.logit_adjust import ADJUSTMENT_HEADING, adjust_checkpoint, adjustment_section
    from core.evaluation.model_card import calibrate_section_of, with_section

    result = adjust_checkpoint(args.checkpoint, out=args.out, max_accuracy_drop=args.max_accuracy_drop / 100)
    target = Path(result["checkpoint"])
    print(f"{target}: tau {result['tau']:.2f} (tuned on PublicTest), temperature {result['temperature']:.3f}, "
          f"tta {result['tta']}")
    for split, scores in result["splits"].items():
        before, after = scores["before"], scores["after"]
        print(f"  {split}: accuracy {before['accuracy']:.2%} -> {after['accuracy']:.2%}, macro recall "
              f"{sum(before['recall']) / len(before['recall']):.3f} -> {sum(after['recall']) / len(after['recall']):.3f}")
        print("    recall " + ", ".join(f"{c} {b:.2f}->{a:.2f}" for c, b, a in
                                         zip(result["classes"], before["recall"], after["recall"])))
    card = target.with_suffix(".md")
    if card.is_file() or (args.out and args.checkpoint.with_suffix(".md").is_file()):
        text = (card if card.is_file() else args.checkpoint.with_suffix(".md")).read_text()
        text = with_section(text, ADJUSTMENT_HEADING, adjustment_section(result))
        card.write_text(calibrate_section_of(target, text))
        print(f"card {card} updated (recall before/after, calibration)")
    return 0


def add_model_commands(commands) -> None:
    p = commands.add_parser("adjust", help="post-hoc logit adjustment for rare classes: tune tau on PublicTest, "
                            "store the per-class bias in the checkpoint (and its card's recall before/after)")
    p.add_argument("--checkpoint", type=Path, required=True, help="a .pt checkpoint")
    p.add_argument("--out", type=Path, help="write the adjusted checkpoint here (default: in place)")
    p.add_argument("--max-accuracy-drop", type=float, default=0.5,
                   help="PublicTest accuracy points tau may give away for macro recall (default 0.5)")
    p.set_defaults(run=cmd_adjust)
