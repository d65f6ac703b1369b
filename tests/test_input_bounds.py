"""Every input bounded where it enters (issue 25, core/limits.py): one table or property per class of input.

csv text (size, line length, rows, while it streams), numeric options (finite, typed, in range), model options and
devices, server paths named in a form (confined, no existence oracle), the run folder of `train --out` (refused when
it holds a run, one writer at a time), ONNX files (loadable, metadata matching the graph) and diverged models (no
NaN model saved, no "happy (nan%)"). The CLI answers each with one `error: ...` line.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bad_inputs as bad
from core.cli.main import main
from core.data import bounded_read
from core.data.augment_options import AugmentOptions
from core.data.bounded_read import BoundedStream
from core.data.fer2013 import read_fer2013
from core.errors import DataError, OptionError
from core.limits import MAX_CSV_LINE_BYTES, MAX_INPUT_SIZE
from core.options import option_fields
from core.paths import REPO_ROOT, SAMPLE_DIR
from core.run_folder import RUN_LOCK
from core.training.config import TrainConfig

SHIPPED_ONNX = REPO_ROOT / "checkpoints" / "fer2013_fernet_int8.onnx"
SHIPPED_PT = REPO_ROOT / "checkpoints" / "fer2013_fernet.pt"


def error_line(stderr: str) -> str:
    """The CLI's one line: no traceback, the last line starts with `error: `."""
    assert "Traceback" not in stderr, stderr
    last = stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: "), stderr
    return last


# --- csv text: size, line length and rows, checked while it streams ----------------------------------------------


def reference_verdict(text: bytes, max_bytes: int, max_line: int, max_lines: int) -> bool:
    """Whether `text` is within the bounds, computed the plain way."""
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return len(text) <= max_bytes and len(lines) <= max_lines and all(len(line) <= max_line for line in lines)


@settings(max_examples=300, deadline=None)
@given(
    text=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    max_bytes=st.integers(1, 400),
    max_line=st.integers(1, 60),
    max_lines=st.integers(1, 30),
    read_size=st.integers(1, 64),
)
def test_the_bounded_stream_passes_text_within_bounds_unchanged_and_refuses_the_rest(
    text, max_bytes, max_line, max_lines, read_size
):
    stream = BoundedStream(io.BytesIO(text), Path("x.csv"), max_bytes=max_bytes, max_line=max_line, max_lines=max_lines)
    out = bytearray()
    try:
        while chunk := stream.read(read_size):
            out += chunk
    except DataError as exc:
        assert str(exc).startswith("x.csv") and "\n" not in str(exc)
        assert not reference_verdict(text, max_bytes, max_line, max_lines)
    else:
        assert bytes(out) == text and reference_verdict(text, max_bytes, max_line, max_lines)


def test_a_100_mib_line_is_refused_after_its_first_64_kib_without_the_memory(tmp_path):
    path = bad.gzip_long_line(tmp_path, 100 << 20)
    assert path.stat().st_size < 300_000
    script = (
        "import resource, sys; from core.data.fer2013 import read_fer2013; from core.errors import DataError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    read_fer2013(sys.argv[1])\nexcept DataError as exc:\n    print(exc)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    message, grown_mib = done.stdout.strip().splitlines()
    assert "line 2: a line is longer than 65,536 bytes" in message, done.stderr
    assert int(grown_mib) < 20  # pandas held the whole line before: ~1.2 GB more in the studio


@pytest.mark.slow
def test_a_1_mb_gzip_of_a_1_gib_line_is_one_error_line_not_a_memory_error(tmp_path, capsys):
    path = bad.gzip_long_line(tmp_path, 1 << 30)
    assert path.stat().st_size < 2_000_000
    assert main(["--data-dir", str(tmp_path / "data"), "import-data", "--fer2013", str(path)]) == 1
    assert "a line is longer than" in error_line(capsys.readouterr().err)
    assert not (tmp_path / "data").exists()


def test_the_decompressed_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(bounded_read, "MAX_CSV_BYTES", 10_000)  # the real bound (512 MiB) the same way
    text = bad.fer2013_text()  # 3 rows of 2,304 pixels: about 14 KB
    path = tmp_path / "fer2013.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError, match=r"fer2013\.csv\.gz: the text is larger than 10,000 bytes \(decompressed\)"):
        read_fer2013(path)


def test_an_image_folder_with_too_many_images_is_refused_before_any_is_read(tmp_path, monkeypatch):
    from PIL import Image

    from core.data import folders

    for split in ("train", "test"):
        (tmp_path / split / "happy").mkdir(parents=True)
        for i in range(3):
            Image.new("L", (48, 48), 100).save(tmp_path / split / "happy" / f"{i}.png")
    monkeypatch.setattr(folders, "MAX_FOLDER_IMAGES", 5)
    monkeypatch.setattr(folders, "open_image", lambda path: pytest.fail("an image was read"))
    with pytest.raises(DataError, match="holds 6 images, more than the 5 a data set may have"):
        folders.read_image_folders(tmp_path)


def test_the_real_files_lie_well_within_the_bounds():
    longest = max(len(line) for line in bad.fer2013_text(pixels=" ".join(["255"] * 2304)).splitlines())
    assert longest * 6 < MAX_CSV_LINE_BYTES  # the longest possible FER2013 row, with a margin


# --- numeric options: finite, of their type, within range --------------------------------------------------------


def numeric_fields(cls: type) -> list[str]:
    return [f.name for f, hint in option_fields(cls) if hint in (int, float)]


BAD_NUMBERS = [float("inf"), float("-inf"), float("nan"), True, "3", 10**12, -(10**12)]


@pytest.mark.parametrize(
    "cls, name",
    [(TrainConfig, n) for n in numeric_fields(TrainConfig)]
    + [(AugmentOptions, n) for n in numeric_fields(AugmentOptions)],
)
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_every_numeric_option_refuses_non_finite_wrongly_typed_and_out_of_range_values(cls, name, value):
    with pytest.raises(OptionError, match=name):
        cls(**{name: value})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(numeric_fields(TrainConfig)),
    value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70),
)
def test_a_numeric_option_is_accepted_only_when_finite_and_within_its_bounds(name, value):
    f, hint = next((f, hint) for f, hint in option_fields(TrainConfig) if f.name == name)
    low, high = f.metadata.get("min"), f.metadata.get("max")
    try:
        config = TrainConfig(**{name: value})
    except OptionError:
        return
    assert isinstance(value, int) or hint is float
    assert math.isfinite(getattr(config, name))
    assert (low is None or value >= low) and (high is None or value <= high)


@pytest.mark.parametrize(
    "flags, problem",
    [
        (["--lr", "inf"], "lr must be a finite number"),
        (["--lr", "nan"], "lr must be a finite number"),
        (["--input-size", "100000"], f"input_size must be in \\[16, {MAX_INPUT_SIZE}\\]"),
        (["--rotate", "nan"], "augment rotate must be a finite number"),
        (["--device", "cuda:99"], "device cuda:99 is not on this machine"),
        (["--device", "banana"], "unknown device 'banana'"),
        (["--model-option", "colour=1"], "unknown option\\(s\\) colour"),
        (["--model-option", "width=NaN"], "model option width of 'fernet' must be a finite number"),
        (["--model-option", "width=1000"], "width must be in \\(0, 8\\]"),
        (["--model", "emotion_cnn", "--input-size", "32"], "cannot take 32x32 inputs"),
    ],
    ids=lambda x: " ".join(x) if isinstance(x, list) else None,
)
def test_train_refuses_a_bad_option_with_one_line_exit_2_and_writes_nothing(flags, problem, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", *flags, "--epochs", "1", "--data-path", str(SAMPLE_DIR), "--out", str(out)])
    line = error_line(capsys.readouterr().err)
    assert code == 2 and re.search(problem, line), line
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--path", "x.png", "--stride", "0"],
        ["label-issues", "--folds", "1"],
        ["label-issues", "--top", "-5"],
        ["label-issues", "--epochs", "nan"],
        ["make-sample", "--per-class", "0"],
        ["train", "--nproc-per-node", "0"],
        ["train", "--node-rank", "-1"],
    ],
    ids=" ".join,
)
def test_other_numeric_flags_are_bounded_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_.value.code == 2 and re.search(r"error: argument --[\w-]+: .*(is outside|is not a whole number)", last)


def test_a_run_started_by_the_runner_is_checked_before_its_folder_is_made(tmp_path):
    from core.jobs.runner import start_run

    with pytest.raises(OptionError, match="unknown option"):
        start_run(TrainConfig(model_options={"colour": 1}), root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# --- server paths named in a form: confined, and the same answer whether or not the file exists ----------------


@pytest.fixture
def confined_roots(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "weights.pt").write_bytes(b"x")
    monkeypatch.setenv("FER_DATA_DIR", str(data))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("FER_IMPORT_ROOTS", raising=False)
    monkeypatch.setenv("FER_SHARED_DATA", str(tmp_path / "shared"))
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.pt").write_bytes(b"x")
    return data, secret


@pytest.mark.parametrize("field", ["weights", "teacher", "data_path"])
def test_a_form_path_outside_the_allowed_folders_is_refused_alike_whether_or_not_it_exists(field, confined_roots):
    from core.training.server_paths import confine_server_paths

    data, secret = confined_roots

    def config(path: Path) -> TrainConfig:
        return (
            TrainConfig(model_options={"weights": str(path)})
            if field == "weights"
            else TrainConfig(**{field: str(path)})
        )

    messages = []
    for path in (secret / "key.pt", secret / "missing.pt", data / ".." / "secret" / "key.pt", Path("/etc/shadow")):
        with pytest.raises(DataError) as info:
            confine_server_paths(config(path))
        messages.append(str(info.value).replace(str(path), "PATH"))
    assert len(set(messages)) == 1 and "outside the folders allowed here" in messages[0]
    inside = confine_server_paths(config(data / "weights.pt"))
    named = inside.model_options["weights"] if field == "weights" else getattr(inside, field)
    assert named == str((data / "weights.pt").resolve())


def test_the_runner_refuses_a_weights_path_outside_and_makes_no_folder(confined_roots, tmp_path):
    from core.jobs.runner import start_run

    _, secret = confined_roots
    config = TrainConfig(model="efficientnet_b0", model_options={"weights": str(secret / "key.pt")})
    with pytest.raises(DataError, match="outside the folders allowed here"):
        start_run(config, root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


# --- train --out: a folder holding a run is refused unless resuming; one writer at a time ----------------------


def test_train_refuses_an_out_folder_that_holds_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(TrainConfig().to_dict()))
    (out / "metrics.jsonl").write_text('{"kind": "epoch"}\n')
    before = sorted(p.name for p in out.iterdir())
    assert main(["train", "--epochs", "1", "--data-path", str(SAMPLE_DIR), "--out", str(out)]) == 1
    assert "already holds a run; pass --resume" in error_line(capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written
    assert main(["train", "--resume", "--out", str(tmp_path / "empty")]) == 1
    assert "holds no run to resume" in error_line(capsys.readouterr().err)


def test_two_trainings_into_one_out_folder_cannot_both_write(tmp_path, capsys):
    from core.files import exclusive_lock

    out = tmp_path / "run"
    out.mkdir()
    with exclusive_lock(out / RUN_LOCK, wait=0) as had:  # as the first `train --out` holds it
        assert had
        assert main(["train", "--epochs", "1", "--data-path", str(SAMPLE_DIR), "--out", str(out)]) == 1
    assert "another process is training into this folder" in error_line(capsys.readouterr().err)
    assert not (out / "config.json").exists() and not (out / "status.json").exists()


def test_a_cli_run_whose_loss_becomes_nan_fails_with_a_status_and_saves_no_model(tmp_path, capsys, monkeypatch):
    from core.job_status import read_status
    from core.training import loop

    real = loop.batch_loss
    monkeypatch.setattr(loop, "batch_loss", lambda *a, **k: real(*a, **k) * float("nan"))
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data-path",
            str(SAMPLE_DIR),
            "--model-option",
            "width=0.25",
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "2",
            "--batch-size",
            "8",
            "--classes",
            "fer3",
            "--out",
            str(out),
        ]
    )
    assert code == 1 and "the training loss became nan at step 1" in error_line(capsys.readouterr().err)
    status = read_status(out)
    assert status["state"] == "failed" and "training diverged" in status["reason"]
    assert not (out / "best.pt").exists() and not (out / "last.pt").exists()


# --- diverged models: never "happy (nan%)" ---------------------------------------------------------------------


def test_a_checkpoint_with_nan_weights_is_refused_at_load(tmp_path):
    from core.inference.predictor import Predictor

    payload = torch.load(SHIPPED_PT, weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    torch.save(payload, tmp_path / "diverged.pt")
    with pytest.raises(ValueError, match=f"weights are not finite \\({name} holds NaN"):
        Predictor.load(tmp_path / "diverged.pt", device="cpu")


def test_a_model_giving_nan_probabilities_is_an_error_not_a_label():
    from core.inference.predictor import Predictor

    predictor = Predictor.load(SHIPPED_ONNX)
    predictor.backend.logits = lambda batch: np.full((len(batch), 7), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="not numbers \\(NaN or inf\\)"):
        predictor.predict(np.zeros((48, 48, 3), dtype=np.uint8), whole=True)


# --- ONNX files: loadable, and their metadata matching the graph --------------------------------------------------

ONNX_EXPECTED = {
    "empty file": "not a loadable ONNX model",
    "garbage bytes": "not a loadable ONNX model",
    "a text file": "not a loadable ONNX model",
    "no metadata": "has no FER Studio metadata",
    "metadata: 3 classes for 7 outputs": r"the model's output is logits \['batch', 7\]; its metadata names 3 classes",
    "metadata: input 64 for a 48 graph": r"the model's input is input \['batch', 1, 48, 48\]; its metadata says "
    r"input \[N, 1, 64, 64\]",
    "metadata: input 100000": "input size 100000 is outside 1..512",
    "metadata: not JSON": "metadata is not valid JSON",
}


@pytest.fixture(scope="module")
def onnx_cases():
    pytest.importorskip("onnx")
    cases = bad.onnx_cases(SHIPPED_ONNX)
    assert cases.keys() == ONNX_EXPECTED.keys()
    return cases


@pytest.mark.parametrize("case", ONNX_EXPECTED)
def test_a_bad_onnx_file_is_one_error_at_load(case, onnx_cases, tmp_path, capsys):
    from core.export.onnx import read_metadata
    from core.inference.predictor import Predictor

    path = onnx_cases[case](tmp_path)
    for load in (Predictor.load, read_metadata):
        with pytest.raises(DataError, match=ONNX_EXPECTED[case]) as info:
            load(path)
        assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    image = REPO_ROOT / "docs" / "predict.png"
    assert main(["predict", "--checkpoint", str(path), "--path", str(image)]) == 1
    assert ONNX_EXPECTED[case].split("(")[0].split("\\")[0] in error_line(capsys.readouterr().err)


def test_the_shipped_onnx_models_pass_the_checks():
    from core.export.onnx import read_metadata

    for path in sorted((REPO_ROOT / "checkpoints").glob("*.onnx")):
        meta = read_metadata(path)
        assert meta["input_size"] == 48 and len(meta["classes"]) == 7


def test_docs_security_names_every_bound():
    import core.limits

    text = (REPO_ROOT / "docs" / "security.md").read_text()
    assert "## Input bounds" in text
    for constant in (name for name in vars(core.limits) if name.startswith("MAX_")):
        assert constant in text
