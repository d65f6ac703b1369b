"""Benchmark: the Gradio live app's start, as a whole process: spawn -> its page answers (HTTP 200) -> the first
prediction of a real photo answered (gradio_client), for a .pt checkpoint (torch classifier and torch MTCNN: the
baseline) and for its ONNX export with the ONNX detector (no torch), measured in the same run; and the ONNX start
as it was before app/gradio/import_hook.py (Gradio rewriting its type stubs at import).

    python bench/bench_gradio.py [--checkpoint checkpoints/fer2013_fernet.pt] [--onnx its.onnx] [--repeat 3]

Besides wall time it reports the process's CPU seconds (user + system, children included) at each point: on a
machine shared with other work the wall time stretches, the CPU time much less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from core.inference.catalog import default_checkpoint
from core.paths import REPO_ROOT, shared_data_dir

LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy: the app is local
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def answers(url: str) -> bool:
    try:
        with LOCAL.open(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


APP = [sys.executable, "-m", "app.gradio"]
# the app as it started before app/gradio/import_hook.py: Gradio imported first, so it rewrites its stubs as usual
STUBS_REWRITTEN = [
    sys.executable,
    "-c",
    "import runpy, sys, gradio; sys.argv[0] = 'app.gradio_app'; "
    "runpy.run_module('app.gradio_app', run_name='__main__', alter_sys=True)",
]


def one_start(
    checkpoint: Path, port: int, photo: Path, env: dict[str, str], launcher: list[str] = APP
) -> tuple[float, float, float, float]:
    """(wall s, CPU s) until the page answers, then until the first prediction has come back."""
    from gradio_client import Client, handle_file

    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    process = subprocess.Popen(
        [*launcher, "--checkpoint", str(checkpoint), "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not answers(url):
            if process.poll() is not None:
                raise SystemExit(f"the app exited with {process.returncode} for {checkpoint}")
            time.sleep(0.02)
        ready, ready_cpu = time.perf_counter() - started, cpu_seconds(process.pid)
        client = Client(url, verbose=False, analytics_enabled=False, download_files=env["GRADIO_TEMP_DIR"])
        client.predict(handle_file(str(photo)), str(checkpoint), "model", api_name="/predict")
        return ready, ready_cpu, time.perf_counter() - started, cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(
    checkpoint: Path, port: int, photo: Path, repeat: int, env: dict[str, str], launcher: list[str] = APP
) -> list[float]:
    """Medians over `repeat` starts of (ready wall, ready CPU, first prediction wall, first prediction CPU)."""
    runs = [one_start(checkpoint, port, photo, env, launcher) for _ in range(repeat)]
    return [statistics.median(column) for column in zip(*runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--onnx", type=Path, help="its ONNX export, if made already (else exported here first)")
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint()
    photo = shared_data_dir() / "photos" / "test.jpg"
    if not photo.is_file():
        raise SystemExit(f"{photo} not found: the benchmark predicts on the shared photos")
    with tempfile.TemporaryDirectory() as folder:
        from core.export.onnx import export_onnx

        onnx = args.onnx or export_onnx(checkpoint, Path(folder) / f"{checkpoint.stem}.onnx")
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": folder}
        torch_run = measure(checkpoint, args.port, photo, args.repeat, env)
        onnx_run = measure(onnx, args.port, photo, args.repeat, env)
        rewritten = measure(onnx, args.port, photo, args.repeat, env, STUBS_REWRITTEN)
    for name, (ready, ready_cpu, first, first_cpu) in (
        ("torch (.pt, torch MTCNN)", torch_run),
        ("onnx (.onnx, ONNX MTCNN)", onnx_run),
        ("onnx, Gradio rewriting its stubs", rewritten),
    ):
        print(
            f"{name}: page answers {ready:.2f} s ({ready_cpu:.2f} CPU s), first prediction of a 6-face photo "
            f"answered {first:.2f} s ({first_cpu:.2f} CPU s) after the spawn"
        )
    print(
        f"median of {args.repeat} starts; torch/onnx: page {torch_run[0] / onnx_run[0]:.2f}x, "
        f"first prediction {torch_run[2] / onnx_run[2]:.2f}x; stubs rewritten/skipped: page "
        f"{rewritten[0] / onnx_run[0]:.2f}x"
    )


if __name__ == "__main__":
    main()
