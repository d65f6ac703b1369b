"""The README's screenshots, retaken on the full import, and an overlap check of every page at two sizes.

    FER_DATA_DIR=<the full import> python bench/screenshots.py [--out docs] [--port 8671]

Starts one studio (as bench/bench_studio.py does), opens each page in Debian's Chromium at 1280x720 and at 390x844
(a phone), waits until it has finished drawing, and reports any two visible elements (text, buttons, images,
charts, inputs) whose boxes overlap by more than 4 px each way, one nested in the other and the parts of one
slider excepted. The README's pictures (Data, Browse, Relabel, and Predict with the six-face photo uploaded) are
taken at 1500x1100 into `--out` (docs/ by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_relabel import CHROMIUM, CHROMIUM_ARGS, settle, start_studio, wait_healthy  # noqa: E402
from bench.bench_studio import PAINT_JS, page_urls, paint_ms  # noqa: E402

SIZES = ((1280, 720), (390, 844))
README_SIZE = (1500, 1100)  # the README's pictures: the whole first screen of a laptop-sized window
IN_README = ("Data", "Browse", "Relabel", "Predict")  # written to OUT/<name in lower case>.png
PHOTO = "test.jpg"  # in the shared photos: six faces, uploaded on the Predict page before its picture is taken
OVERLAPS_JS = """() => {
    const selector = 'h1, h2, h3, p, li, label, button, img, input, [data-testid=stCaptionContainer], '
        + '[data-testid=stMetric], [data-testid=stPlotlyChart], [data-testid=stImage], [data-testid=stProgress]';
    const scoped = '[data-testid=stMain] ' + selector.split(', ').join(', [data-testid=stMain] ');
    const boxes = [...document.querySelectorAll(scoped)]
        .filter(e => e.checkVisibility({opacityProperty: true, visibilityProperty: true})
                     && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0
                     && ((e.innerText || '').trim() !== '' || ['IMG', 'INPUT'].includes(e.tagName)))
        .filter(e => !e.closest('details:not([open])') || e.closest('summary'))
        .map(e => ({e, r: e.getBoundingClientRect()}));
    const found = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
        const widget = a.e.closest('[data-testid=stSlider]');  // a slider's label box reaches over its own values
        if (widget && widget.contains(b.e)) continue;
        const x = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const y = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        const name = (e) => `${e.tagName} "${(e.innerText || e.alt || '').slice(0, 30)}"`;
        if (x > 4 && y > 4) found.push(`${name(a.e)} and ${name(b.e)} (${x.toFixed(0)}x${y.toFixed(0)} px)`);
    }
    return found;
}"""


def drawn_page(browser, url: str, size: tuple[int, int]):
    """The page at `url` at `size`, once drawn as bench/bench_studio.py's first paint defines it (script and
    fragments finished, nothing stale, every image and chart drawn, and so for 0.5 s)."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.add_init_script(PAINT_JS)
    paint_ms(page, url, timeout_s=180)
    return page


def show_prediction(page) -> None:
    """Upload the six-face photo and wait until its faces are listed."""
    from core.paths import shared_data_dir

    photo = shared_data_dir() / "photos" / PHOTO
    if photo.is_file():
        page.locator("input[type=file]").set_input_files(str(photo))
        page.get_by_text("6 faces found").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        settle(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--port", type=int, default=8671)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    who = "alice"  # the name shown in the pictures (nothing is labelled: no key is pressed)
    server = start_studio(REPO / "app" / "main.py", args.port)
    problems = 0
    try:
        wait_healthy(args.port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, url in page_urls(f"http://127.0.0.1:{args.port}", who).items():
                for size in SIZES:
                    page = drawn_page(browser, url, size)
                    overlaps = page.evaluate(OVERLAPS_JS)
                    problems += len(overlaps)
                    print(f"{name:8s} {size[0]}x{size[1]}: {len(overlaps)} overlapping pairs", flush=True)
                    for overlap in overlaps[:10]:
                        print(f"    {overlap}")
                    page.close()
                if name in IN_README:
                    page = drawn_page(browser, url, README_SIZE)
                    if name == "Predict":
                        show_prediction(page)
                    page.screenshot(path=str(args.out / f"{name.lower()}.png"))
                    page.close()
            browser.close()
    finally:
        server.terminate()
    print(f"{problems} overlapping pairs in all; screenshots of {', '.join(IN_README)} in {args.out}")


if __name__ == "__main__":
    main()
