"""Which labels a run trains and is scored on: the data set with the column its label source reads.

fer2013, ferplus and ferplus-soft are columns of every import; relabeled (the annotators' labels), cleaned (label
issues dropped or corrected) and consensus (annotators and out-of-fold probabilities combined) are made here from
stored results, so training only ever trains on the labels it is handed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from core.checkpoint_format import peek_checkpoint
from core.data.dataset import FerDataset
from core.data.loading import load_training_dataset
from core.export.onnx import read_metadata
from core.jobs.label_issues import load_consensus, load_issues
from core.labels.consensus import with_consensus
from core.labels.issues import cleaned_dataset
from core.labels.relabels import relabeled_dataset
from core.training.config import TrainConfig
from core.training.tensors import check_training_classes

DERIVED = ("relabeled", "cleaned", "consensus")  # label sources made from stored results, not columns of an import


def with_label_source(dataset: FerDataset, config: TrainConfig) -> FerDataset:
    """The data set with the column its label source reads: the relabels, the cleaned or the consensus labels."""
    if config.label_source == "relabeled" and "relabeled" not in dataset.meta.columns:
        return relabeled_dataset(dataset)
    if config.label_source == "cleaned" and "cleaned" not in dataset.meta.columns:
        table = load_issues(dataset)
        if table is None:
            raise ValueError("no label issues for this data set yet: run `python -m core label-issues --compute` first")
        return cleaned_dataset(dataset, table, config.cleaning)
    if config.label_source == "consensus" and "consensus" not in dataset.meta.columns:
        found = load_consensus(dataset)
        if found is None:
            raise ValueError(
                "consensus labels need out-of-fold probabilities: run `python -m core label-issues --compute` first"
            )
        return with_consensus(dataset, found[0])
    return dataset


def training_data(config: TrainConfig, dataset: FerDataset | None = None) -> FerDataset:
    """What a run of `config` reads: `dataset` (else its `data_path`, else the imported data set) with its labels."""
    return with_label_source(dataset if dataset is not None else load_training_dataset(config.data_path), config)


def check_trainable(dataset: FerDataset, config: TrainConfig) -> None:
    """Refuse, before a run is made, a class set with a class that has no Training image in `dataset` under the
    run's labels (ValueError naming a label source that has it)."""
    check_training_classes(with_label_source(dataset, config), config)


def scoring_data(
    checkpoint: str | Path, labels: str | None = None, dataset: FerDataset | None = None
) -> FerDataset | None:
    """The data to evaluate `checkpoint` on, with the column of the labels it is scored on (`labels`, else those it
    was trained on); None (evaluation reads the data set itself) when those are a column of every import."""
    if Path(checkpoint).suffix.lower() == ".onnx":
        config = TrainConfig(label_source=read_metadata(checkpoint)["label_source"])
    else:
        config = TrainConfig.from_dict(peek_checkpoint(checkpoint)["config"])
    config = dataclasses.replace(config, label_source=labels or config.label_source)
    return training_data(config, dataset) if config.label_source in DERIVED else dataset
