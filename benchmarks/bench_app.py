"""How long a month takes in the teaching app, at 500 and 1,000 households.

    python benchmarks/bench_app.py [--months 36]

1. In Python: the model step, the six charts (inline SVG) the page redraws every month,
   and the network view it redraws every 3 months (`NETWORK_EVERY`).
2. In a real browser (Debian's chromium via Playwright, the app served as `run.py app`
   serves it): from the click on Step until the new month is on screen, measured inside
   the page with performance.now(): a MutationObserver waits until the status line, the
   charts (and in months 1, 4, 7, ... the network view) show the new month ("updated"),
   then until two animation frames have passed, so the browser has painted it ("painted";
   headless chromium draws at 60 frames a second, so this adds up to ~33 ms). This
   includes the server's work, the websocket round trip and the browser's redraw.
   Target (issue 8): <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.app_assets import serve_in_background, stop_server  # noqa: E402
from analysis.classroom import NETWORK_EVERY, ClassroomModel, charts_html, network_svg  # noqa: E402

CLICK_AND_WAIT = """async ([month, network]) => {
  const step = document.querySelector('.run-step');
  const shown = () => document.querySelector('.status-line')?.innerText.startsWith(`Month ${month}:`)
    && document.querySelector(`.live-charts[data-month="${month}"]`)
    && (!network || document.querySelector(`svg.network[data-month="${month}"]`));
  const start = performance.now();
  await new Promise(resolve => {
    const observer = new MutationObserver(() => { if (shown()) { observer.disconnect(); resolve(); } });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
    step.click();
  });
  const updated = performance.now() - start;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [updated, performance.now() - start];
}"""


def ms(values: list[float]) -> str:
    """Median and maximum in milliseconds."""
    return f"median {1000 * statistics.median(values):.1f} ms (max {1000 * max(values):.1f})"


def python_timings(households: int, months: int) -> None:
    """Model step, charts and network view, timed in this process."""
    model = ClassroomModel(households=households, seed=1)
    step, charts, network = [], [], []
    for _ in range(months):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        charts_html(model, "en")
        t2 = time.perf_counter()
        network_svg(model)
        t3 = time.perf_counter()
        step.append(t1 - t0)
        charts.append(t2 - t1)
        network.append(t3 - t2)
    print(
        f"python  {model.pop.next_household:5d} households: step {ms(step)}; charts {ms(charts)}; "
        f"network view {ms(network)} (drawn every {NETWORK_EVERY} months)"
    )


def server_cpu_seconds(server) -> float:
    """CPU time used so far by the server process and everything under it."""
    import psutil

    root = psutil.Process(server.pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def browser_timings(url: str, households: int, months: int, server) -> None:
    """Click on Step to the new month painted, in Debian's chromium; and the server's CPU
    time per month (what limits how many students one server can take)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url, wait_until="commit")
        page.locator(".run-step").wait_for(timeout=90_000)
        slider = page.locator(".control-households [role=slider]")
        now = int(slider.get_attribute("aria-valuenow"))
        slider.focus()
        for _ in range(abs(households - now) // 100):
            page.keyboard.press("ArrowRight" if households > now else "ArrowLeft")
        # the server has the new value (a Reset sent earlier would build the old size) ...
        expect(page.locator(".control-households")).to_contain_text(f": {households:,}")
        page.locator(".run-reset").click()
        # ... and the running model was built with it
        expect(page.locator(".settings-changed")).to_have_count(0)
        page.get_by_text("Month 0: press Step").wait_for()
        updated: dict[bool, list[float]] = {True: [], False: []}
        painted: dict[bool, list[float]] = {True: [], False: []}
        cpu_before = server_cpu_seconds(server)
        for month in range(1, months + 1):
            redraw = (month - 1) % NETWORK_EVERY == 0
            dom, screen = page.evaluate(CLICK_AND_WAIT, [month, redraw])
            updated[redraw].append(dom / 1000)
            painted[redraw].append(screen / 1000)
        cpu = (server_cpu_seconds(server) - cpu_before) / months
        circles = page.locator("svg.network circle").count()
        browser.close()
    for redraw, what in ((False, "months without a network redraw"), (True, "months with a network redraw")):
        print(
            f"browser {households:5d} households ({circles} drawn), {what}: click to page updated "
            f"{ms(updated[redraw])}; to painted {ms(painted[redraw])}"
        )
    print(f"server  {households:5d} households: {1000 * cpu:.1f} ms of CPU per month (all months, one session)")


def main() -> None:
    """Both measurements at 500 and 1,000 households."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    for households in (500, 1000):
        python_timings(households, args.months)
    server, url = serve_in_background()
    try:
        for households in (500, 1000):
            browser_timings(url, households, args.months, server)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
