"""The training loop (core/training/loop.py): fit, checkpoints, stop and resume, label sources."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from core.data.dataset import FerDataset, with_relabels
from core.data.store import load_sample
from core.jobs.label_sources import check_trainable, with_label_source
from core.labels.relabels import RelabelStore
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.run_folder import RunFolder
from core.training.config import TrainConfig
from core.training.curves import epoch_curve, step_curve
from core.training.loop import fit
from core.training.tensors import prepare_splits

TINY = {"model": "fernet", "model_options": {"width": 0.25}, "batch_size": 16, "print_freq": 1}


def bright_dark_dataset(n: int = 96) -> FerDataset:
    """Two easy classes: dark faces are 'sad', bright faces are 'happy'."""
    rng = np.random.default_rng(0)
    happy = np.arange(n) % 2 == 0
    images = np.where(happy[:, None, None], rng.integers(160, 256, (n, 48, 48)), rng.integers(0, 96, (n, 48, 48)))
    meta = pd.DataFrame(
        {
            "image_id": [f"x{i}" for i in range(n)],
            "split": np.array(["Training", "PublicTest", "PrivateTest"])[np.arange(n) % 3],
            "label": np.where(happy, "happy", "sad"),
        }
    )
    return FerDataset(images.astype(np.uint8), meta, {})


@pytest.mark.slow
def test_fit_learns_an_easy_task_and_writes_the_run_folder(tmp_path):
    config = TrainConfig(**TINY, classes="happy,sad", epochs=3)  # SGD + one-cycle, the default recipe
    records = list(fit(config, tmp_path, dataset=bright_dark_dataset(480)))
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[-1]["public_accuracy"] > 0.9
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "metrics.jsonl", "best.pt", "last.pt"}
    assert TrainConfig.load(tmp_path / "config.json") == config
    kinds = [line.count('"kind": "step"') for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sum(kinds) == 30  # 160 training images / 16 per batch, logged every step, 3 epochs


def test_checkpoint_is_self_describing_and_safe_to_load(tiny_checkpoint):
    payload = torch.load(tiny_checkpoint, weights_only=True)  # the session's tiny run (fer7, tests/conftest.py)
    assert payload["classes"] == list(TrainConfig(classes="fer7").class_names()) and payload["input_size"] == 48
    assert payload["normalization"] == {"mean": 0.5, "std": 0.5} and payload["label_source"] == "fer2013"
    assert payload["config"]["model"] == "fernet" and "public_accuracy" in payload["metrics"]
    model = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 7)


def test_stop_mid_epoch_then_resume_to_the_end(tmp_path):
    config = TrainConfig(**TINY, epochs=2, max_steps_per_epoch=6)
    calls = {"n": 0}

    def stop_after_three() -> bool:
        calls["n"] += 1
        return calls["n"] == 3

    first = list(fit(config, tmp_path, dataset=load_sample(), should_stop=stop_after_three))
    assert len(first) == 1 and first[0]["stopped"]
    assert load_checkpoint(tmp_path / "last.pt")["training_state"]["next_step"] == 3
    partial = epoch_curve(tmp_path)  # drawn where it stopped, half-way through epoch 1, and marked partial
    assert list(partial["x"]) == [0.5] and list(partial["partial"]) == [True]
    assert list(step_curve(tmp_path)["x"]) == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert RunFolder(tmp_path).rewind_to_last_checkpoint() == (1, 3)  # what the runner and `train --resume` do
    rest = list(fit(config, tmp_path, dataset=load_sample(), resume=True))
    assert [r["epoch"] for r in rest] == [1, 2] and not any(r["stopped"] for r in rest)
    assert load_checkpoint(tmp_path / "last.pt")["training_state"]["next_epoch"] == 3
    logged = RunFolder(tmp_path).records()  # the partial epoch 1 was dropped: each epoch and step once
    assert [r["epoch"] for r in logged if r.get("kind") == "epoch"] == [1, 2]
    steps = [(r["epoch"], r["step"]) for r in logged if r.get("kind") == "step"]
    assert len(steps) == len(set(steps))
    assert list(epoch_curve(tmp_path)["x"]) == [1, 2] and not epoch_curve(tmp_path)["partial"].any()


def lr_by_step_and_epoch(run) -> tuple[dict, dict]:
    """The lr each logged (epoch, step) and each epoch record of a run folder holds."""
    records = RunFolder(run).records()
    steps = {(r["epoch"], r["step"]): r["lr"] for r in records if r.get("kind") == "step"}
    return steps, {r["epoch"]: r["lr"] for r in records if r.get("kind") == "epoch"}


def test_resume_after_whole_epochs_continues_the_schedule(tmp_path):
    short = TrainConfig(**TINY, epochs=3, max_steps_per_epoch=2)  # one-cycle: the lr moves every step
    stopper = iter([False, True])  # asked once per epoch: stops after the whole epoch 1 and step 1 of epoch 2
    first = list(fit(short, tmp_path / "resumed", dataset=load_sample(), should_stop=lambda: next(stopper, False)))
    assert [r["epoch"] for r in first] == [1, 2] and first[-1]["stopped"]
    resumed = list(fit(short, tmp_path / "resumed", dataset=load_sample(), resume=True))
    assert [r["epoch"] for r in resumed] == [2, 3] and not resumed[-1]["stopped"]
    list(fit(short, tmp_path / "straight", dataset=load_sample()))
    steps, epochs = lr_by_step_and_epoch(tmp_path / "resumed")
    straight_steps, straight_epochs = lr_by_step_and_epoch(tmp_path / "straight")
    assert list(straight_steps) == [(e, s) for e in (1, 2, 3) for s in (1, 2)]
    assert len(set(straight_steps.values())) == 6  # every step has its own lr, so a restarted schedule shows
    assert steps == pytest.approx(straight_steps, rel=1e-9) and epochs == pytest.approx(straight_epochs, rel=1e-9)


@pytest.mark.parametrize(
    "labels,classes,count", [("ferplus", "ferplus8", 8), ("ferplus-soft", "ferplus8", 8), ("fer2013", "fer6", 6)]
)
def test_label_sources_and_class_sets(tmp_path, labels, classes, count):
    config = TrainConfig(**TINY, label_source=labels, classes=classes, epochs=1, max_steps_per_epoch=2)
    record = next(fit(config, tmp_path, dataset=load_sample()))
    assert record["public_accuracy"] is not None
    assert len(load_checkpoint(tmp_path / "best.pt")["classes"]) == count


def test_relabeled_source_trains_on_the_relabels(tmp_path, monkeypatch):
    config = TrainConfig(**TINY, label_source="relabeled", classes="happy,sad", epochs=1, max_steps_per_epoch=1)
    sample = load_sample()
    first_happy = sample.meta.index[(sample.meta["label"] == "happy") & (sample.meta["split"] == "Training")][0]
    RelabelStore().relabel(sample.meta.loc[first_happy, "image_id"], "sad", "tester")
    with pytest.raises(ValueError, match="carries no relabeled labels"):  # training trains on the labels it is handed
        prepare_splits(sample, config, torch.device("cpu"))
    from_store = prepare_splits(with_label_source(sample, config), config, torch.device("cpu"))["Training"]
    plain = prepare_splits(sample, dataclasses.replace(config, label_source="fer2013"), torch.device("cpu"))["Training"]
    assert (from_store.targets != plain.targets).sum() == 1  # exactly the relabeled face changed class
    happy = sample.meta.loc[sample.meta["label"] == "happy", "image_id"]
    kept = sample.meta.loc[first_happy, "image_id"]  # one happy face stays happy: a class needs a Training image
    relabeled = with_relabels(sample, {image_id: "sad" for image_id in happy if image_id != kept})
    assert set(relabeled.class_indices("relabeled", ("happy", "sad"))) == {-1, 0, 1}
    trained_on = {}

    def spy(dataset, *args):
        trained_on.update(prepare_splits(dataset, *args))
        return trained_on

    monkeypatch.setattr("core.training.loop.prepare_splits", spy)
    record = next(fit(config, tmp_path, dataset=relabeled))
    meta = sample.meta
    rows = np.flatnonzero((meta["split"] == "Training") & meta["label"].isin(["happy", "sad"]))
    assert (meta["label"].to_numpy()[rows] == "happy").any()
    expected = [0 if meta["image_id"].iloc[row] == kept else 1 for row in rows]
    assert trained_on["Training"].targets.tolist() == expected  # happy and sad faces, all but one as sad
    assert np.array_equal(trained_on["Training"].images.squeeze(1).cpu().numpy(), sample.images[rows])
    assert record["train_accuracy"] is not None and (tmp_path / "best.pt").is_file()


def test_a_class_without_training_images_is_refused_naming_a_source_that_has_it(tmp_path):
    sample = load_sample()
    config = TrainConfig(classes="happy,contempt", label_source="fer2013", device="cpu")
    contempt = int(((sample.meta["ferplus"] == "contempt") & (sample.meta["split"] == "Training")).sum())
    message = f"contempt has no Training image under fer2013 labels; ferplus labels have {contempt}"
    with pytest.raises(ValueError, match=message):
        prepare_splits(sample, config, torch.device("cpu"))
    with pytest.raises(ValueError, match=message):  # the studio refuses before the runner makes a folder
        check_trainable(sample, config)
    assert not list(tmp_path.iterdir())
    assert set(prepare_splits(sample, dataclasses.replace(config, label_source="ferplus"), torch.device("cpu")))


def test_class_weight_power_softens_the_inverse_frequency_weights():
    from core.training.tensors import class_weights

    targets = torch.tensor([0] * 90 + [1] * 10)
    full, root = class_weights(targets, 2), class_weights(targets, 2, power=0.5)
    assert full[1] / full[0] == pytest.approx(9.0)
    assert root[1] / root[0] == pytest.approx(3.0)
    assert float(root.mean()) == pytest.approx(1.0)
