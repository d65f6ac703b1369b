"""The Gradio app served for real (subprocesses on 127.0.0.1) and called with gradio_client, with a tiny model.

Covers faces, no face, files that are not images or too big, auth, the offline --share fallback (the tunnel
function is patched: no test ever connects outside), ensure_gradio's start-once, and the webcam smoothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app.gradio.app import launch_app, parse_args, predict_frame
from core.inference.predictor import FacePrediction
from core.inference.tracking import Track, smooth_faces
from core.paths import REPO_ROOT, shared_data_dir

pytestmark = pytest.mark.slow

PHOTOS = shared_data_dir() / "photos"
AUTH = ("alice", "s3cret:x")  # a colon in the password: only the first one separates
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_status(url: str) -> int:
    try:
        with LOCAL.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def isolated(tmp_path_factory) -> dict[str, str]:
    """Environment for the apps: their own data and runs folders, no telemetry."""
    root = tmp_path_factory.mktemp("env")
    return {
        **os.environ,
        "FER_DATA_DIR": str(root / "data"),
        "FER_RUNS_DIR": str(root / "runs"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(root / "gradio"),
    }


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint) -> str:
    return str(tiny_checkpoint)


def spawn(extra: list[str], checkpoint: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "app.gradio_app", "--checkpoint", checkpoint, "--port", str(port), *extra]
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, f"http://127.0.0.1:{port}/"


def wait_ready(process: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited:\n{log.read_text()}"
        with contextlib.suppress(OSError):  # connection refused until the server listens
            if get_status(url) == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"the app did not answer at {url}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def servers(checkpoint, isolated, tmp_path_factory):
    """A plain app and one behind --auth, started together so their start-ups overlap."""
    logs = tmp_path_factory.mktemp("logs")
    started = {
        "plain": spawn([], checkpoint, isolated, logs / "plain.log"),
        "auth": spawn(["--auth", ":".join(AUTH)], checkpoint, isolated, logs / "auth.log"),
    }
    try:
        for name, (process, url) in started.items():
            wait_ready(process, url, logs / f"{name}.log")
        yield {name: url for name, (_, url) in started.items()}
    finally:
        for process, _ in started.values():
            process.terminate()
        for process, _ in started.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def client_for(url: str, tmp_path: Path, auth: tuple[str, str] | None = None) -> Client:
    return Client(url, auth=auth, verbose=False, analytics_enabled=False, download_files=str(tmp_path))


@pytest.fixture(scope="module")
def client(servers, tmp_path_factory):
    return client_for(servers["plain"], tmp_path_factory.mktemp("downloads"))


def predict(client: Client, path: Path, checkpoint: str, tta: str = "model"):
    return client.predict(handle_file(str(path)), checkpoint, tta, api_name="/predict")


@pytest.fixture
def gray_image(tmp_path) -> Path:
    path = tmp_path / "gray.png"
    Image.new("RGB", (640, 480), (128, 128, 128)).save(path)
    return path


def photo(name: str) -> Path:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"{path} not found (the real photos live in ../shared/data/photos)")
    return path


@pytest.mark.parametrize("name, faces", [("happy.jpeg", 1), ("test.jpg", 6)])
def test_upload_finds_and_charts_every_face(client, checkpoint, name, faces):
    source = photo(name)
    annotated, chart, message = predict(client, source, checkpoint, tta="flip" if faces == 1 else "model")
    assert f"{faces} face{'s' if faces > 1 else ''} found" in message
    assert message.count("- face ") == faces
    with Image.open(annotated) as image:
        assert image.size == Image.open(source).size
    figure = json.loads(chart["plot"])
    assert [trace["name"] for trace in figure["data"]] == [f"face {i}" for i in range(1, faces + 1)]
    assert all(len(trace["y"]) == 7 and abs(sum(trace["y"]) - 1) < 1e-4 for trace in figure["data"])


def test_an_image_without_faces_says_so(client, checkpoint, gray_image):
    annotated, chart, message = predict(client, gray_image, checkpoint)
    assert "no face found" in message and chart is None
    assert Image.open(annotated).size == (640, 480)


def test_a_file_that_is_not_an_image_is_a_clear_error_and_the_app_goes_on(
    client, servers, checkpoint, tmp_path, gray_image
):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"this is not an image \x00\xff")
    with pytest.raises(AppError, match="Could not read notes.txt as an image"):
        predict(client, text, checkpoint)
    assert get_status(servers["plain"]) == 200
    assert "no face found" in predict(client, gray_image, checkpoint)[2]


def test_too_many_pixels_is_refused_before_decoding(client, checkpoint, tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("L", (6400, 6400)).save(huge)  # 41 M pixels, a few hundred KB as a PNG
    with pytest.raises(AppError, match="huge.png is too large"):
        predict(client, huge, checkpoint)


def test_uploads_above_max_file_size_are_refused(servers, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(11 * 1024 * 1024))  # above the default --max-file-size 10mb
    with httpx.Client(trust_env=False, timeout=30) as http:
        response = http.post(servers["plain"] + "gradio_api/upload", files={"files": big.open("rb")})
    assert response.status_code == 413


def test_only_listed_models_are_used_including_runs_finished_after_start_up(client, isolated, checkpoint, gray_image):
    with pytest.raises(AppError, match="Unknown model"):
        predict(client, gray_image, "/etc/passwd")
    run = Path(isolated["FER_RUNS_DIR"]) / "late-run"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "status.json").write_text(json.dumps({"state": "finished", "created": time.time()}))
    shutil.copyfile(checkpoint, run / "best.pt")
    assert "no face found" in predict(client, gray_image, str(run / "best.pt"))[2]


def test_auth_refuses_anonymous_requests_and_admits_the_user(servers, checkpoint, gray_image, tmp_path):
    assert get_status(servers["auth"] + "config") == 401
    assert get_status(servers["auth"] + "gradio_api/info") == 401
    with pytest.raises(ValueError, match="Could not login"):
        client_for(servers["auth"], tmp_path, auth=("alice", "wrong"))
    authed = client_for(servers["auth"], tmp_path, auth=AUTH)
    assert "no face found" in predict(authed, gray_image, checkpoint)[2]


@pytest.mark.parametrize("argv", [["--auth", "alice"], ["--auth", ":pw"], ["--max-file-size", "ten"]])
def test_bad_flags_are_argparse_errors(argv):
    with pytest.raises(SystemExit):
        parse_args(argv)


def test_share_without_internet_still_serves_locally_and_says_why(checkpoint, isolated, monkeypatch, capsys):
    import gradio.networking

    calls = []

    def offline_tunnel(**kwargs):  # what setup_tunnel raises when api.gradio.app cannot be reached
        calls.append(kwargs)
        raise RuntimeError("Could not get share link from Gradio API Server.")

    monkeypatch.setattr(gradio.networking, "setup_tunnel", offline_tunnel)
    monkeypatch.setenv("FER_RUNS_DIR", isolated["FER_RUNS_DIR"])
    port = free_port()
    demo = launch_app(parse_args(["--checkpoint", checkpoint, "--port", str(port), "--share"]))
    try:
        out = capsys.readouterr().out
        assert calls, "share=True did not reach the tunnel"
        assert (
            f"No public link: Gradio's share service could not be reached (no internet?). "
            f"Serving locally at http://127.0.0.1:{port}" in out
        )
        assert demo.share_url is None and get_status(f"http://127.0.0.1:{port}/") == 200
    finally:
        demo.close()


def test_ensure_gradio_starts_once_and_finds_it_again(checkpoint, isolated, monkeypatch):
    from app.gradio import server as gradio_server

    for key in ("FER_DATA_DIR", "FER_RUNS_DIR", "GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR"):
        monkeypatch.setenv(key, isolated[key])
    port = free_port()
    try:
        url = gradio_server.ensure_gradio(port, Path(checkpoint))
        assert url == f"http://127.0.0.1:{port}/" and get_status(url) == 200
        first = json.loads(gradio_server.state_file().read_text())

        def no_second_process(*args, **kwargs):
            raise AssertionError("ensure_gradio started a second app")

        monkeypatch.setattr(gradio_server.subprocess, "Popen", no_second_process)
        assert gradio_server.ensure_gradio(port, Path(checkpoint)) == url
        assert json.loads(gradio_server.state_file().read_text())["pid"] == first["pid"]
    finally:
        stopped = gradio_server.stop_gradio()
    assert stopped and not gradio_server.state_file().exists()
    assert gradio_server.process_start_time(first["pid"]) is None


def face(box, **probabilities) -> FacePrediction:
    label = max(probabilities, key=probabilities.get)
    return FacePrediction(box, 0.99, probabilities, label, probabilities[label])


def test_smoothing_holds_a_label_through_one_odd_frame():
    tracks: list[Track] = []
    for happy in (0.8, 0.8, 0.8, 0.3):  # the last frame alone would say sad
        tracks, faces = smooth_faces(tracks, [face((100, 100, 200, 200), happy=happy, sad=1 - happy)])
    assert faces[0].label == "happy" and faces[0].probabilities["happy"] == pytest.approx(0.675)
    assert len(tracks[0].history) == 4
    for happy in (1.0, 1.0, 1.0):  # window=3: the older frames no longer count
        tracks, faces = smooth_faces(tracks, [face((100, 100, 200, 200), happy=happy, sad=1 - happy)], window=3)
    assert faces[0].probabilities["happy"] == pytest.approx(1.0) and len(tracks[0].history) == 3


def test_smoothing_follows_faces_by_position_not_by_order():
    left, right = (0, 0, 100, 100), (400, 0, 500, 100)
    tracks, _ = smooth_faces([], [face(left, happy=1.0, sad=0.0), face(right, happy=0.0, sad=1.0)])
    # next frame: the detector lists them the other way round, both moved a little
    shifted = [face((405, 5, 505, 105), happy=0.0, sad=1.0), face((5, 0, 105, 100), happy=1.0, sad=0.0)]
    tracks, faces = smooth_faces(tracks, shifted)
    assert [f.label for f in faces] == ["sad", "happy"] and all(len(t.history) == 2 for t in tracks)
    # a face far from every track starts afresh; a model with other classes resets the history
    tracks, faces = smooth_faces(tracks, [face((900, 900, 1000, 1000), happy=0.2, sad=0.8)])
    assert len(tracks) == 1 and len(tracks[0].history) == 1
    tracks, faces = smooth_faces(tracks, [face((900, 900, 1000, 1000), angry=0.9, fear=0.1)])
    assert faces[0].probabilities == {"angry": 0.9, "fear": 0.1} and len(tracks[0].history) == 1


def test_webcam_frames_carry_their_tracks(checkpoint):
    frame = Image.open(photo("happy.jpeg")).convert("RGB")
    allowed = frozenset({checkpoint})
    annotated, tracks, message = predict_frame(frame, checkpoint, "none", [], allowed=allowed)
    annotated, tracks, message = predict_frame(frame, checkpoint, "none", tracks, allowed=allowed)
    assert annotated.size == frame.size and "1 face found" in message
    assert len(tracks) == 1 and len(tracks[0].history) == 2


def outward_address() -> str | None:
    """This machine's address on its network (what another machine would connect to), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing: it only picks the outward interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_app_listens_on_loopback_only_unless_asked(servers):
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    port = int(servers["plain"].rstrip("/").rsplit(":", 1)[1])
    assert get_status(servers["plain"]) == 200
    with pytest.raises(OSError):  # refused: nothing listens on the outward address
        socket.create_connection((address, port), timeout=5).close()


def test_the_studios_link_opens_the_app_on_the_studios_model(checkpoint, isolated, monkeypatch):
    """The Predict page's link carries ?model=PATH; a listed model named there is the one picked on load."""
    from types import SimpleNamespace

    from app.gradio.app import model_choices, models_on_load

    choices = model_choices(Path(checkpoint))[0]
    wanted = choices[-1][1]
    # an update sends only the arguments given (Gradio's constructor_args)
    picked = models_on_load(SimpleNamespace(query_params={"model": wanted}), Path(checkpoint)).constructor_args
    assert picked["value"] == wanted
    unlisted = models_on_load(SimpleNamespace(query_params={"model": "/etc/passwd"}), Path(checkpoint))
    assert "value" not in unlisted.constructor_args and unlisted.constructor_args["choices"] == choices
