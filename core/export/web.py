"""Exporting a checkpoint as a self-contained static web page that runs the whole prediction in the browser.

`export_web(checkpoint, out_dir)` writes:

    index.html, app.js, style.css   the page (templates in web/)
    pipeline.js, worker.js          the Python pipeline ported to JavaScript, run in a worker
    model.onnx                      core.export.onnx.export_onnx (or the .onnx given), metadata inside
    mtcnn/                          MTCNN's three networks (checkpoints/mtcnn/)
    config.json, config.js          classes and the preprocessing spec (config.js sets window.FER_CONFIG)
    ort/                            the onnxruntime-web wasm backend: ort.wasm.min.js + the .mjs/.wasm it loads

The page finds faces with MTCNN, crops them eye-aligned and classifies them exactly as core/inference/predictor.py
does (web/pipeline.js ports each step), with onnxruntime-web's wasm backend from ./ort/, never a CDN; it uses
threads where the page is cross-origin isolated (COOP + COEP headers, see `ISOLATION_HEADERS`).

Serve the folder from any static host, e.g. `python -m http.server --directory site 8000`. Opened from file://
the page cannot run (browsers refuse to fetch the model and the WebAssembly from file://) and says so.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from core.data.preprocessing import Preprocessing
from core.export.onnx import export_onnx, read_metadata
from core.inference.onnx_detector import DETECTOR_DIR
from core.paths import REPO_ROOT

WEB_DIR = REPO_ROOT / "web"
PAGE_FILES = ("index.html", "app.js", "style.css", "pipeline.js", "worker.js")
# What ort.wasm.min.js needs for the plain wasm backend; the .wasm is found next to the .mjs it is named after.
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
DETECTOR_FILES = ("pnet.onnx", "rnet.onnx", "onet.onnx")
# Served with these, a page is cross-origin isolated: SharedArrayBuffer exists and onnxruntime-web can use threads
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def runtime_dist(web_dir: Path = WEB_DIR) -> Path:
    """onnxruntime-web's dist folder, running `npm ci` (or `npm install`) in `web_dir` first when it is missing."""
    dist = web_dir / "node_modules" / "onnxruntime-web" / "dist"
    if all((dist / name).is_file() for name in RUNTIME_FILES):
        return dist
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(
            f"onnxruntime-web is not installed in {web_dir / 'node_modules'} and npm is not "
            "on PATH: install Node.js + npm, or run `npm ci --prefix web` where npm exists"
        )
    errors = []
    for command in (["ci"], ["install"]):  # ci follows package-lock.json exactly; install if the lock is unusable
        done = subprocess.run(
            [npm, *command, "--prefix", str(web_dir), "--no-audit", "--no-fund"], capture_output=True, text=True
        )
        if done.returncode == 0 and all((dist / name).is_file() for name in RUNTIME_FILES):
            return dist
        errors.append(f"npm {command[0]}: {(done.stderr or done.stdout).strip()[-500:]}")
    raise FileNotFoundError("could not install onnxruntime-web for the web page:\n" + "\n".join(errors))


def runtime_version(dist: Path) -> str:
    return json.loads((dist.parent / "package.json").read_text())["version"]


def web_config(meta: dict[str, Any], ort_version: str) -> dict[str, Any]:
    """What app.js needs to know about the model, from the metadata inside the exported ONNX file."""
    keys = ("model", "classes", "label_source")
    return {
        **{k: meta[k] for k in keys if k in meta},
        "preprocessing": Preprocessing.from_payload(meta).to_dict(),
        "onnxruntime_web": ort_version,
    }


def export_web(checkpoint: str | Path, out_dir: str | Path, web_dir: Path = WEB_DIR) -> Path:
    """Write the static page for `checkpoint` into `out_dir` (created; files there are overwritten)."""
    out = Path(out_dir)
    dist = runtime_dist(web_dir)
    out.mkdir(parents=True, exist_ok=True)
    if Path(checkpoint).suffix == ".onnx":  # an export already (e.g. int8): served as it is
        model = Path(shutil.copyfile(checkpoint, out / "model.onnx"))
    else:
        model = export_onnx(checkpoint, out / "model.onnx")  # first: a bad checkpoint fails before anything else
    (out / "ort").mkdir(parents=True, exist_ok=True)
    (out / "mtcnn").mkdir(exist_ok=True)
    for name in DETECTOR_FILES:
        shutil.copyfile(DETECTOR_DIR / name, out / "mtcnn" / name)
    for name in PAGE_FILES:
        shutil.copyfile(web_dir / name, out / name)
    for name in RUNTIME_FILES:
        shutil.copyfile(dist / name, out / "ort" / name)
    config = web_config(read_metadata(model), runtime_version(dist))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    # a classic script rather than a fetch: it also loads from file://, so that page can explain itself
    (out / "config.js").write_text(f"window.FER_CONFIG = {json.dumps(config)};\n")
    return out


def site_size(out_dir: str | Path) -> int:
    """Bytes in the exported folder (what a static host serves)."""
    return sum(p.stat().st_size for p in Path(out_dir).rglob("*") if p.is_file())


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }  # module scripts and wasm streaming need these types
    isolated = False  # send ISOLATION_HEADERS (threads in the page)

    def end_headers(self) -> None:
        if self.isolated:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_folder(
    folder: str | Path, port: int = 0, isolated: bool = False
) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1 (a free port by default) from a daemon thread; returns (server, url).
    `isolated` adds the COOP/COEP headers. Stop it with server.shutdown(). For tests and benchmarks; users can run
    `python -m http.server`."""
    handler = functools.partial(type("Handler", (QuietHandler,), {"isolated": isolated}), directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"
