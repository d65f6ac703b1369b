"""Benchmark: the studio as a whole on the full import, in Chromium: every figure issue #12 asks for, in one table.

    FER_DATA_DIR=<the full import> python bench/bench_studio.py [--only pages,relabel,browse,train,predictions]
        [--visits 3] [--presses 12] [--clicks 10] [--images 1024] [--old-relabel 4ca0cee] [--old-browse ac2c23c]

Starts one studio (`streamlit run`, the entry of bench_relabel.bench_entry: app/main.py plus the old Relabel and
Browse pages at /relabel_old and /browse_old) on the imported data set, with its runs folder in a temporary folder
(FER_RUNS_DIR; no real run is touched) and its Gradio app on a free port; refuses the shipped sample. It visits
every page once (warm server: caches filled, the Gradio app started), then measures in Debian's headless Chromium:

  pages        first paint of each page: navigation start until the first frame of a 0.5 s stretch where the script
               (a fragment's too) has finished (stApp's data-test-script-state), no element is stale or still a
               skeleton (lazily loaded widgets), every <img> has loaded and every Plotly chart has its SVG; median
               and max of --visits full loads, timed inside the page. Content inside iframes (components) is not
               waited for.
  relabel      class key -> the next image's last panel drawn, 1280x720 (bench_relabel.time_presses), new and old
               page; the labels are recorded under bench-<time> and undone at the end.
  browse       filter click -> the page of faces drawn (bench_browse.time_clicks), new and old page.
  train        click on Start training (1 epoch, batch 8, a few steps, --train-model) -> the first point of the loss
               curve drawn; the run is killed and its temporary folder removed afterwards.
  predictions  images/s of the predictions job's default backend over the first --images faces, in the job's
               chunks (bench_dataset_predictions.backend_rate), beside torch fp32 (what `evaluate` computes).

Prints one table: figure, measured, the issue's target, the old way where there is one, and whether the target is
met (pages: on the median). Figures taken while other jobs load the machine are pessimistic. Browse and Relabel
draw the model's panels only where its predictions are cached (keyed by the checkpoint's bytes and the data set):
the first line says whether they are, for the studio's default model.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_browse import time_clicks  # noqa: E402
from bench.bench_relabel import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    bench_entry,
    settle,
    start_studio,
    time_presses,
    undo_all,
    wait_healthy,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from core.data.dataset import FerDataset

SECTIONS = ("pages", "relabel", "browse", "train", "predictions")
PAGES = {
    "Data": "",
    "Browse": "browse",
    "Relabel": "relabel",
    "Train": "train",
    "Predict": "predict",
    "Models": "models",
}
# installed in every document before Streamlit's own scripts: performance.now() counts from navigation start
PAINT_JS = """(() => {
    window.__paintResult = undefined;
    const drawn = () => {
        const app = document.querySelector('[data-testid=stApp]');
        return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
            && document.querySelector('h1') !== null
            && !document.querySelector('[data-testid=stStatusWidget], [data-testid=stSkeleton], [data-stale=true]')
            && [...document.images].every(img => img.complete)
            && [...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => c.querySelector('svg'));
    };
    let since = null;
    const poll = () => {
        const now = performance.now();
        since = drawn() ? (since === null ? now : since) : null;
        if (since !== null && now - since >= 500) window.__paintResult = since;
        else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
})()"""
# armed before the click on Start: the click notes the time, then every frame looks for a marker in a Plotly chart
TRAIN_ARM_JS = """() => {
    window.__trainResult = undefined;
    let start = null;
    const poll = () => {
        if (document.querySelector('[data-testid=stPlotlyChart] .scatterlayer .point'))
            window.__trainResult = performance.now() - start;
        else requestAnimationFrame(poll);
    };
    window.addEventListener('click', () => { start = performance.now(); requestAnimationFrame(poll); },
                            {capture: true, once: true});
}"""


@dataclasses.dataclass
class Figure:
    """One row of the table: what was measured, against what."""

    name: str
    measured: str
    target: str = "-"
    old: str = "-"
    met: bool | None = None


def seconds(ms: float) -> str:
    return f"{ms / 1000:.2f} s"


def spread(times: list[float]) -> str:
    return f"median {seconds(statistics.median(times))}, max {seconds(max(times))} (n={len(times)})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def full_import() -> FerDataset:
    """The imported data set; SystemExit when FER_DATA_DIR holds no import (the shipped sample would be timed)."""
    from core.data.store import load_dataset
    from core.paths import data_dir

    dataset = load_dataset()
    if dataset.is_sample:
        sys.exit(
            f"{data_dir()} holds no imported data set, only the shipped sample ({len(dataset)} images) would be "
            "timed: set FER_DATA_DIR to the full import (python -m core import-data ...)"
        )
    return dataset


def page_urls(base: str, who: str) -> dict[str, str]:
    """Each page's address; the Relabel page with an annotator, so it shows its queue rather than asking for one."""
    return {name: f"{base}/{path}" + (f"?annotator={who}" if name == "Relabel" else "") for name, path in PAGES.items()}


def paint_ms(page: Page, url: str, timeout_s: float) -> float:
    """Milliseconds from navigation start to the page drawn (PAINT_JS, installed on `page`), a full page load."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => window.__paintResult !== undefined", timeout=timeout_s * 1000, polling=100)
    return page.evaluate("() => window.__paintResult")


def time_pages(browser: Browser, urls: dict[str, str], visits: int, timeout_s: float = 120) -> dict[str, list[float]]:
    """First paint of every page, `visits` rounds over all of them in turn, at 1280x720."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(PAINT_JS)
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(visits):
        for name, url in urls.items():
            times[name].append(paint_ms(page, url, timeout_s))
    page.close()
    return times


def gradio_running() -> bool:
    from app.gradio import server as gradio_server

    state = gradio_server.read_state()
    return bool(state) and gradio_server.is_ours(state)


def wait_for_gradio(timeout_s: float = 240) -> None:
    """Wait for the Gradio app the Predict page started (the page polls it every second while it starts)."""
    from app.gradio import server as gradio_server

    state = gradio_server.read_state()
    if state and gradio_server.is_ours(state):
        try:
            gradio_server.wait_until_answering(state, timeout_s)
        except RuntimeError as exc:
            print(f"warning: {exc}", flush=True)


def page_figures(times: dict[str, list[float]]) -> list[Figure]:
    return [
        Figure(f"first paint: {name}", spread(ms), "median <= 2 s", met=statistics.median(ms) <= 2000)
        for name, ms in times.items()
    ]


def relabel_figures(new: list[float], old: list[float] | None) -> list[Figure]:
    """Median and max of key -> last panel drawn, each against its target and the old page's figure."""
    figures = []
    for label, stat, bound in (("median", statistics.median, 300), ("max", max, 600)):
        figures.append(
            Figure(
                f"relabel: key -> last panel drawn, {label} (n={len(new)})",
                seconds(stat(new)),
                f"<= {bound / 1000:.1f} s",
                seconds(stat(old)) if old else "-",
                stat(new) <= bound,
            )
        )
    return figures


def choose_model(page: Page, model: str) -> None:
    """Pick `model` in the Train form's Model selectbox (the sidebar has a Model selectbox too)."""
    page.locator("[data-testid=stForm] [data-testid=stSelectbox]").filter(has_text="Model").first.click()
    page.get_by_role("option", name=model, exact=True).click()


def train_ms(browser: Browser, base: str, model: str | None, steps: int) -> tuple[float, float]:
    """Milliseconds from the click on Start training (1 epoch, batch 8, `steps` steps) to the loss curve's first
    point drawn (the live view reads the run's records every 2 s), and the wall-clock time of the click."""
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{base}/train")
    page.get_by_text("Start training").wait_for(timeout=300_000)
    if model:
        choose_model(page, model)
    for label, value in (("Epochs", "1"), ("Batch size", "8"), ("Max steps per epoch", str(steps))):
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    settle(page)
    page.evaluate(TRAIN_ARM_JS)
    clicked = time.time()
    page.get_by_text("Start training").click()
    page.wait_for_function("() => window.__trainResult !== undefined", timeout=600_000, polling=100)
    elapsed = page.evaluate("() => window.__trainResult")
    page.close()
    return elapsed, clicked


def run_breakdown(clicked: float) -> str:
    """Where the time to the first point went, from the benchmark's run's status.json (times after the click)."""
    from core.jobs import runner
    from core.paths import runs_dir

    status = runner.list_runs(runs_dir())[0]
    started = f"+{status['started'] - clicked:.1f} s" if status.get("started") else "not yet"
    return (
        f"run {status['id']}: folder made +{status['created'] - clicked:.1f} s after the click, worker "
        f"training (torch imported, device free) {started}, then the data set, the model, the first step "
        f"and the live view's 2 s poll"
    )


def end_runs(runs: Path, timeout_s: float = 60) -> None:
    """Kill every run in `runs` (the benchmark's own runs folder) and wait until its process is gone."""
    from core.jobs import runner
    from core.processes import still_running

    for status in runner.list_runs(runs):
        runner.kill(status["id"], runs)
        deadline = time.monotonic() + timeout_s
        while status.get("pid") and still_running(status["pid"], status.get("pid_start")):
            if time.monotonic() > deadline:
                print(f"warning: run {status['id']} (pid {status['pid']}) is still running", flush=True)
                break
            time.sleep(0.2)


def section_runs(
    browser: Browser, base: str, who: str, args: argparse.Namespace
) -> dict[str, Callable[[], list[Figure]]]:
    """Each studio section's measurement, as a function of no arguments returning its rows."""

    def relabel() -> list[Figure]:
        old = time_presses(browser, f"{base}/relabel_old?annotator={who}", args.presses) if args.old_relabel else None
        return relabel_figures(time_presses(browser, f"{base}/relabel?annotator={who}", args.presses), old)

    def browse() -> list[Figure]:
        new = time_clicks(browser, f"{base}/browse", args.clicks, args.browse_predictions)
        old = (
            time_clicks(browser, f"{base}/browse_old", args.clicks, args.browse_predictions)
            if args.old_browse
            else None
        )
        return [Figure("browse: filter click -> faces drawn", spread(new), old=spread(old) if old else "-")]

    def train() -> list[Figure]:
        elapsed, clicked = train_ms(browser, base, args.train_model, args.train_steps)
        print(run_breakdown(clicked), flush=True)
        return [
            Figure("train: Start -> first loss point drawn", seconds(elapsed), "<= 10 s (CPU)", met=elapsed <= 10_000)
        ]

    return {
        "pages": lambda: page_figures(time_pages(browser, page_urls(base, who), args.visits)),
        "relabel": relabel,
        "browse": browse,
        "train": train,
    }


def browser_figures(base: str, who: str, args: argparse.Namespace, sections: list[str]) -> list[Figure]:
    """Warm the studio (every page once, the Gradio app up), then measure the studio sections asked for."""
    from playwright.sync_api import sync_playwright

    figures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        start = time.perf_counter()
        time_pages(browser, page_urls(base, who), 1, timeout_s=900)
        wait_for_gradio()
        print(f"warm-up (every page once, the Gradio app started): {time.perf_counter() - start:.0f} s", flush=True)
        runs = section_runs(browser, base, who, args)
        for section in (s for s in SECTIONS if s in sections and s in runs):
            for figure in runs[section]():
                print(
                    f"{figure.name}: {figure.measured}" + (f" (old: {figure.old})" if figure.old != "-" else ""),
                    flush=True,
                )
                figures.append(figure)
        browser.close()
    return figures


def studio_figures(args: argparse.Namespace, sections: list[str]) -> list[Figure]:
    """One studio on the import with a temporary runs folder: its figures, then everything it left undone."""
    who = f"bench-{int(time.time())}"
    olds = {
        page: commit
        for page, commit in (("relabel", args.old_relabel), ("browse", args.old_browse))
        if commit and page in sections
    }
    gradio_before = gradio_running()
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        os.environ.update(FER_RUNS_DIR=str(runs), FER_GRADIO_PORT=str(free_port()))
        server = start_studio(bench_entry(Path(folder), olds), args.port)
        try:
            wait_healthy(args.port)
            return browser_figures(f"http://127.0.0.1:{args.port}", who, args, sections)
        finally:
            server.terminate()
            server.wait(timeout=120)
            end_runs(runs)
            undo_all(who)
            if not gradio_before:
                from app.gradio.server import stop_gradio

                stop_gradio()


def prediction_figures(checkpoint: Path, count: int) -> list[Figure]:
    """The predictions job's default backend over the first `count` faces, beside torch fp32."""
    import numpy as np

    from bench.bench_dataset_predictions import backend_rate
    from core.inference.dataset_predictions import default_backend

    dataset = full_import()
    images, backend = np.asarray(dataset.images[:count]), default_backend()
    with tempfile.TemporaryDirectory() as workdir:
        _, fp32, _ = backend_rate(checkpoint, "fp32", images, Path(workdir), dataset)
        _, rate, _ = backend_rate(checkpoint, backend, images, Path(workdir), dataset)
    print(f"predictions: {backend} {rate:.0f} images/s, fp32 {fp32:.0f} images/s", flush=True)
    return [
        Figure(
            f"predictions job ({backend}), {len(images):,} faces",
            f"{rate:.0f} images/s",
            ">= 400 images/s",
            f"{fp32:.0f} images/s (torch fp32)",
            rate >= 400,
        )
    ]


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "measured", "target", "old way", "met")] + [
        (f.name, f.measured, f.target, f.old, {True: "yes", False: "NO", None: "-"}[f.met]) for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--visits", type=int, default=3, help="full loads of each page for its first paint")
    parser.add_argument("--presses", type=int, default=12)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--browse-predictions", action="store_true", help="Browse with the model's predictions on")
    parser.add_argument("--old-relabel", default="4ca0cee", help="commit of the 'old' Relabel page ('' for none)")
    parser.add_argument("--old-browse", default="ac2c23c", help="commit of the 'old' Browse page ('' for none)")
    parser.add_argument("--train-model", default=None, help="model picked in the Train form (default: the form's)")
    parser.add_argument("--train-steps", type=int, default=5, help="max steps per epoch of the one-epoch run")
    parser.add_argument("--images", type=int, default=1024, help="faces for the predictions figure")
    parser.add_argument("--checkpoint", type=Path, default=None, help="for the predictions (default: the studio's)")
    parser.add_argument("--port", type=int, default=8641)
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def main() -> None:
    args = parse_args()
    sections = args.only.split(",")
    dataset = full_import()
    from core.inference.catalog import default_checkpoint
    from core.inference.dataset_predictions import load_cached

    checkpoint = args.checkpoint or default_checkpoint()
    cached = checkpoint is not None and load_cached(dataset, checkpoint) is not None
    print(
        f"{len(dataset):,} images ({dataset.info.get('source')}); model {checkpoint}, its predictions "
        f"{'cached' if cached else 'not cached (Browse and Relabel show no model panels)'}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    figures = studio_figures(args, sections) if set(sections) - {"predictions"} else []
    if "predictions" in sections and checkpoint is None:
        print("predictions: skipped, there is no model (train one, or pass --checkpoint)")
    elif "predictions" in sections:
        figures += prediction_figures(checkpoint, args.images)
    print_table(figures)
    print(f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
