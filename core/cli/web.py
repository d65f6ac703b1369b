"""The `export-web` command: a checkpoint as a static page that runs the model in the browser (onnxruntime-web)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_export_web(args: argparse.Namespace) -> int:
    from core.export.web import export_web, site_size

    out = export_web(args.checkpoint, args.out)
    print(
        f"wrote {out} ({site_size(out) / 1e6:.1f} MB): the page, model.onnx, mtcnn/ (face detection), "
        "config.json, ort/ (onnxruntime-web, wasm)"
    )
    print(
        f"serve it from any static host, e.g.:\n  python -m http.server --directory {out} 8000\n"
        "and open http://localhost:8000/ (file:// cannot load the model or the WebAssembly)"
    )
    return 0


def add_web_commands(commands) -> None:
    p = commands.add_parser("export-web", help="export a checkpoint as a static web page (runs in the browser)")
    p.add_argument("--checkpoint", type=Path, required=True, help="a .pt checkpoint or an .onnx export")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.set_defaults(run=cmd_export_web)
