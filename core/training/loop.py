"""The training loop as plain functions: `train_one_epoch`, `evaluate`, and `fit`, which yields one record per epoch.

Nothing here prints, imports a UI or knows about threads; the CLI and the background runner consume it.
Each run writes its run folder (`core.run_folder`): the config, the metrics log, best.pt (selected on
PublicTest accuracy, never on PrivateTest) and last.pt (what `resume` continues from).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.data.loading import load_training_dataset
from core.data.preprocessing import Preprocessing
from core.device import cpu_has_bf16, resolve_device
from core.models.checkpoint import load_checkpoint, save_checkpoint
from core.models.probabilities import predict_probabilities
from core.models.registry import check_input_side, create_model, model_spec
from core.run_folder import RunFolder
from core.training import distributed
from core.training.config import TrainConfig
from core.training.distill import check_same_teacher, distillation_loss, run_teacher, teacher_digest
from core.training.tensors import SplitTensors, class_weights, log_prior, prepare_splits, training_input
from core.training.warm_start import warm_start

StepCallback = Callable[[dict[str, Any]], None]


def use_bf16(config: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast (fp32 master weights) is ~2.5x faster on CUDA and on bf16-capable CPUs."""
    if config.amp == "off":
        return False
    return config.amp == "bf16" or device.type == "cuda" or cpu_has_bf16()


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, nesterov=True, weight_decay=config.weight_decay
        )
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The lr schedule; onecycle and cosine step every batch, step and plateau every epoch."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=config.milestones, gamma=0.1)
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, "max", factor=0.5, patience=config.plateau_patience
        )
    return None


def batch_loss(
    logits: torch.Tensor,
    split: SplitTensors,
    index: torch.Tensor,
    config: TrainConfig,
    weights: torch.Tensor | None,
    teacher_logits: torch.Tensor | None = None,
    logit_offset: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy on the labels (of `logits + logit_offset`: balanced softmax); with a teacher, blended with the
    distillation term by `distill_weight`."""
    target = split.soft[index] if split.soft is not None else split.targets[index]
    adjusted = logits.float() if logit_offset is None else logits.float() + logit_offset
    loss = F.cross_entropy(adjusted, target, weight=weights, label_smoothing=config.label_smoothing)
    if teacher_logits is None:
        return loss
    soft = distillation_loss(logits, teacher_logits, config.distill_temperature)
    return (1 - config.distill_weight) * loss + config.distill_weight * soft


def forward_batch(
    model: nn.Module, x: torch.Tensor, bf16: bool, teacher: nn.Module | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The model's logits for one training batch, and the frozen teacher's for the same batch when distilling."""
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
        if teacher is None:
            return logits, None
        with torch.no_grad():
            return logits, teacher(x)


def train_one_epoch(
    model: nn.Module,
    split: SplitTensors,
    optimizer: torch.optim.Optimizer,
    scheduler,
    config: TrainConfig,
    preprocessing: Preprocessing,
    generator: torch.Generator,
    weights: torch.Tensor | None = None,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    start_step: int = 0,
    shard: Callable[[torch.Tensor], torch.Tensor] | None = None,
    teacher: nn.Module | None = None,
    logit_offset: torch.Tensor | None = None,
) -> dict[str, Any]:
    """One pass over the training split (from `start_step` when resuming mid-epoch); `teacher`: distil from it;
    `logit_offset`: added to the logits in the loss only (balanced softmax).

    Returns loss, accuracy, the number of the last step done (`steps`, of `of`), seconds, and whether `should_stop`
    ended it early.
    """
    model.train()
    device = split.images.device
    bf16 = use_bf16(config, device)
    order = torch.randperm(len(split), generator=generator).to(device)
    order = shard(order) if shard else order  # distributed: this rank's slice of the shared order
    steps = math.ceil(len(order) / config.batch_size)
    if config.max_steps_per_epoch:
        steps = min(steps, config.max_steps_per_epoch)
    totals = {"loss": 0.0, "correct": 0, "seen": 0}
    start, stopped, step, lr = time.perf_counter(), False, start_step - 1, optimizer.param_groups[0]["lr"]
    for step in range(start_step, steps):
        index = order[step * config.batch_size : (step + 1) * config.batch_size]
        x = training_input(split.images[index], preprocessing, config.augment, generator)
        logits, teacher_logits = forward_batch(model, x, bf16, teacher)
        loss = batch_loss(logits, split, index, config, weights, teacher_logits, logit_offset)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]  # the lr this step used, before the schedule moves it
        if scheduler is not None and config.schedule in ("onecycle", "cosine"):
            scheduler.step()
        value = loss.item()
        if not math.isfinite(value):  # diverged: stop before a NaN model is saved (best.pt keeps the last good one)
            raise ValueError(
                f"the training loss became {value} at step {step + 1}: training diverged (try a lower "
                f"lr than {config.lr:g}); nothing of this epoch was saved"
            )
        totals["loss"] += value * len(index)
        totals["correct"] += (logits.argmax(1) == split.targets[index]).sum().item()
        totals["seen"] += len(index)
        # every print_freq steps, and the first and last: a live curve gets its first point after one step
        if on_step and ((step + 1) % config.print_freq == 0 or step + 1 == steps or step == start_step):
            on_step(
                {
                    "kind": "step",
                    "step": step + 1,
                    "steps": steps,
                    "loss": totals["loss"] / totals["seen"],
                    "lr": lr,
                    "seconds": time.perf_counter() - start,
                }
            )
        if should_stop and step + 1 < steps and should_stop():  # after the last step it is the epoch's end
            stopped = True
            break
    return {
        "loss": totals["loss"] / max(totals["seen"], 1),
        "accuracy": totals["correct"] / max(totals["seen"], 1),
        "steps": step + 1,
        "of": steps,
        "seconds": time.perf_counter() - start,
        "stopped": stopped,
        "lr": lr,
    }


def evaluate(
    model: nn.Module, split: SplitTensors, preprocessing: Preprocessing, batch_size: int = 256
) -> dict[str, Any]:
    """Loss and accuracy on one split (TTA as `preprocessing` says), plus the predictions for detailed metrics."""
    probs = predict_probabilities(model, split.images, preprocessing, batch_size)
    target = split.soft if split.soft is not None else split.targets
    loss = (
        F.nll_loss(probs.clamp_min(1e-8).log(), split.targets)
        if split.soft is None
        else -(target * probs.clamp_min(1e-8).log()).sum(1).mean()
    )
    predictions = probs.argmax(1)
    return {
        "loss": float(loss),
        "accuracy": float((predictions == split.targets).float().mean()),
        "y_true": split.targets.cpu().numpy(),
        "y_pred": predictions.cpu().numpy(),
    }


def fit(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    dataset=None,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
) -> Iterator[dict[str, Any]]:
    """Train per `config` into `out_dir`, yielding one record per epoch; `resume` continues from last.pt.

    Under torchrun every rank runs this; rank 0 alone writes files and reports steps.
    """
    ddp = distributed.setup(config.device, resolve_device(config.device))
    run = RunFolder(out_dir)
    if ddp.is_main:
        run.save_config(config)
    torch.manual_seed(config.seed)
    classes = list(config.class_names())
    preprocessing = Preprocessing(config.input_size or model_spec(config.model).input_size, tta=config.tta)
    # before the data: a wrong teacher fails at once, not after the data set is loaded
    teacher = run_teacher(config, classes, preprocessing, ddp.device)
    splits = prepare_splits(
        dataset if dataset is not None else load_training_dataset(config.data_path), config, ddp.device
    )
    model, optimizer, scheduler = training_objects(config, len(classes), splits["Training"], ddp)
    if config.init_from and not resume:  # resume restores last.pt's weights instead
        warm_start(model, config.init_from, config.model, config.model_options, classes, preprocessing)
    trained = ddp.wrap(model)
    generator = torch.Generator().manual_seed(config.seed)
    weights = (
        class_weights(splits["Training"].targets, len(classes), config.class_weight_power)
        if config.class_weights
        else None
    )
    offset = log_prior(splits["Training"], len(classes)) if config.loss == "balanced-softmax" else None
    digest = teacher_digest(config.teacher) if teacher is not None else None
    state = {
        "epoch": 1,
        "step": 0,
        "best": -1.0,
        "since_best": 0,
        "epoch_rng": generator.get_state(),
        "teacher_sha1": digest,
    }
    if resume:
        state = restore_training_state(run.last, model, optimizer, scheduler, generator, digest)
    stop = (lambda: ddp.any(bool(should_stop and should_stop()))) if ddp.active else should_stop
    try:
        for epoch in range(state["epoch"], config.epochs + 1):
            if state["step"] == 0:
                state["epoch_rng"] = generator.get_state()
            result = train_one_epoch(
                trained,
                splits["Training"],
                optimizer,
                scheduler,
                config,
                preprocessing,
                generator,
                weights,
                step_logger(run, epoch, on_step, ddp.is_main),
                stop,
                start_step=state["step"],
                shard=ddp.shard,
                teacher=teacher,
                logit_offset=offset,
            )
            ddp.sync_buffers(model)
            record = finish_epoch(model, splits, config, preprocessing, epoch, result, optimizer, scheduler, state)
            if ddp.active:
                record["weights_sha1"] = distributed.weights_digest(model)
            if ddp.is_main:
                save_epoch(run, model, config, classes, preprocessing, record, optimizer, scheduler, generator, state)
                run.log(record)
            yield record
            if result["stopped"] or (config.early_stopping and state["since_best"] >= config.early_stopping):
                return
    finally:
        ddp.close()


def training_objects(config: TrainConfig, num_classes: int, training: SplitTensors, ddp) -> tuple:
    """The model (channels_last, on the run's device), its optimizer and its lr schedule."""
    model = create_model(config.model, num_classes=num_classes, **config.model_options)
    check_input_side(model, config.model, config.input_size or model_spec(config.model).input_size)
    model = model.to(ddp.device)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions on GPUs and oneDNN CPUs
    steps = math.ceil(len(training) / (config.batch_size * ddp.world_size))
    steps = min(steps, config.max_steps_per_epoch) if config.max_steps_per_epoch else steps
    optimizer = build_optimizer(model, config)
    return model, optimizer, build_scheduler(optimizer, config, steps)


def step_logger(run: RunFolder, epoch: int, on_step: StepCallback | None, is_main: bool) -> StepCallback | None:
    """Log step records to metrics.jsonl (and pass them on) from rank 0 only."""
    if not is_main:
        return None

    def log(record: dict[str, Any]) -> None:
        run.log({**record, "epoch": epoch})
        if on_step:
            on_step({**record, "epoch": epoch})

    return log


def finish_epoch(model, splits, config, preprocessing, epoch, result, optimizer, scheduler, state) -> dict:
    """Score PublicTest, step per-epoch schedules, track the best epoch; return the epoch record."""
    # without TTA: a quicker number per epoch; evaluate applies the recorded TTA afterwards
    began = time.perf_counter()
    public = evaluate(model, splits["PublicTest"], preprocessing.with_tta("none")) if "PublicTest" in splits else None
    # seconds per image and view of an evaluation: the worker's ETA scales it to the final evaluation of every split
    per_image = (time.perf_counter() - began) / len(splits["PublicTest"]) if public else None
    score = public["accuracy"] if public else result["accuracy"]  # no PublicTest: select on training
    if not result["stopped"]:
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(score)
        elif config.schedule == "step":
            scheduler.step()
    improved = score > state["best"]
    state.update(best=max(score, state["best"]), since_best=0 if improved else state["since_best"] + 1)
    complete = not result["stopped"]  # where resume continues: the next epoch, or this one mid-way
    state.update(epoch=epoch + 1 if complete else epoch, step=0 if complete else result["steps"])
    return {
        "kind": "epoch",
        "epoch": epoch,
        "train_loss": result["loss"],
        "train_accuracy": result["accuracy"],
        "public_loss": public["loss"] if public else None,
        "public_accuracy": public["accuracy"] if public else None,
        "lr": result["lr"],
        "seconds": result["seconds"],
        "best": improved,
        "stopped": result["stopped"],
        "step": result["steps"],
        "steps": result["of"],
        "eval_seconds_per_image": per_image,
        "images": sum(len(split) for split in splits.values()),
    }


def save_epoch(run, model, config, classes, preprocessing, record, optimizer, scheduler, generator, state) -> None:
    """Write last.pt (with what resume needs) and, when PublicTest improved, best.pt."""
    training = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler else None,
        "rng": generator.get_state(),
        "epoch_rng": state["epoch_rng"],
        "next_epoch": state["epoch"],
        "next_step": state["step"],
        "best": state["best"],
        "since_best": state["since_best"],
        "teacher_sha1": state["teacher_sha1"],
    }
    common = dict(config=config.to_dict(), classes=classes, preprocessing=preprocessing, epoch=record["epoch"])
    save_checkpoint(run.last, model, metrics=record, training_state=training, **common)
    if record["best"]:
        save_checkpoint(run.best, model, metrics=record, **common)


def restore_training_state(
    path: Path, model, optimizer, scheduler, generator, teacher_sha1: str | None = None
) -> dict[str, Any]:
    """Load last.pt into the live objects; return the loop state to continue from. ValueError when the run was
    distilled from another teacher file than `teacher_sha1`'s."""
    payload = load_checkpoint(path)
    training = payload["training_state"]
    check_same_teacher(training.get("teacher_sha1"), teacher_sha1, path.parent)  # absent before distillation
    model.load_state_dict(payload["state_dict"])
    optimizer.load_state_dict(training["optimizer"])
    if scheduler is not None and training["scheduler"] is not None:
        scheduler.load_state_dict(training["scheduler"])
    mid_epoch = training["next_step"] > 0  # stopped inside an epoch: replay its batch order
    generator.set_state(training["epoch_rng"] if mid_epoch else training["rng"])
    return {
        "epoch": training["next_epoch"],
        "step": training["next_step"],
        "best": training["best"],
        "since_best": training["since_best"],
        "epoch_rng": training["epoch_rng"],
        "teacher_sha1": teacher_sha1,
    }
