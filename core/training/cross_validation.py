"""Out-of-fold predictions: each cross-validation run predicts the fold it never trained on.

A run with `config.folds = K, fold = k` trains on every labelled image outside fold k (all splits) and, when it
ends, writes `heldout.npz` into its run folder: the rows of fold k, their class probabilities from last.pt (flip
TTA) and the class names. K such runs give every image one out-of-sample probability vector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.data.loading import load_training_dataset
from core.data.preprocessing import Preprocessing
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.models.probabilities import predict_probabilities
from core.run_folder import HELDOUT, RunFolder
from core.training.config import TrainConfig
from core.training.folds import heldout_rows


def write_heldout(run: Path, config: TrainConfig, dataset=None) -> Path:
    """Predict the held-out fold with the run's last.pt; return the file written."""
    dataset = dataset if dataset is not None else load_training_dataset(config.data_path)
    rows = heldout_rows(dataset, config)
    payload = load_checkpoint(RunFolder(run).last)
    model = model_from_checkpoint(payload)
    images = torch.from_numpy(np.ascontiguousarray(dataset.images[rows])).unsqueeze(1)
    preprocessing = Preprocessing.from_payload(payload).with_tta("flip")
    probs = predict_probabilities(model, images, preprocessing).numpy().astype(np.float32)
    target = run / HELDOUT
    np.savez(target, rows=rows, probs=probs, classes=np.array(payload["classes"]), n_images=np.array(len(dataset)))
    return target
