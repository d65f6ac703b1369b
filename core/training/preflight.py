"""Checks a training config must pass before any file of its run is written.

They catch, with one-line OptionErrors, what would otherwise fail at the run's first step, after its folder, status
and log exist: the CLI runs them before it claims `--out`, the runner before it makes a run folder.
"""

from __future__ import annotations

from core.training.config import TrainConfig


def preflight(config: TrainConfig) -> None:
    """OptionError now, before any file is written, for what would otherwise fail at the run's first step: a
    device this machine lacks, model options the model refuses, an input side it cannot take."""
    from core.device import resolve_device
    from core.models.registry import check_input_side, create_model, model_spec

    resolve_device(config.device)
    model = create_model(config.model, num_classes=len(config.class_names()), **config.model_options)
    check_input_side(model, config.model, config.input_size or model_spec(config.model).input_size)
