"""Knowledge distillation (core/training/distill.py and the loop's --teacher): the loss, the teacher checks, and a
student that learns from its teacher what its own labels do not say."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch
import torch.nn.functional as F

from core.data.preprocessing import Preprocessing
from core.data.store import load_sample
from core.training.config import TrainConfig
from core.training.distill import distillation_loss, load_teacher
from core.training.loop import batch_loss, fit
from core.training.tensors import SplitTensors
from tests.test_loop import TINY, bright_dark_dataset


def test_distillation_loss_is_the_softened_kl_scaled_by_t_squared():
    student, teacher = torch.randn(8, 7), torch.randn(8, 7)
    expected = (F.softmax(teacher / 3, 1) * (F.log_softmax(teacher / 3, 1) - F.log_softmax(student / 3, 1))).sum(1)
    assert distillation_loss(student, teacher, 3.0) == pytest.approx(float(expected.mean() * 9), rel=1e-5)
    assert float(distillation_loss(teacher, teacher, 4.0)) == pytest.approx(0.0, abs=1e-6)


def test_teacher_with_other_classes_or_input_is_refused(tiny_checkpoint):
    classes = list(TrainConfig(classes="fer7").class_names())
    with pytest.raises(ValueError, match="same classes"):
        load_teacher(tiny_checkpoint, ["happy", "sad"], Preprocessing(48), torch.device("cpu"))
    with pytest.raises(ValueError, match="48px"):
        load_teacher(tiny_checkpoint, classes, Preprocessing(64), torch.device("cpu"))
    teacher = load_teacher(tiny_checkpoint, classes, Preprocessing(48), torch.device("cpu"))
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


@pytest.mark.slow
def test_student_learns_the_teachers_answers_over_wrong_labels(tmp_path):
    dataset = bright_dark_dataset(480)
    list(fit(TrainConfig(**TINY, classes="happy,sad", epochs=3), tmp_path / "teacher", dataset=dataset))
    swapped = dataset.meta.copy()  # every Training label wrong; the test splits keep the right ones
    training = swapped["split"] == "Training"
    swapped.loc[training, "label"] = swapped.loc[training, "label"].map({"happy": "sad", "sad": "happy"})
    wrong = type(dataset)(dataset.images, swapped, {})
    common = dict(**TINY, classes="happy,sad", epochs=3)
    alone = list(fit(TrainConfig(**common), tmp_path / "alone", dataset=wrong))
    taught = list(
        fit(
            TrainConfig(**common, teacher=str(tmp_path / "teacher" / "best.pt"), distill_weight=1.0),
            tmp_path / "taught",
            dataset=wrong,
        )
    )
    assert alone[-1]["public_accuracy"] < 0.1  # the labels alone teach the opposite
    assert taught[-1]["public_accuracy"] > 0.9


def test_the_loss_blends_cross_entropy_and_distillation_by_the_weight():
    logits, teacher = torch.randn(6, 3), torch.randn(6, 3)
    hard = SplitTensors(torch.zeros(6, 1, 48, 48, dtype=torch.uint8), torch.tensor([0, 1, 2, 0, 1, 2]))
    soft = SplitTensors(hard.images, hard.targets, torch.softmax(torch.randn(6, 3), 1))
    index = torch.arange(6)
    for split in (hard, soft):
        config = TrainConfig(classes="happy,sad,neutral", label_smoothing=0.0, distill_weight=0.0)
        plain = batch_loss(logits, split, index, config, None)
        assert float(batch_loss(logits, split, index, config, None, teacher)) == pytest.approx(float(plain))
        config = TrainConfig(classes="happy,sad,neutral", distill_weight=1.0, distill_temperature=2.0)
        assert float(batch_loss(logits, split, index, config, None, teacher)) == pytest.approx(
            float(distillation_loss(logits, teacher, 2.0))
        )
        config = TrainConfig(classes="happy,sad,neutral", label_smoothing=0.0, distill_weight=0.25)
        blend = 0.75 * plain + 0.25 * distillation_loss(logits, teacher, config.distill_temperature)
        assert float(batch_loss(logits, split, index, config, None, teacher)) == pytest.approx(float(blend))


def test_a_fold_needs_a_teacher_that_never_saw_it(tiny_checkpoint):
    classes = list(TrainConfig(classes="fer7").class_names())
    with pytest.raises(ValueError, match="never saw the held-out fold"):  # the tiny teacher saw every row
        load_teacher(
            tiny_checkpoint, classes, Preprocessing(48), torch.device("cpu"), {"folds": 5, "fold": 0, "seed": 0}
        )


def test_a_run_does_not_resume_with_a_changed_teacher(tmp_path, tiny_checkpoint):
    teacher = tmp_path / "teacher.pt"
    shutil.copyfile(tiny_checkpoint, teacher)
    config = TrainConfig(**TINY, classes="fer7", epochs=2, max_steps_per_epoch=1, schedule="none", teacher=str(teacher))
    list(fit(config, tmp_path / "run", dataset=load_sample()))  # both epochs: last.pt has the teacher's sha1
    assert list(fit(dataclasses.replace(config, epochs=3), tmp_path / "run", dataset=load_sample(), resume=True))
    payload = torch.load(teacher, weights_only=True)
    payload["metrics"] = {**payload["metrics"], "changed": 1}
    torch.save(payload, teacher)
    with pytest.raises(ValueError, match="teacher checkpoint changed"):
        list(fit(dataclasses.replace(config, epochs=4), tmp_path / "run", dataset=load_sample(), resume=True))
