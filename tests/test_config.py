"""The training configuration (core/training/config.py): what it refuses."""
from __future__ import annotations

import pytest

from core.training.config import TrainConfig


def test_config_refuses_bad_values_and_unknown_fields():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown config field"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match="unknown class"):
        TrainConfig(classes="happy,bored")
