"""FER Studio's live prediction app (Gradio): upload a photo or stream the webcam, see every face's expression.

    python -m app.gradio [--checkpoint PATH] [--host 127.0.0.1] [--port 7860] [--share]
                         [--auth user:password] [--max-file-size 10mb]

Everything ML is `core`: `Predictor` finds and classifies faces, `annotate` draws them. This file only wires
them to widgets. `build_app` makes the UI without serving it (tests use it); `main` parses flags and serves.
"""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path
from typing import Any

from app.gradio.import_hook import skip_stub_rewrites

skip_stub_rewrites()  # before Gradio is first imported: its stub rewrites cost ~1 s a start
import gradio as gr  # noqa: E402
import plotly.graph_objects as go
from PIL import Image

from app.charts import faces_chart
from app.gc_pauses import freeze_long_lived
from app.gradio.browser import browser_routes, browser_tab
from app.gradio.live import live_tab
from app.gradio.models import MODEL_TTA, predictor_for, tta_mode
from app.lifeline import watch_parent
from core.data.images import open_image
from core.data.preprocessing import TTA_MODES
from core.errors import DataError
from core.inference.catalog import (
    CheckpointEntry,
    default_live_checkpoint,
    describe,
    list_checkpoints,
    live_model_choice,
)
from core.inference.draw import annotate
from core.inference.predictor import PredictionResult, reading_order, summary
from core.inference.tracking import Track, smooth_faces

TITLE = "FER Studio — live prediction"
STREAM_EVERY = 0.15  # seconds between webcam frames; MTCNN + a small CNN take ~0.1 s a frame on 2 CPU cores
STREAM_TIME_LIMIT = 600  # seconds one webcam session may hold a worker before it has to be restarted
NO_SHARE = "No public link: Gradio's share service could not be reached (no internet?). Serving locally at {url}"


def read_upload(upload: dict[str, Any]) -> Image.Image:
    """The uploaded file decoded by core (pixel limit checked before decoding); a clear gr.Error otherwise."""
    path = str(upload["path"])
    name = upload.get("orig_name") or Path(path).name
    try:
        return open_image(path)
    except DataError as exc:
        problem = exc.problem.replace(path, name)  # the server's temporary path means nothing to the user
        if "above the limit" in problem:
            raise gr.Error(f"{name} is too large: {problem}. Resize it and try again.") from None
        raise gr.Error(f"Could not read {name} as an image: {problem}. Upload a photo (JPEG, PNG, WebP ...).") from None


def predict_upload(
    upload: dict[str, Any] | None, model_path: str | None, tta: str, *, allowed: frozenset[str] = frozenset()
) -> tuple[Image.Image, go.Figure | None, str]:
    """Upload tab: annotated image, probability chart, message."""
    if not upload or not upload.get("path"):
        raise gr.Error("Upload an image first.")
    image = read_upload(upload)
    result = predictor_for(model_path, allowed).predict(image, tta=tta_mode(tta))  # faces in reading order
    return annotate(image, result), faces_chart(result), summary(result)


def predict_frame(
    frame: Image.Image | None,
    model_path: str | None,
    tta: str,
    tracks: list[Track] | None,
    *,
    allowed: frozenset[str] = frozenset(),
) -> tuple[Image.Image | None, list[Track], str]:
    """Webcam tab, once per frame: annotated frame with smoothed labels, tracks for the next frame, message."""
    if frame is None:
        return None, [], ""
    result = predictor_for(model_path, allowed).predict(frame, whole=False, tta=tta_mode(tta))
    tracks, faces = smooth_faces(tracks or [], result.faces)
    smoothed = PredictionResult(reading_order(faces), result.message, result.tta)
    return annotate(frame, smoothed), tracks, summary(smoothed)


def model_choices(given: Path | None) -> tuple[list[tuple[str, str]], str | None]:
    """Dropdown (label, path) pairs from the catalog, plus `given` when it lives elsewhere; and the default."""
    entries: list[CheckpointEntry] = list_checkpoints()
    default = default_live_checkpoint()
    if given is not None:
        same = [e for e in entries if e.path.resolve() == Path(given).resolve()]
        entry = same[0] if same else describe(given)
        if entry is None:
            raise SystemExit(f"--checkpoint {given}: not a FER Studio checkpoint (.pt) or ONNX export (.onnx)")
        entries = entries if same else [entry, *entries]
        default = entry.path  # the catalog's spelling of the path, so the dropdown finds it among its choices
    return [(e.label, str(e.path)) for e in entries], (str(default) if default is not None else None)


def models_on_load(request: gr.Request, default_checkpoint: Path | None) -> gr.Dropdown:
    """The dropdown on a page load: the catalog afresh, and the model named in ?model= when it is among them."""
    choices = model_choices(default_checkpoint)[0]
    wanted = (request.query_params.get("model") if request is not None else None) or ""
    paths = {str(Path(path).resolve()): path for _, path in choices}
    chosen = paths.get(str(Path(wanted).resolve())) if wanted else None
    return gr.Dropdown(choices=choices, value=chosen) if chosen else gr.Dropdown(choices=choices)


def upload_tab(model: gr.Dropdown, tta: gr.Dropdown, allowed: frozenset[str]) -> None:
    with gr.Row():
        with gr.Column():
            image = gr.Image(type="filepath", sources=["upload", "clipboard"], label="Photo")
            button = gr.Button("Predict", variant="primary")
        with gr.Column():
            annotated = gr.Image(label="Faces found", type="pil", interactive=False)
            message = gr.Markdown()
    chart = gr.Plot(label="Probabilities per face (numbered left to right, top to bottom)")
    # preprocess=False: core decodes the file itself, so oversized or broken files get core's checks and
    # messages instead of being decoded by Gradio first
    gr.on(
        [button.click, image.upload],
        functools.partial(predict_upload, allowed=allowed),
        inputs=[image, model, tta],
        outputs=[annotated, chart, message],
        api_name="predict",
        preprocess=False,
    )


def webcam_tab(model: gr.Dropdown, tta: gr.Dropdown, allowed: frozenset[str]) -> None:
    gr.Markdown(
        "**Fallback for browsers without WebRTC or WebAssembly:** each frame is uploaded and sent back "
        "annotated, about 3 frames a second. Press Record to start."
    )
    tracks = gr.State([])
    with gr.Row():
        camera = gr.Image(sources=["webcam"], streaming=True, type="pil", label="Webcam")
        live = gr.Image(label="Live prediction", type="pil", interactive=False)
    message = gr.Markdown()
    camera.stream(
        functools.partial(predict_frame, allowed=allowed),
        inputs=[camera, model, tta, tracks],
        outputs=[live, tracks, message],
        stream_every=STREAM_EVERY,
        time_limit=STREAM_TIME_LIMIT,
        concurrency_limit=2,
        show_progress="hidden",
        api_name="predict_frame",
    )


def build_app(default_checkpoint: Path | None = None) -> gr.Blocks:
    """The whole UI, not yet serving. `default_checkpoint` None picks the catalog's live default (the shipped int8
    model)."""
    choices, value = model_choices(default_checkpoint)
    allowed = frozenset(path for _, path in choices)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:  # no telemetry calls from a local tool
        gr.Markdown(
            f"# {TITLE}\nFaces are found with MTCNN, cropped like FER2013 and classified by the model. "
            f"Default model for this CPU: {live_model_choice().reason}."
        )
        if not choices:
            gr.Markdown("**No model yet.** Train one in the studio or pass `--checkpoint PATH`.")
        with gr.Row():
            model = gr.Dropdown(choices, value=value, label="Model", scale=4)
            tta = gr.Dropdown(
                [("the model's own", MODEL_TTA), *TTA_MODES],
                value=MODEL_TTA,
                label="TTA",
                scale=1,
                info="test-time augmentation: flip also classifies the mirrored face, tencrop crops",
            )
        with gr.Tabs():
            with gr.Tab("Upload"):
                upload_tab(model, tta, allowed)
            with gr.Tab("Live"):
                live_tab(model, tta, allowed)
            with gr.Tab("In your browser"):
                browser_tab()
            with gr.Tab("Webcam (fallback)"):
                webcam_tab(model, tta, allowed)

        # the app outlives training runs (the studio starts it once): list newly finished ones on each page load
        # ?model=PATH (the studio's link carries its current model) picks that model when it is listed
        def on_load(request: gr.Request) -> gr.Dropdown:
            return models_on_load(request, default_checkpoint)

        demo.load(on_load, outputs=model, api_visibility="private")
    return demo


def auth_pair(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected user:password, e.g. --auth alice:s3cret")
    return user, password


def file_size(text: str) -> str:
    if not re.fullmatch(r"\d+\s*(b|kb|mb|gb|tb)", text.strip().lower()):
        raise argparse.ArgumentTypeError("expected a size like 10mb, 500kb or 1gb")
    return text.strip().lower()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.gradio", description=TITLE)
    parser.add_argument("--checkpoint", type=Path, help=".pt checkpoint or .onnx export (default: the catalog's)")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 serves the local network too")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="ask Gradio for a temporary public link")
    parser.add_argument("--auth", type=auth_pair, help="user:password required to open the app")
    parser.add_argument("--max-file-size", type=file_size, default="10mb", help="largest upload accepted")
    return parser.parse_args(argv)


def launch_app(args: argparse.Namespace) -> gr.Blocks:
    """Build and start serving without blocking; say plainly when a public link was asked for but not made."""
    demo = build_app(args.checkpoint)
    demo.queue()
    # the in-browser page (a static site, exported on its first request, once per model file) is served by the app
    routes = browser_routes(args.checkpoint or default_live_checkpoint())
    # Gradio itself catches a failed share tunnel and goes on serving locally; we only add the explanation
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        auth=args.auth,
        max_file_size=args.max_file_size,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=False,
        app_kwargs={"routes": routes},
    )
    if args.share and not demo.share_url:
        print(NO_SHARE.format(url=demo.local_url), flush=True)
    return demo


def main(argv: list[str] | None = None) -> None:
    watch_parent()  # started by the studio (FER_STOP_WITH): end with it
    demo = launch_app(parse_args(argv))
    freeze_long_lived()  # gradio's ~100k module objects: no full collector pass in the middle of a live frame
    demo.block_thread()


if __name__ == "__main__":
    main()
