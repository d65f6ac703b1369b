"""The server files a training config names, confined to the folders a remote user may name.

A run started from the studio (or any job the runner starts) may read only files inside `core.paths.import_roots`
(the data folder and the shared data, or `FER_IMPORT_ROOTS`) and the project's own folders (the shipped sample,
checkpoints/, the runs folder: a teacher is a shipped or trained checkpoint): a model option `weights=/etc/shadow`
or a teacher `../../secret.pt` is refused with the same message whether or not the file exists, so the answer tells
a remote user nothing about the server's files. The command line is the local user's own and is not confined.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from core.paths import CHECKPOINTS_DIR, SAMPLE_DIR, contained_path, import_roots, runs_dir
from core.training.config import TrainConfig

PATH_MODEL_OPTIONS = ("weights",)  # model options that name a file (core/models/transfer.py)
PATH_FIELDS = ("data_path", "teacher", "init_from")  # TrainConfig fields that name a file or folder


def allowed_roots() -> list[Path]:
    """The folders a config started by the runner may name files in."""
    return [*import_roots(), SAMPLE_DIR, CHECKPOINTS_DIR, runs_dir()]


def confine_server_paths(config: TrainConfig, roots: list[Path] | None = None) -> TrainConfig:
    """`config` with each file it names resolved inside `roots` (default: allowed_roots()); DataError otherwise."""
    roots = allowed_roots() if roots is None else roots
    options = dict(config.model_options)
    for key in PATH_MODEL_OPTIONS:
        if options.get(key) is not None:
            options[key] = str(contained_path(str(options[key]), roots))
    changes = {
        name: str(contained_path(str(value), roots))
        for name in PATH_FIELDS
        if (value := getattr(config, name, None)) is not None
    }
    return dataclasses.replace(config, model_options=options, **changes)
