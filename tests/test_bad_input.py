"""Issue #6, "bad input": every bad file of the issue fed to every reader and every entry point.

Rows are the cases of tests/bad_inputs.py; the entry points are the readers themselves, the CLI (in-process,
plus real subprocesses for the exit code and a one-line stderr), the Streamlit uploads (AppTest, one session
fed every case in turn) and the Gradio upload (served on 127.0.0.1, called with gradio_client). Each cell
expects the right result or a clear message, and the app answering the next request.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bad_inputs as bad
from core.cli.main import main
from core.data.dataset import build_fer2013_dataset
from core.data.folders import read_image_folders
from core.data.images import open_image, to_face_array
from core.data.store import current_dataset_dir
from core.errors import DataError
from core.inference.predictor import Predictor
from core.paths import REPO_ROOT

CHECKPOINT = REPO_ROOT / "checkpoints" / "fer2013_fernet.pt"  # the shipped model: real labels on real faces
FACE, OTHER = bad.photo("happy.jpeg"), bad.photo("angry.jpeg")
IMAGE_CASES = bad.image_cases(FACE, OTHER)

CSV_EXPECTED = {
    "empty file": r"fer2013\.csv: the file is empty",
    "missing column": r"fer2013\.csv: missing column\(s\) pixels; found emotion, Usage",
    "row with 2303 pixels": r"fer2013\.csv, line 3: expected 2304 pixels \(48x48\), found 2303",
    "pixel value 256": r"fer2013\.csv, line 3: pixel value 256 is outside 0\.\.255",
    "pixel value -1": r"fer2013\.csv, line 3: pixel value -1 is outside 0\.\.255",
    "label 7": r"fer2013\.csv, line 3: unknown emotion label '7'; expected one of 0, 1, 2, 3, 4, 5, 6",
    "unknown Usage": r"fer2013\.csv, line 3: unknown Usage 'Validation'; expected one of Training, PublicTest, "
    r"PrivateTest",
    "FERPlus one row short": r"fer2013new\.csv: has 2 rows but .*fer2013\.csv has 3; .* same number of rows",
    "FERPlus empty file": r"fer2013new\.csv: the file is empty",
    "one 100 MiB line in a 100 KB .gz": r"fer2013\.csv\.gz, line 2: a line is longer than 65,536 bytes",
    "250,001 rows": r"fer2013\.csv: more than 250,000 rows",
}


@dataclass(frozen=True)
class Expect:
    """What every entry point must give for one image case."""

    error: str | None = None  # the problem (a regex) a refusal names, after the file's name, the same everywhere
    faces: int | None = None  # otherwise: how many faces the prediction has
    message: str = ""  # and what its message says
    folder_error: str | None = None  # the folder importer refuses what prediction answers with a message


TOO_SMALL = r"the image is 1x1 pixels, too small to hold a face \(at least 12x12\)"
IMAGE_EXPECTED = {
    "empty file": Expect(error=r"the file is empty"),
    "not an image": Expect(error=r"not an image \(or an unsupported format\)"),
    "truncated JPEG": Expect(error=r"the image file is truncated: it ends before the image does"),
    "1x1 image": Expect(faces=0, message=TOO_SMALL, folder_error=TOO_SMALL),
    "20000x20000 PNG bomb": Expect(error=r"image has 400,000,000 pixels, above the limit of 40,000,000"),
    "animated GIF": Expect(faces=1, message=r"1 face found \(animated image: the first of its 3 frames\)"),
    "CMYK JPEG": Expect(faces=1, message=r"^1 face found$"),
    "16-bit PNG": Expect(faces=1, message=r"^1 face found$"),
    "EXIF-rotated photo": Expect(faces=1, message=r"^1 face found$"),
    "no face": Expect(faces=0, message=r"no face found in the image"),
    "twenty faces": Expect(faces=20, message=r"^20 faces found$"),
}
assert IMAGE_EXPECTED.keys() == IMAGE_CASES.keys()


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load(CHECKPOINT)


@pytest.fixture(scope="module")
def upright_label(predictor) -> str | None:
    """The label of the upright RGB photo: CMYK, 16-bit, rotated and animated copies must give it too (None
    without the photos: the cases that need it are skipped then)."""
    return None if FACE is None else predictor.predict(FACE).faces[0].label


def make_image(case: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    generator = IMAGE_CASES[case]
    if generator is None:
        pytest.skip(f"{case} needs the real photos in ../shared/data/photos")
    return generator(folder)


def folder_tree(case: str, root: Path) -> Path:
    """An image-folder data set: the case's file in train/happy/, one good face in test/happy/."""
    make_image(case, root / "train" / "happy")
    (root / "test" / "happy").mkdir(parents=True)
    Image.new("L", (48, 48), 128).save(root / "test" / "happy" / "ok.png")
    return root


def error_line(stderr: str) -> str:
    """The CLI's message: one line after whatever progress bars printed, never a traceback."""
    assert "Traceback" not in stderr, stderr
    last = stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: "), stderr
    return last


def unescape(markdown: str) -> str:
    """Text as a person reads it: the pages backslash-escape Markdown characters in messages."""
    return re.sub(r"\\(.)", r"\1", markdown)


def read_summary(summary: str) -> tuple[str, list[str]]:
    """The message and the face labels from core.inference.predictor.summary's Markdown, as both apps show it."""
    message, *lines = summary.splitlines()
    message = message.split(" · test-time augmentation: ")[0]  # the TTA applied follows the message
    return message.strip("*"), [re.match(r"- face \d+: \*\*(\w+)\*\*", line).group(1) for line in lines]


def check_prediction(expect: Expect, faces: int, message: str, labels: list[str], upright: str | None) -> None:
    assert faces == expect.faces, message
    assert re.search(expect.message, message), message
    if expect.faces == 1:
        assert labels == [upright]


# --- csv files: readers, CLI, Streamlit upload ----------------------------------------------------------------


@pytest.mark.parametrize("case", CSV_EXPECTED)
def test_csv_reader(case, tmp_path):
    fer, plus = bad.CSV_CASES[case](tmp_path)
    with pytest.raises(DataError, match=CSV_EXPECTED[case]):
        build_fer2013_dataset(fer, plus)


@pytest.mark.parametrize("case", CSV_EXPECTED)
def test_csv_cli_import(case, tmp_path, capsys):
    fer, plus = bad.CSV_CASES[case](tmp_path)
    data = tmp_path / "data"
    argv = ["--data-dir", str(data), "import-data", "--fer2013", str(fer)] + (["--ferplus", str(plus)] if plus else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(CSV_EXPECTED[case], error_line(err)), err
    assert current_dataset_dir(data) is None  # nothing imported


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The Streamlit studio on its own empty data and runs folders, with the shipped model chosen."""
    from streamlit.testing.v1 import AppTest

    root = tmp_path_factory.mktemp("studio")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_DATA_DIR", str(root / "data"))
        patch.setenv("FER_RUNS_DIR", str(root / "runs"))

        def open_page(page: str) -> AppTest:
            app = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=120)
            app.query_params["model"] = str(CHECKPOINT)
            app.run()
            if page != "data.py":
                app.switch_page(str(REPO_ROOT / "pages" / page)).run()
            assert not app.exception, [e.value for e in app.exception]
            return app

        yield open_page


@pytest.fixture(scope="module")
def data_page(studio):
    app = studio("data.py")
    [plus_path] = [t for t in app.text_input if t.label.startswith("FERPlus path")]
    plus_path.set_value("")  # only what is uploaded
    return app


@pytest.mark.slow
@pytest.mark.parametrize("case", CSV_EXPECTED)
def test_csv_streamlit_upload(case, data_page, tmp_path):
    fer, plus = bad.CSV_CASES[case](tmp_path)
    data_page.file_uploader(key="data_fer_upload").set_value((fer.name, fer.read_bytes(), "text/csv"))
    data_page.file_uploader(key="data_plus_upload").set_value(
        (plus.name, plus.read_bytes(), "text/csv") if plus else None
    )
    data_page.button(key="data_import_csv").click().run()
    assert not data_page.exception, [e.value for e in data_page.exception]
    errors = [unescape(e.value) for e in data_page.error]
    assert len(errors) == 1 and re.match(f"Nothing was imported: .*{CSV_EXPECTED[case]}", errors[0]), errors
    assert any("sample" in i.value for i in data_page.info)  # the page goes on, on the data it had


# --- image files: readers, predictor, CLI, Streamlit upload, Gradio upload ---------------------------------


@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_open_and_predict(case, tmp_path, predictor, upright_label):
    expect, path = IMAGE_EXPECTED[case], make_image(case, tmp_path)
    if expect.error:
        with pytest.raises(DataError, match=f"{path.name}: {expect.error}"):
            open_image(path)
        return
    result = predictor.predict(open_image(path))
    check_prediction(expect, len(result.faces), result.message, [f.label for f in result.faces], upright_label)


@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_folder_reader(case, tmp_path):
    expect, root = IMAGE_EXPECTED[case], folder_tree(case, tmp_path / "faces")
    error = expect.error or expect.folder_error
    if error:
        with pytest.raises(DataError, match=f"train/happy/[^/]+: {error}"):
            read_image_folders(root)
    else:
        dataset = read_image_folders(root)
        assert dataset.images.shape == (2, 48, 48) and list(dataset.meta["label"]) == ["happy", "happy"]


@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_cli_import_folders(case, tmp_path, capsys):
    expect, root = IMAGE_EXPECTED[case], folder_tree(case, tmp_path / "faces")
    error = expect.error or expect.folder_error
    code = main(["--data-dir", str(tmp_path / "data"), "import-data", "--folders", str(root)])
    out, err = capsys.readouterr()
    if error:
        assert code == 1 and re.search(f"train/happy/[^/]+: {error}", error_line(err)), err
        assert current_dataset_dir(tmp_path / "data") is None
    else:
        assert code == 0 and "imported 2 images" in out, err


@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_cli_predict(case, tmp_path, capsys, upright_label):
    expect, path = IMAGE_EXPECTED[case], make_image(case, tmp_path)
    out_png = tmp_path / "annotated.png"
    code = main(["predict", "--path", str(path), "--checkpoint", str(CHECKPOINT), "--out", str(out_png)])
    out, err = capsys.readouterr()
    if expect.error:
        assert code == 1 and re.search(f"{path.name}: {expect.error}", error_line(err)), err
        assert not out_png.exists()
        return
    assert code == 0, err
    message = out.splitlines()[0].removeprefix(f"{path}: ").split(" (test-time augmentation: ")[0]
    labels = re.findall(r"^  face \d+: (\w+) ", out, flags=re.MULTILINE)
    check_prediction(expect, len(labels), message, labels, upright_label)
    assert out_png.is_file()


@pytest.fixture(scope="module")
def predict_page(studio):
    return studio("predict.py")


@pytest.mark.slow
@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_streamlit_upload(case, predict_page, tmp_path, upright_label):
    expect, path = IMAGE_EXPECTED[case], make_image(case, tmp_path)
    upload = predict_page.file_uploader(key="predict_upload")
    upload.set_value((path.name, path.read_bytes(), "application/octet-stream")).run()
    assert not predict_page.exception, [e.value for e in predict_page.exception]
    assert predict_page.title[0].value == "Predict"  # the page is still there
    if expect.error:
        errors = [unescape(e.value) for e in predict_page.error]
        assert len(errors) == 1 and re.fullmatch(f"That file cannot be used: {expect.error}.*", errors[0]), errors
        return
    [summary] = [m.value for m in predict_page.markdown if m.value.startswith("**")]
    message, labels = read_summary(summary)
    check_prediction(expect, len(labels), message, labels, upright_label)


@pytest.fixture(scope="module")
def gradio_client(tmp_path_factory):
    """The Gradio app served in this process on a free local port, and a client for it."""
    from gradio_client import Client

    from app.gradio.app import launch_app, parse_args
    from tests.browser_fixtures import free_port

    root = tmp_path_factory.mktemp("gradio")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_RUNS_DIR", str(root / "runs"))
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setenv("GRADIO_TEMP_DIR", str(root / "uploads"))
        demo = launch_app(parse_args(["--checkpoint", str(CHECKPOINT), "--port", str(free_port())]))
        try:
            yield Client(demo.local_url, verbose=False, analytics_enabled=False, download_files=str(root))
        finally:
            demo.close()


def gradio_predict(client, path: Path):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), str(CHECKPOINT), "none", api_name="/predict")


@pytest.mark.slow
@pytest.mark.parametrize("case", IMAGE_EXPECTED)
def test_image_gradio_upload(case, gradio_client, tmp_path, upright_label):
    from gradio_client.exceptions import AppError

    expect, path = IMAGE_EXPECTED[case], make_image(case, tmp_path)
    if expect.error:
        with pytest.raises(AppError) as info:
            gradio_predict(gradio_client, path)
        shown = str(info.value)
        assert path.name in shown and re.search(expect.error, shown) and "/" not in shown, shown  # no server paths
    else:
        message, labels = read_summary(gradio_predict(gradio_client, path)[2])
        check_prediction(expect, len(labels), message, labels, upright_label)
    # and the server answers the next request as usual
    assert "no face found" in gradio_predict(gradio_client, bad.no_face(tmp_path))[2]


# --- the cases whose right answer needs more than a count ---------------------------------------------------


@pytest.fixture
def face_photo():
    if FACE is None:
        pytest.skip("real photos not found in ../shared/data/photos")
    return FACE


def test_exif_rotated_photo_gives_the_upright_box_and_label(tmp_path, predictor, face_photo):
    rotated = open_image(bad.exif_rotated_jpeg(tmp_path, face_photo))
    assert rotated.size == face_photo.size
    face_photo.save(tmp_path / "upright.jpg", quality=95)  # the same JPEG round trip, without the turn
    upright = open_image(tmp_path / "upright.jpg")
    ours, reference = predictor.predict(rotated).faces, predictor.predict(upright).faces
    assert len(ours) == len(reference) == 1 and ours[0].label == reference[0].label
    assert np.abs(np.subtract(ours[0].box, reference[0].box)).max() < 6  # JPEG blocks differ a little


def test_cmyk_and_16_bit_become_the_right_gray(tmp_path, face_photo):
    reference = to_face_array(face_photo).astype(int)
    sixteen = open_image(bad.sixteen_bit_png(tmp_path, face_photo))
    assert sixteen.mode == "I;16"
    np.testing.assert_array_equal(to_face_array(sixteen), reference)  # v * 257 maps back onto v exactly
    cmyk = open_image(bad.cmyk_jpeg(tmp_path, face_photo))
    assert cmyk.mode == "CMYK" and np.abs(to_face_array(cmyk).astype(int) - reference).mean() < 3


def test_animated_gif_uses_the_first_frame(tmp_path, face_photo):
    gif = open_image(bad.animated_gif(tmp_path, face_photo))
    first = to_face_array(gif).astype(int)
    assert np.abs(first - to_face_array(face_photo).astype(int)).mean() < 8  # the face, not a gray frame
    assert gif.info["frames"] == 3


def test_the_bomb_is_refused_before_its_pixels_are_decoded(tmp_path, monkeypatch):
    from PIL import ImageFile

    path = bad.decompression_bomb(tmp_path)
    assert path.stat().st_size < 100_000  # small on disk, 400 M pixels once decoded
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    with pytest.raises(DataError, match="above the limit"):
        open_image(path)
    assert decoded == []  # refused from the header alone
    with contextlib.suppress(DataError):  # control: the same spy does see an ordinary image being decoded
        open_image(bad.one_pixel(tmp_path))
    assert (1, 1) in decoded


@pytest.mark.parametrize("size", [(12, 12), (20, 20), (39, 39), (640, 13), (13, 640), (40, 6000), (12, 4000)])
@pytest.mark.parametrize("whole", [None, False])
def test_small_and_thin_images_never_crash_the_detector(predictor, size, whole):
    # found by this suite: sides of 12-39 px left MTCNN's pyramid empty (ValueError from torch.cat)
    noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    result = predictor.predict(noise, whole=whole)
    small_crop = whole is None and max(size) <= 128
    assert len(result.faces) == (1 if small_crop else 0) and result.message


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, problem",
    [
        (["import-data", "--fer2013", "{dir}/fer2013.csv"], CSV_EXPECTED["pixel value 256"]),
        (
            ["predict", "--path", "{dir}/notes.png", "--checkpoint", str(CHECKPOINT)],
            "notes.png: " + IMAGE_EXPECTED["not an image"].error,
        ),
    ],
    ids=["import-data", "predict"],
)
def test_a_real_cli_process_exits_1_with_one_line_on_stderr(tmp_path, argv, problem):
    bad.CSV_CASES["pixel value 256"](tmp_path)
    bad.not_an_image(tmp_path)
    command = [sys.executable, "-m", "core", "--data-dir", str(tmp_path / "data")]
    command += [a.format(dir=tmp_path) for a in argv]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 1
    assert re.search(problem, error_line(result.stderr)), result.stderr
