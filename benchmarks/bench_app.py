"""How long a month takes in the teaching app, at 500 and 1,000 households.

    python benchmarks/bench_app.py [--steps 30]

1. In Python: the model step plus building the charts the page shows every step (inline
   SVG), and the network picture the page redraws every few months.
2. In a real browser (Debian's chromium via Playwright, the app served by `run.py app`):
   from the click on Step until the page shows the new month, measured inside the page
   with performance.now() and a MutationObserver, so it includes the server's work, the
   websocket round trip and the browser's redraw. Target (issue 8): <= 100 ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.app_assets import serve_in_background, stop_server  # noqa: E402
from analysis.classroom import ClassroomModel, charts_html, network_figure  # noqa: E402

CLICK_AND_WAIT = """async (month) => {
  const step = [...document.querySelectorAll('button')].find(b => b.innerText.trim().toUpperCase() === 'STEP');
  const want = `Month ${month}:`;
  const start = performance.now();
  const done = new Promise(resolve => {
    const observer = new MutationObserver(() => {
      if (document.body.innerText.includes(want)) { observer.disconnect(); resolve(performance.now() - start); }
    });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  });
  step.click();
  return await done;
}"""


def python_timings(households: int, steps: int) -> None:
    model = ClassroomModel(households=households, seed=1)
    for _ in range(12):
        model.step()
    step, charts, network = [], [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        charts_html(model, "en")
        t2 = time.perf_counter()
        step.append(t1 - t0)
        charts.append(t2 - t1)
    for _ in range(5):
        t0 = time.perf_counter()
        network_figure(model).savefig(io.BytesIO(), format="png")
        network.append(time.perf_counter() - t0)
    ms = lambda xs: f"{1000 * statistics.median(xs):.1f} ms"  # noqa: E731
    print(
        f"python  {model.pop.n_households:5d} households: step {ms(step)}, charts {ms(charts)}, "
        f"network picture {ms(network)} (every 6 months)"
    )


def browser_timings(url: str, households: int, steps: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("button", name="Step").wait_for(timeout=90_000)
        slider = page.get_by_role("slider", name="Households")
        now = int(slider.get_attribute("aria-valuenow"))
        slider.focus()
        key = "ArrowRight" if households > now else "ArrowLeft"
        for _ in range(abs(households - now) // 100):
            page.keyboard.press(key)
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("Month 0").wait_for()
        times = [page.evaluate(CLICK_AND_WAIT, month) for month in range(1, steps + 1)]
        browser.close()
    with_network = [t for m, t in enumerate(times, 1) if m % 6 == 0]
    others = [t for m, t in enumerate(times, 1) if m % 6]
    print(
        f"browser {households:5d} households: click to new month, median {statistics.median(others):.0f} ms "
        f"(max {max(others):.0f}); months that redraw the network, median {statistics.median(with_network):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    for households in (500, 1000):
        python_timings(households, args.steps)
    server, url = serve_in_background()
    try:
        for households in (500, 1000):
            browser_timings(url, households, args.steps)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
