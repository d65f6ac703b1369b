"""TrainConfig's fields are the one source of the `train` flags and the Train form: every field has both, with
the field's default, and flags parse back into an equal config."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from app.config_form import config_from_form
from core.cli.config_flags import add_config_flags, config_from_args
from core.cli.train import add_train_commands
from core.data.augment_options import NO_AUGMENT, AugmentOptions
from core.options import field_default, option
from core.paths import REPO_ROOT
from core.training.config import TrainConfig

# the studio trains on the imported data only: typed server paths (a data folder, a teacher checkpoint) stay out
NOT_IN_FORM = {"data_path", "init_from", "teacher", "distill_weight", "distill_temperature"}


def train_parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser().add_subparsers()
    add_train_commands(commands)
    return commands.choices["train"]


def field_paths() -> dict[str, object]:
    """Every option's dest (`augment.flip` for a nested one) with its field default."""
    paths = {f.name: field_default(f) for f in dataclasses.fields(TrainConfig) if f.name != "augment"}
    paths |= {f"augment.{f.name}": field_default(f) for f in dataclasses.fields(AugmentOptions)}
    return paths


def value_at(config: TrainConfig, path: str) -> object:
    for name in path.split("."):
        config = getattr(config, name)
    return config


def to_argv(config: TrainConfig) -> list[str]:
    """The flags that describe `config`, read off the parser: only those whose value is not the default."""
    argv = ["--no-augment"] if config.augment == NO_AUGMENT else []
    for action in train_parser()._actions:
        if action.dest not in field_paths() or value_at(config, action.dest) == action.default:
            continue
        value, flag = value_at(config, action.dest), action.option_strings[0]
        if action.nargs == 0:
            argv.append(flag)
        elif isinstance(value, dict):
            argv += [item for key, v in value.items() for item in (flag, f"{key}={v}")]
        else:
            argv += [flag, *map(str, value if isinstance(value, list) else [value])]
    return argv


CHANGED = TrainConfig(
    model="emotion_cnn",
    model_options={"width": 0.5, "name": "x"},
    classes="fer3",
    label_source="ferplus",
    cleaning="suggested",
    data_path="d",
    epochs=2,
    batch_size=8,
    optimizer="adamw",
    lr=0.01,
    momentum=0.8,
    weight_decay=1e-3,
    schedule="step",
    milestones=[5, 7],
    plateau_patience=4,
    label_smoothing=0.2,
    loss="balanced-softmax",
    class_weights=True,
    class_weight_power=0.5,
    early_stopping=3,
    augment=AugmentOptions(
        flip=False,
        shift=0.2,
        rotate=5.0,
        scale=0.3,
        brightness=0.1,
        contrast=0.4,
        erase=0.5,
        invert=0.2,
        color_jitter=True,
    ),
    input_size=64,
    tta="flip",
    seed=3,
    device="cpu",
    amp="off",
    max_steps_per_epoch=5,
    print_freq=7,
    folds=5,
    fold=2,
    init_from="i.pt",
    teacher="t.pt",
    distill_weight=0.5,
    distill_temperature=2.0,
)


def test_every_field_has_a_flag_with_the_field_default():
    defaults = {a.dest: a.default for a in train_parser()._actions}
    for path, default in field_paths().items():
        assert path in defaults, f"no flag for TrainConfig.{path}"
        assert defaults[path] == default, path


def test_flags_round_trip_into_an_equal_config():
    parser = train_parser()
    assert config_from_args(parser.parse_args([]), TrainConfig) == TrainConfig()
    assert all(value_at(CHANGED, p) != default for p, default in field_paths().items())  # every flag is exercised
    assert config_from_args(parser.parse_args(to_argv(CHANGED)), TrainConfig) == CHANGED


def test_the_existing_flag_names_still_work():
    argv = [
        "--data-path",
        "d",
        "--batch-size",
        "8",
        "--print_freq",
        "3",
        "--model-option",
        "width=0.25",
        "--model-option",
        "blocks=2",
        "--class-weights",
        "--early-stopping",
        "2",
        "--max-steps-per-epoch",
        "1",
        "--labels",
        "ferplus",
        "--milestones",
        "3",
        "4",
        "--out",
        "o",
        "--resume",
        "--nproc-per-node",
        "2",
        "--nnodes",
        "1",
        "--node-rank",
        "0",
        "--master",
        "h:1",
    ]
    args = train_parser().parse_args(argv)
    expected = TrainConfig(
        data_path="d",
        batch_size=8,
        print_freq=3,
        model_options={"width": 0.25, "blocks": 2},
        class_weights=True,
        early_stopping=2,
        max_steps_per_epoch=1,
        label_source="ferplus",
        milestones=[3, 4],
    )
    assert config_from_args(args, TrainConfig) == expected
    assert (args.resume, args.nproc_per_node, args.master) == (True, 2, "h:1")
    assert train_parser().parse_args(["--print-freq", "9"]).print_freq == 9


@pytest.mark.parametrize(
    "argv",
    [["--no-augment", "--invert", "0.2", "--color-jitter"], ["--invert", "0.2", "--color-jitter", "--no-augment"]],
)
def test_no_augment_keeps_the_augment_flags_given_in_any_order(argv):
    config = config_from_args(train_parser().parse_args(argv), TrainConfig)
    assert config.augment == dataclasses.replace(NO_AUGMENT, invert=0.2, color_jitter=True)


def test_a_new_option_is_one_line():
    @dataclasses.dataclass
    class Extended(TrainConfig):
        warmup: int = option(2, "warmup epochs", min=0)

    parser = argparse.ArgumentParser()
    add_config_flags(parser, Extended)
    assert config_from_args(parser.parse_args(["--warmup", "5"]), Extended).warmup == 5
    with pytest.raises(ValueError, match="warmup must be >= 0"):
        Extended(warmup=-1)


def test_the_form_reads_typed_lists_and_options():
    config = config_from_form(TrainConfig, {"milestones": "5, 7", "model_options": "width=0.5 name=x", "seed": 3})
    assert config == TrainConfig(milestones=[5, 7], model_options={"width": 0.5, "name": "x"}, seed=3)
    with pytest.raises(ValueError):
        config_from_form(TrainConfig, {"milestones": "five"})


def test_every_field_has_a_form_widget_with_the_field_default(tmp_path):
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "train.py"), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    widgets = {
        w.key: w
        for kind in ("number_input", "selectbox", "checkbox", "text_input")
        for w in getattr(app, kind)
        if w.key
    }
    page_defaults = TrainConfig(print_freq=10)  # the page's one deliberate difference: livelier curves
    metadata = {f.name: f.metadata for f in dataclasses.fields(TrainConfig)}
    for path in set(field_paths()) - NOT_IN_FORM:
        applies_when = metadata.get(path, {}).get("applies_when", {})
        if any(getattr(page_defaults, other) not in values for other, values in applies_when.items()):
            assert f"train_{path}" not in widgets, f"{path} is shown where it does not apply"
            continue
        assert f"train_{path}" in widgets, f"no form widget for TrainConfig.{path}"
        value = widgets[f"train_{path}"].value
        if not isinstance(value, str) or isinstance(value_at(page_defaults, path), str):
            assert value == value_at(page_defaults, path), path
    assert app.multiselect(key="train_custom_classes").value == []  # not prefilled while 'custom' is not chosen


def test_config_refuses_bad_values_and_unknown_fields():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown config field"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match="unknown class"):
        TrainConfig(classes="happy,bored")
