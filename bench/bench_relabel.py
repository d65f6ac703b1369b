"""Benchmark: the Relabel page, from a class key press to the last panel of the next image drawn, in Chromium.

    FER_DATA_DIR=/path/to/an/import python bench/bench_relabel.py [--presses 12] [--old 4ca0cee]

Starts the studio on a free port with one extra page, the Relabel page as it was at commit `--old` (`git show`),
opens both at 1280x720 in Debian's Chromium and presses class keys. A press counts as drawn at the first animation
frame where the shown image id has changed, Streamlit is no longer running, no element is stale (the previous
image's charts still standing), every <img> has loaded and every Plotly chart has its SVG. Timing is taken inside
the page (keydown to that frame), so no Playwright round trip is counted. Prints median and max per page and the
ratio. The labels it records are undone at the end (under an annotator named bench-<time>).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.labels.relabels import RelabelStore  # noqa: E402
from core.paths import data_dir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# the shown image id: the new page's face carries data-image-id, the old page wrote it in the image caption
CURRENT_ID_JS = """() => {
    const face = document.querySelector('[data-image-id]');
    if (face) return face.getAttribute('data-image-id');
    const caption = document.querySelector('[data-testid=stImage], [data-testid=stImageCaption]');
    const found = caption && caption.innerText.match(/fer\\d{7}/);
    return found ? found[0] : null;
}"""
# arm before the key press: the keydown listener notes the time, then every frame checks whether all is drawn
ARM_JS = (
    """([before]) => {
    const current = %s;
    window.__relabelResult = undefined;
    let start = null;
    const drawn = () => {
        const id = current();
        return id !== null && id !== before
            && !document.querySelector('[data-testid=stStatusWidget]')
            && !document.querySelector('[data-stale=true]')
            && [...document.images].every(img => img.complete)
            && [...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => c.querySelector('svg'));
    };
    const poll = () => {
      if (drawn()) window.__relabelResult = performance.now() - start; else requestAnimationFrame(poll);
    };
    window.addEventListener('keydown', () => { start = performance.now(); requestAnimationFrame(poll); },
                            {capture: true, once: true});
}"""
    % CURRENT_ID_JS
)
WAIT_JS = "() => window.__relabelResult"


def bench_main(folder: Path, old_commit: str, page: str = "relabel") -> Path:
    """An entry script like app/main.py with the old version of pages/PAGE.py added at /PAGE_old."""
    return bench_entry(folder, {page: old_commit})


def bench_entry(folder: Path, olds: dict[str, str]) -> Path:
    """An entry script like app/main.py with, for each PAGE: COMMIT in `olds`, pages/PAGE.py as it was at COMMIT
    added at /PAGE_old (`git show`), written into `folder`."""
    main = (REPO / "app" / "main.py").read_text()
    for page, old_commit in olds.items():
        old_page = folder / f"{page}_old.py"
        old_page.write_text(
            subprocess.run(
                ["git", "show", f"{old_commit}:pages/{page}.py"], cwd=REPO, check=True, capture_output=True, text=True
            ).stdout
        )
        main = main.replace(
            '    st.Page(PAGES / "train.py"',
            f'    st.Page({str(old_page)!r}, title="{page.title()} (old)", url_path="{page}_old"),\n'
            '    st.Page(PAGES / "train.py"',
        )
    main = main.replace('Path(__file__).resolve().parent.parent / "pages"', f"Path({str(REPO / 'pages')!r})")
    entry = folder / "main_bench.py"
    entry.write_text(main)
    return entry


def start_studio(entry: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(entry),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_healthy(port: int, timeout: float = 120) -> None:
    """Return once the studio answers its health check; RuntimeError after `timeout` seconds."""
    for _ in range(int(timeout * 2)):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return
        time.sleep(0.5)
    raise RuntimeError(f"the studio did not come up on port {port}")


def settle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)
    page.wait_for_function("!document.querySelector('[data-stale=true]')", timeout=120_000)


def time_presses(browser, url: str, presses: int) -> list[float]:
    """Milliseconds from each class key press to the next image fully drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    page.wait_for_function(CURRENT_ID_JS, timeout=180_000)
    times = []
    for i in range(presses + 1):  # the first press warms caches up and is not counted
        settle(page)
        page.locator("h1").first.click()
        before = page.evaluate(CURRENT_ID_JS)
        page.evaluate(ARM_JS, [before])
        page.keyboard.press(str(i % 7 + 1))
        page.wait_for_function("() => window.__relabelResult !== undefined", timeout=120_000, polling=50)
        elapsed = page.evaluate(WAIT_JS)
        if i:
            times.append(elapsed)
    page.close()
    return times


def undo_all(who: str) -> None:
    store = RelabelStore(data_dir() / "labels.sqlite")
    while store.undo(who) is not None:
        pass


def report(name: str, times: list[float]) -> None:
    print(
        f"{name}: key press -> last panel drawn: median {statistics.median(times) / 1000:.2f} s, "
        f"max {max(times) / 1000:.2f} s over {len(times)} presses at 1280x720",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=12)
    parser.add_argument("--old", default="4ca0cee", help="commit whose pages/relabel.py is timed as 'old'")
    parser.add_argument("--port", type=int, default=8631)
    parser.add_argument("--pages", default="new,old")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    who = f"bench-{int(time.time())}"
    with tempfile.TemporaryDirectory() as folder:
        server = start_studio(bench_main(Path(folder), args.old), args.port)
        results = {}
        try:
            wait_healthy(args.port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name in args.pages.split(","):
                    path = "relabel" if name == "new" else "relabel_old"
                    results[name] = time_presses(
                        browser, f"http://127.0.0.1:{args.port}/{path}?annotator={who}", args.presses
                    )
                    report(name, results[name])
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=120)
            undo_all(who)
    if {"new", "old"} <= results.keys():
        print(
            f"ratio old/new: median {statistics.median(results['old']) / statistics.median(results['new']):.1f}x, "
            f"max {max(results['old']) / max(results['new']):.1f}x"
        )


if __name__ == "__main__":
    main()
