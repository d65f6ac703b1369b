"""Benchmark: the Browse page, from a click on a filter to the page of faces drawn, in Chromium.

    FER_DATA_DIR=/path/to/an/import python bench/bench_browse.py [--clicks 10] [--old ac2c23c]

Starts the studio with one extra page, the Browse page as it was at commit `--old` (`git show`), opens both at
1280x900 in Debian's Chromium and ticks and unticks "FER2013 and FERPlus disagree". A click counts as drawn at the
first animation frame where the "images match" count has changed, Streamlit is no longer running, no element is
stale and every <img> has loaded; timing is taken inside the page (click to that frame). `--predictions` also
switches the model's predictions on first (the new page reads them from the cache; compute it beforehand, or the
new page shows the job's progress). Prints median and max per page and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_relabel import CHROMIUM, CHROMIUM_ARGS, bench_main, settle, start_studio, wait_healthy  # noqa: E402

FILTER = "FER2013 and FERPlus disagree"
MATCH_JS = """() => {
  const label = [...document.querySelectorAll('label')].find(l => l.innerText.includes('images match'));
                      return label ? label.innerText : null; }"""
ARM_JS = (
    """([before]) => {
    const match = %s;
    window.__browseResult = undefined;
    let start = null;
    const drawn = () => match() !== null && match() !== before
        && !document.querySelector('[data-testid=stStatusWidget]') && !document.querySelector('[data-stale=true]')
        && [...document.images].every(img => img.complete);
    const poll = () => {
      if (drawn()) window.__browseResult = performance.now() - start; else requestAnimationFrame(poll);
    };
    window.addEventListener('click', () => { start = performance.now(); requestAnimationFrame(poll); },
                            {capture: true, once: true});
}"""
    % MATCH_JS
)


def time_clicks(browser, url: str, clicks: int, predictions: bool) -> list[float]:
    """Milliseconds from each click on the filter to the page of faces drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_function(MATCH_JS, timeout=300_000)
    if predictions:
        settle(page)
        page.get_by_text("Filter and show by the model's predictions").click()
        page.get_by_text("Predicted class").wait_for(timeout=600_000)
    times = []
    for i in range(clicks + 1):  # the first click warms caches up and is not counted
        settle(page)
        page.evaluate(ARM_JS, [page.evaluate(MATCH_JS)])
        page.get_by_text(FILTER).click()
        page.wait_for_function("() => window.__browseResult !== undefined", timeout=300_000, polling=50)
        if i:
            times.append(page.evaluate("() => window.__browseResult"))
    page.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--old", default="ac2c23c", help="commit whose pages/browse.py is timed as 'old'")
    parser.add_argument("--port", type=int, default=8605)
    parser.add_argument("--pages", default="new,old")
    parser.add_argument("--predictions", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server = start_studio(bench_main(Path(folder), args.old, "browse"), args.port)
        results = {}
        try:
            wait_healthy(args.port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name in args.pages.split(","):
                    url = f"http://127.0.0.1:{args.port}/{'browse' if name == 'new' else 'browse_old'}"
                    results[name] = times = time_clicks(browser, url, args.clicks, args.predictions)
                    print(
                        f"{name}: filter click -> faces drawn: median {statistics.median(times) / 1000:.2f} s, "
                        f"max {max(times) / 1000:.2f} s over {len(times)} clicks at 1280x900",
                        flush=True,
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=120)
    if {"new", "old"} <= results.keys():
        print(
            f"ratio old/new: median {statistics.median(results['old']) / statistics.median(results['new']):.1f}x, "
            f"max {max(results['old']) / max(results['new']):.1f}x"
        )


if __name__ == "__main__":
    main()
