"""Label issues on an image-folder data set: errors planted in a small folder set rank at the top.

The faces are synthetic and easy (three stripe patterns), so tiny fold models learn them in a few steps and any
image whose folder contradicts its pattern is a planted error that out-of-fold probabilities must expose.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.data.augment_options import NO_AUGMENT
from core.data.classes import resolve_classes
from core.data.folders import read_image_folders
from core.jobs import label_issues
from core.labels import issues
from core.training.config import TrainConfig
from core.training.cross_validation import write_heldout
from core.training.loop import fit

CLASSES = ("happy", "sad", "neutral")
PER_CLASS = 60
PLANTED = 12


def pattern(kind: int, rng: np.random.Generator) -> np.ndarray:
    """Horizontal stripes, vertical stripes or a centred blob, with noise."""
    y, x = np.mgrid[0:48, 0:48]
    base = [(y // 4) % 2, (x // 4) % 2, ((y - 24) ** 2 + (x - 24) ** 2 < 150)][kind].astype(float)
    return np.clip(base * 180 + 40 + rng.normal(0, 25, (48, 48)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def planted_folder_set(tmp_path_factory):
    """A Kaggle-layout folder set whose first PLANTED training images sit in the wrong class folder."""
    root = tmp_path_factory.mktemp("folders")
    rng = np.random.default_rng(0)
    planted = []
    for split in ("train", "test"):
        for name in CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)
        for i in range(PER_CLASS * len(CLASSES) if split == "train" else 30):
            kind = i % len(CLASSES)
            wrong = split == "train" and i < PLANTED
            folder = CLASSES[(kind + 1) % len(CLASSES)] if wrong else CLASSES[kind]
            path = root / split / folder / f"{i:04d}.png"
            Image.fromarray(pattern(kind, rng)).save(path)
            if wrong:
                planted.append(f"{split}/{folder}/{path.name}")
    return root, planted


@pytest.mark.slow
def test_planted_errors_rank_at_the_top(planted_folder_set, tmp_path):
    root, planted = planted_folder_set
    dataset = read_image_folders(root)
    base = TrainConfig(
        model="fernet",
        model_options={"width": 0.25},
        classes=",".join(CLASSES),
        epochs=4,
        batch_size=32,
        lr=0.05,
        augment=NO_AUGMENT,
        label_smoothing=0.0,
        device="cpu",
        amp="off",
    )
    runs = []
    for config in label_issues.fold_configs(base, folds=3):
        run = tmp_path / "runs" / f"f{config.fold}"
        for _ in fit(config, run, dataset=dataset):
            pass
        write_heldout(run, config, dataset=dataset)
        runs.append(run.name)
    probs, classes = label_issues.collect_oof(runs, len(dataset), root=tmp_path / "runs")
    table = issues.score_issues(dataset, probs, classes)
    top = set(table["image_id"].head(PLANTED))
    found = len(top & {p for p in planted})
    assert found >= 0.75 * PLANTED, f"only {found} of {PLANTED} planted errors in the top {PLANTED}"
    assert table.set_index("image_id").loc[list(top & set(planted)), "is_issue"].mean() >= 0.75  # mostly flagged
    wrong = table.set_index("image_id").loc[planted[0]]
    assert wrong["suggested"] != wrong["label"]  # the suggestion is the pattern's class, not the folder's
    check_cleaned_labels(dataset, table)


def check_cleaned_labels(dataset, table):
    """The `cleaned` label source: flagged Training images dropped or given the suggestion; tests untouched."""
    issues.save_issues(dataset, table)
    flagged = table[table["is_issue"] & (table["split"] == "Training")]
    dropped = issues.cleaned_dataset(dataset, label_issues.load_issues(dataset), "drop").meta
    fixed = issues.cleaned_dataset(dataset, label_issues.load_issues(dataset), "suggested").meta
    assert (dropped.loc[flagged["row"], "cleaned"] == "").all()
    assert (fixed.loc[flagged["row"], "cleaned"].to_numpy() == flagged["suggested"].to_numpy()).all()
    tests = dataset.meta["split"] != "Training"
    assert (dropped.loc[tests, "cleaned"] == dataset.meta.loc[tests, "label"]).all()
    assert len(dataset.class_indices("fer2013", CLASSES)) == len(dropped)


def test_collect_refuses_folds_that_do_not_cover_every_image_once(tmp_path):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    np.savez(
        runs / "a" / "heldout.npz",
        rows=np.array([0, 1]),
        probs=np.ones((2, 3)) / 3,
        classes=np.array(CLASSES),
        n_images=np.array(3),
    )
    with pytest.raises(ValueError, match="cover 2 of 3"):
        label_issues.collect_oof(["a"], 3, root=runs)


def test_shipped_probabilities_apply_to_their_own_data_set_only(tmp_path, monkeypatch):
    from core.data.store import load_sample
    from core.labels import shipped_oof

    sample = load_sample()
    probs = np.random.default_rng(0).dirichlet(np.ones(7), len(sample)).astype(np.float32)
    shipped = shipped_oof.write_shipped_oof(sample, probs, list(resolve_classes("fer7")), tmp_path / "oof.npz")
    monkeypatch.setattr(shipped_oof, "SHIPPED_OOF", shipped)
    table = label_issues.load_issues(sample)
    assert table is not None and len(table) == len(sample)
    from cleanlab.rank import get_label_quality_scores

    labels = issues.given_labels(sample, "fer2013", list(resolve_classes("fer7")))
    expected = get_label_quality_scores(labels, probs, method=issues.QUALITY_METHOD)
    worst = table.iloc[0]
    assert np.isclose(worst["quality"], expected[worst["row"]], atol=1e-3)  # float16 on disk
    assert worst["row"] == np.argmin(expected) or np.isclose(expected[worst["row"]], expected.min(), atol=1e-3)
    other = sample.subset(np.arange(len(sample) - 1))  # another data set: the shipped file does not apply
    assert label_issues.load_issues(other) is None


def test_a_shipped_reference_reranks_but_leaves_flags_and_suggestions_out_of_fold(tmp_path, monkeypatch):
    from core.data.store import load_sample
    from core.labels import shipped_oof

    sample, classes = load_sample(), list(resolve_classes("fer7"))
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(7), len(sample)).astype(np.float32)
    reference = rng.dirichlet(np.ones(7), len(sample)).astype(np.float32)
    oof_only = issues.score_issues(sample, probs, classes)
    shipped = shipped_oof.write_shipped_oof(sample, probs, classes, tmp_path / "oof.npz", reference=reference)
    monkeypatch.setattr(shipped_oof, "SHIPPED_OOF", shipped)
    assert np.allclose(shipped_oof.shipped_reference(sample, "fer2013", classes), reference, atol=1e-3)
    assert shipped_oof.shipped_reference(sample, "fer2013", classes[::-1]) is None  # another class order
    blended = label_issues.load_issues(sample)
    assert not np.array_equal(blended["row"].to_numpy(), oof_only["row"].to_numpy())  # the order changed
    by_row = blended.set_index("row").loc[oof_only["row"]]
    assert (by_row["is_issue"].to_numpy() == oof_only["is_issue"].to_numpy()).all()
    assert (by_row["suggested"].to_numpy() == oof_only["suggested"].to_numpy()).all()


def test_a_stored_result_older_than_the_shipped_file_is_recomputed(tmp_path, monkeypatch):
    import os

    from core.data.store import load_sample
    from core.labels import shipped_oof

    sample, classes = load_sample(), list(resolve_classes("fer7"))
    probs = np.random.default_rng(2).dirichlet(np.ones(7), len(sample)).astype(np.float32)
    stale = issues.score_issues(sample, probs, classes).assign(quality=0.5)
    stored = issues.save_issues(sample, stale)
    os.utime(stored, (1, 1))  # stored long before the shipped file below
    shipped = shipped_oof.write_shipped_oof(sample, probs, classes, tmp_path / "oof.npz")
    monkeypatch.setattr(shipped_oof, "SHIPPED_OOF", shipped)
    assert not (label_issues.load_issues(sample)["quality"] == 0.5).all()


def test_a_stored_result_is_kept_when_the_shipped_file_does_not_apply_or_nothing_can_recompute_it(
    tmp_path, monkeypatch
):
    import os

    from core.data.store import load_sample
    from core.labels import shipped_oof

    sample, classes = load_sample(), list(resolve_classes("fer7"))
    probs = np.random.default_rng(3).dirichlet(np.ones(7), len(sample)).astype(np.float32)
    other = sample.subset(np.arange(len(sample) - 1))  # the shipped file is made on `sample`, not on this one
    stored = issues.save_issues(other, issues.score_issues(other, probs[:-1], classes).assign(quality=0.5))
    os.utime(stored, (1, 1))  # older than the shipped file, but its fold runs are gone
    monkeypatch.setattr(
        shipped_oof, "SHIPPED_OOF", shipped_oof.write_shipped_oof(sample, probs, classes, tmp_path / "oof.npz")
    )
    assert (label_issues.load_issues(other)["quality"] == 0.5).all()


def test_scoring_runs_in_this_process(tmp_path, monkeypatch):
    """No multiprocessing pool: a fork from a process that already runs threads (a training worker resuming on
    cleaned labels) deadlocked in cleanlab's pool."""
    import multiprocessing.pool

    from core.data.store import load_sample

    def refuse(*args, **kwargs):
        raise AssertionError("score_issues started a process pool")

    monkeypatch.setattr(multiprocessing.pool.Pool, "__init__", refuse)
    sample, classes = load_sample(), list(resolve_classes("fer7"))
    probs = np.random.default_rng(2).dirichlet(np.ones(7), len(sample)).astype(np.float32)
    table = issues.score_issues(sample, probs, classes)
    assert len(table) == len(sample) and table["is_issue"].any()
