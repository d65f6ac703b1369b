"""The Gradio app's "In your browser" tab: the exported web page (core/export/web.py, web/) served by the app itself,
so a visitor's webcam is analysed by their own browser (MTCNN, eye-aligned crops and the classifier in
onnxruntime-web) and no frame is uploaded. It needs HTTP only, so it works through a share link, where WebRTC
(the Live tab) cannot reach the server.

`browser_routes(checkpoint)` returns the route that serves the page for one model at BROWSER_PATH with the
cross-origin isolation headers (threads in onnxruntime-web when the page is opened on its own), exported into the
data folder on its first request (once per model file: the app's start does not wait for it, nor import torch to
export a .pt); `browser_tab()` embeds it. When the export fails, the route serves a page that says why.
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

import anyio
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from app.gradio.import_hook import skip_stub_rewrites

skip_stub_rewrites()  # before Gradio is first imported: its stub rewrites cost ~1 s a start
import gradio as gr  # noqa: E402

from core.export.web import ISOLATION_HEADERS, export_web  # noqa: E402
from core.paths import data_dir  # noqa: E402

BROWSER_PATH = "/browser"  # where the page is served on the app
WHEN = (
    "**For share links and privacy:** your browser finds and classifies the faces itself; no frame leaves "
    "your computer. Works over any link, needs WebAssembly."
)
TYPES = {".mjs": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream"}


class IsolatedStaticFiles(StaticFiles):
    """Static files with the COOP/COEP headers (a page opened on its own is cross-origin isolated, so
    onnxruntime-web may use threads) and the types module scripts and wasm streaming need."""

    def file_response(self, full_path, stat_result, scope, status_code=200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(ISOLATION_HEADERS)
        kind = TYPES.get(Path(str(full_path)).suffix)
        if kind:
            response.headers["content-type"] = kind
        return response


def site_folder(checkpoint: Path) -> Path:
    """Where the page for `checkpoint` is exported: one folder per model file and version."""
    stat = Path(checkpoint).stat()
    return data_dir() / "browser_site" / f"{Path(checkpoint).stem}-{stat.st_mtime_ns}-{stat.st_size}"


def browser_site(checkpoint: Path) -> Path:
    """The exported page for `checkpoint`, exported now unless an earlier start did it already."""
    folder = site_folder(checkpoint)
    if not (folder / "index.html").is_file():
        export_web(checkpoint, folder.with_suffix(".partial"))
        folder.with_suffix(".partial").replace(folder)  # complete or absent: a killed export is redone
    return folder


def unavailable_page(reason: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><meta charset='utf-8'><title>Not available</title>"
        f"<p>The in-browser page could not be prepared: {html.escape(reason)}</p>"
    )


class LazySite:
    """The page for one model as an ASGI app: exported on the first request (in a worker thread), then served."""

    def __init__(self, checkpoint: Path | None):
        self.checkpoint, self.app = checkpoint, None
        self.lock = asyncio.Lock()

    def prepare(self):
        if self.checkpoint is None:
            return unavailable_page("no model: train one or start the app with --checkpoint PATH")
        try:
            return IsolatedStaticFiles(directory=browser_site(Path(self.checkpoint)), html=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            return unavailable_page(f"{type(exc).__name__}: {exc}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.lock:
            if self.app is None:
                self.app = await anyio.to_thread.run_sync(self.prepare)
        await self.app(scope, receive, send)


def browser_routes(checkpoint: Path | None) -> list[Mount]:
    """The route serving the in-browser page for `checkpoint` (or a page saying why it is not there)."""
    return [Mount(BROWSER_PATH, app=LazySite(checkpoint), name="browser")]


def browser_tab() -> None:
    """The tab's content: one line on when to use it, the page in a frame, and a link to it on its own."""
    gr.Markdown(
        f"{WHEN} [Open it on its own page]({BROWSER_PATH[1:]}/index.html) (faster: it can use several threads there)."
    )
    # relative URL: right behind a share link or a proxy that serves the app under a sub-path too
    gr.HTML(
        f'<iframe id="fer-browser-frame" src="{BROWSER_PATH[1:]}/index.html" allow="camera" '
        'title="FER Studio in your browser" style="width:100%;height:900px;border:0"></iframe>'
    )
