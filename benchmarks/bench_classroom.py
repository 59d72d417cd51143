"""A classroom on one server: many sessions pressing Step at once (issue 18).

    python benchmarks/bench_classroom.py [--sessions 30] [--clicks 20] [--think 1.0] [--browsers 2] [--repeat 3]

The server is started as the teacher starts it, `run.py app --host 0.0.0.0`. Driving 30
headless Chromium pages on this 2-core machine would cost more CPU than the server
itself, so most sessions are played by a light client that speaks Solara's websocket
protocol as the page does (`ProtocolSession`: it opens a kernel, runs the app, and clicks
Step by sending the button's click event), and `--browsers` more sessions are real
Chromium pages (one browser process) that time click to updated page inside the page.

Each session clicks Step, waits until the page is updated, "reads" for a random time
around `--think` seconds (uniform, 0.5x to 1.5x; 0 clicks again at once, the worst case),
and clicks again, `--clicks` times. Measured:

- click to updated page, per click: for a protocol session, from sending the click until
  the server has sent every update of that click (its `idle` status; the charts with the
  new month are checked to be among them); for a browser page, from the click until the
  status line and the charts show the new month (a MutationObserver, in the page);
- the server's memory (RSS of its process) before any session, with every session open
  after its first clicks, and the difference per session;
- CPU seconds per click, of the server and of this client (the client's cost is what the
  measurement takes from the server on a shared machine).

`--repeat` runs the whole thing again on a fresh server; the summary gives the median over
runs of each run's median. The figures are in benchmarks/RESULTS.md and docs/APP.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import re
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.app_assets import serve_in_background, stop_server  # noqa: E402

CLICK_AND_WAIT = """async (month) => {
  const shown = () => document.querySelector('.status-line')?.innerText.startsWith(`Month ${month}:`)
    && document.querySelector(`.live-charts[data-month="${month}"]`);
  const start = performance.now();
  await new Promise(resolve => {
    const observer = new MutationObserver(() => { if (shown()) { observer.disconnect(); resolve(); } });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
    document.querySelector('.run-step').click();
  });
  return performance.now() - start;
}"""


def _message(msg_type: str, content: dict, session: str) -> tuple[str, str]:
    """A Jupyter protocol message as the page's widget manager sends it: (msg_id, JSON)."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "session": session,
        "username": "",
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "version": "5.3",
    }
    body = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
    return msg_id, json.dumps({**body, "buffers": []})


@dataclass
class ProtocolSession:
    """One browser session without a browser: Solara's websocket protocol, as the page speaks it.

    `open` fetches the page (for its session cookie), opens a kernel over the websocket,
    asks the `solara.control` comm to run the app and keeps the state of every widget the
    server creates; `click` sends a widget's click event and waits for the server to finish
    handling it. `texts` is everything the server sent since the last `click`, to check.
    """

    url: str
    widgets: dict[str, dict] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)

    async def open(self) -> None:
        import websockets

        with urllib.request.urlopen(self.url, timeout=30) as response:
            cookie = "; ".join(c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or [])
        self.session = uuid.uuid4().hex
        ws_url = (
            self.url.replace("http", "ws", 1) + f"jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={self.session}"
        )
        self.ws = await websockets.connect(ws_url, additional_headers={"Cookie": cookie}, max_size=None)
        control = uuid.uuid4().hex
        await self.ws.send(
            _message("comm_open", {"comm_id": control, "target_name": "solara.control", "data": {}}, self.session)[1]
        )
        run = {"comm_id": control, "data": {"method": "run", "args": {"path": "", "appName": "__default__"}}}
        await self.ws.send(_message("comm_msg", run, self.session)[1])
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), 120)
            self.texts.append(raw)
            message = json.loads(raw)
            kind = message["header"]["msg_type"]
            if kind == "comm_open":
                self.widgets[message["content"]["comm_id"]] = message["content"]["data"].get("state", {})
            elif kind == "comm_msg" and message["content"]["data"].get("method") == "finished":
                return

    def find(self, css_class: str) -> str:
        """The id of the widget with `css_class` (e.g. the Step button, `run-step`)."""
        return next(k for k, state in self.widgets.items() if css_class in str(state.get("class_", "")).split())

    async def click(self, widget: str) -> float:
        """Click a widget; seconds until the server sent every update of the click."""
        self.texts = []
        content = {"comm_id": widget, "data": {"method": "custom", "content": {"event": "click", "data": {}}}}
        msg_id, text = _message("comm_msg", content, self.session)
        started = time.perf_counter()
        await self.ws.send(text)
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), 120)
            self.texts.append(raw if isinstance(raw, str) else raw.decode(errors="replace"))
            message = json.loads(raw)
            if (
                message["header"]["msg_type"] == "status"
                and message["content"].get("execution_state") == "idle"
                and message["parent_header"].get("msg_id") == msg_id
            ):
                return time.perf_counter() - started

    async def close(self) -> None:
        await self.ws.close()


async def protocol_student(
    url: str, clicks: int, think: float, seed: int, out: list[float], opened: list, start: asyncio.Event
) -> None:
    """One session played by `ProtocolSession`: open, wait for `start`, then click Step `clicks` times."""
    rng = random.Random(seed)
    session = ProtocolSession(url)
    await asyncio.sleep(rng.uniform(0, 2))  # students do not all arrive in the same millisecond
    await session.open()
    opened.append(session)
    step = session.find("run-step")
    await start.wait()
    for month in range(1, clicks + 1):
        await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
        took = await session.click(step)
        if not any(f'data-month=\\"{month}\\"' in t and "live-charts" in t for t in session.texts):
            raise RuntimeError(f"month {month}: the charts were not updated")
        out.append(took)


def browser_students(
    url: str, pages: int, clicks: int, think: float, out: list[float], ready: threading.Event, go: threading.Event
) -> None:
    """`pages` real Chromium pages in one browser process, each clicking Step `clicks` times
    once `go` is set."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-renderer-backgrounding",
            ],
        )
        tabs = []
        for _ in range(pages):
            page = browser.new_context().new_page()
            page.goto(url, wait_until="commit")
            page.locator(".run-step").wait_for(timeout=120_000)
            tabs.append(page)
        ready.set()
        go.wait()
        rng = random.Random(0)
        for month in range(1, clicks + 1):
            for page in tabs:  # the pages take turns (one thread drives them), each after a pause
                time.sleep(rng.uniform(0.5 * think, 1.5 * think) / pages)
                out.append(page.evaluate(CLICK_AND_WAIT, month) / 1000)
        browser.close()


def _cpu(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in (proc, *proc.children(recursive=True)):
        times = p.cpu_times()
        total += times.user + times.system
    return total


def _server_rss(pid: int) -> float:
    """Resident memory (MiB) of the Solara server under `run.py app`."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    server = [p for p in procs if "solara" in " ".join(p.cmdline())]
    return sum(p.memory_info().rss for p in server) / 2**20


def ms(values: list[float]) -> str:
    cut = sorted(values)
    p90 = cut[int(0.9 * (len(cut) - 1))]
    return f"median {1000 * statistics.median(values):.0f} ms, p90 {1000 * p90:.0f} ms, max {1000 * max(values):.0f} ms"


MONTH_SHOWN = re.compile(r'live-charts\\" data-month=\\"(\d+)')


async def play_rate(session: ProtocolSession, seconds: float) -> float:
    """Press Play, count the months the charts show for `seconds`, press Pause: months per
    second (the page's speed setting asks for 5, one month every 200 ms)."""
    play = session.find("run-play")
    await session.click(play)
    months: list[int] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(session.ws.recv(), left)
        except TimeoutError:
            break
        months += [int(m) for m in MONTH_SHOWN.findall(raw if isinstance(raw, str) else raw.decode(errors="replace"))]
    await session.click(play)
    return (max(months) - min(months)) / seconds if len(months) > 1 else 0.0


def play_run(sessions: int, seconds: float = 15.0) -> list[float]:
    """`sessions` protocol sessions press Play together; each one's months per second."""
    process, url = serve_in_background(via_run_py=True, app_args=("--host", "0.0.0.0"))
    try:

        async def classroom() -> list[float]:
            opened = [ProtocolSession(url) for _ in range(sessions)]
            for session in opened:
                await session.open()
            rates = await asyncio.gather(*(play_rate(s, seconds) for s in opened))
            await asyncio.gather(*(s.close() for s in opened))
            return list(rates)

        return asyncio.run(classroom())
    finally:
        stop_server(process)


async def _closed_for_idleness(session: ProtocolSession, wait: float) -> bool:
    """Whether the server tells `session` within `wait` seconds that its page was closed."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(session.ws.recv(), left)
        except TimeoutError:
            return False
        if "This page was closed" in (raw if isinstance(raw, str) else raw.decode(errors="replace")):
            return True
    return False


def one_run(
    sessions: int, clicks: int, think: float, browsers: int, idle: float | None = None, checkout: Path = ROOT
) -> dict[str, float]:
    """Start a server, play the classroom against it, stop it; the figures of the run. With
    `idle` (minutes), the server frees idle sessions after that long, and the run waits for
    it after the clicks and measures the memory again."""
    import psutil

    app_args = ("--host", "0.0.0.0") + (("--idle-minutes", str(idle)) if idle else ())
    if checkout != ROOT:
        app_args = app_args[:2]  # an older checkout may not know --idle-minutes
    process, url = serve_in_background(via_run_py=True, app_args=app_args, root=checkout)
    try:
        time.sleep(2)
        rss_empty = _server_rss(process.pid)
        protocol: list[float] = []
        browser: list[float] = []
        opened: list = []
        ready, browsers_go = threading.Event(), threading.Event()
        thread = None
        if browsers:
            thread = threading.Thread(
                target=browser_students, args=(url, browsers, clicks, think, browser, ready, browsers_go)
            )
            thread.start()
            ready.wait(300)
        me = psutil.Process()
        figures: dict[str, float] = {}

        async def classroom() -> None:
            """Open every session, then measure while they click."""
            n = sessions - browsers
            start = asyncio.Event()
            students = [
                asyncio.create_task(protocol_student(url, clicks, think, i, protocol, opened, start)) for i in range(n)
            ]
            while len(opened) < n:
                await asyncio.sleep(0.2)
                for task in students:
                    if task.done() and task.exception():
                        raise task.exception()
            figures["cpu_server"], figures["cpu_client"], figures["wall"] = (
                _cpu(process.pid),
                sum(me.cpu_times()[:2]),
                time.perf_counter(),
            )
            browsers_go.set()
            start.set()
            await asyncio.gather(*students)

        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(classroom())
            if thread is not None:
                thread.join()
            cpu_server = _cpu(process.pid) - figures["cpu_server"]
            cpu_client = sum(me.cpu_times()[:2]) - figures["cpu_client"]
            wall = time.perf_counter() - figures["wall"]
            rss_full = _server_rss(process.pid)
            released, rss_released = 0, float("nan")
            if idle:
                started = time.monotonic()

                async def wait_idle() -> list[bool]:
                    return await asyncio.gather(*(_closed_for_idleness(s, 60 * idle + 30) for s in opened))

                released = sum(loop.run_until_complete(wait_idle()))
                figures["released_after"] = time.monotonic() - started
                time.sleep(2)
                rss_released = _server_rss(process.pid)

                async def reopen() -> None:  # as many new sessions: do they fit in the memory freed?
                    fresh = [ProtocolSession(url) for _ in opened]
                    for session in fresh:
                        await session.open()
                    opened.extend(fresh)

                loop.run_until_complete(reopen())
                figures["rss_reopened"] = _server_rss(process.pid)

            async def leave() -> None:
                await asyncio.gather(*(s.close() for s in opened))

            loop.run_until_complete(leave())
        finally:
            loop.close()
    finally:
        stop_server(process)
    n_clicks = len(protocol) + len(browser)
    return {
        "protocol": protocol,
        "browser": browser,
        "rss_empty": rss_empty,
        "rss_full": rss_full,
        "per_session": (rss_full - rss_empty) / sessions,
        "server_cpu_per_click": cpu_server / n_clicks,
        "client_cpu_per_click": cpu_client / max(len(protocol), 1),
        "server_load": cpu_server / wall,
        "clicks_per_second": n_clicks / wall,
        "released": released,
        "released_after": figures.get("released_after", float("nan")),
        "rss_released": rss_released,
        "rss_reopened": figures.get("rss_reopened", float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--clicks", type=int, default=20, help="Step clicks per session")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds between a page updated and the next click"
    )
    parser.add_argument("--browsers", type=int, default=2, help="how many of the sessions are real Chromium pages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--idle",
        type=float,
        default=None,
        help="minutes: free idle sessions this soon, and measure it after the clicks",
    )
    parser.add_argument(
        "--play",
        action="store_true",
        help="instead: every session presses Play at once; how many months a second each advances (5 asked)",
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="serve the app of another checkout (e.g. an export of an older commit), to compare",
    )
    args = parser.parse_args()
    if args.play:
        for run in range(1, args.repeat + 1):
            rates = play_run(args.sessions)
            print(
                f"run {run}: {args.sessions} sessions playing at once: months per second per session median "
                f"{statistics.median(rates):.2f}, min {min(rates):.2f}, max {max(rates):.2f} (5 asked)",
                flush=True,
            )
        return
    medians: dict[str, list[float]] = {"protocol": [], "browser": [], "per_session": [], "server_cpu": []}
    for run in range(1, args.repeat + 1):
        r = one_run(args.sessions, args.clicks, args.think, args.browsers, args.idle, args.checkout)
        print(
            f"run {run}: {args.sessions} sessions ({args.browsers} in Chromium), {r['clicks_per_second']:.1f} clicks/s; "
            f"click to updated page: protocol sessions {ms(r['protocol'])}"
            + (f"; Chromium pages {ms(r['browser'])}" if r["browser"] else "")
        )
        print(
            f"       server: {1000 * r['server_cpu_per_click']:.1f} ms CPU per click ({100 * r['server_load']:.0f} % of a "
            f"core), memory {r['rss_empty']:.0f} MiB empty -> {r['rss_full']:.0f} MiB with {args.sessions} sessions "
            f"({r['per_session']:.1f} MiB per session); client: {1000 * r['client_cpu_per_click']:.1f} ms CPU per "
            "protocol click",
            flush=True,
        )
        if args.idle:
            print(
                f"       idle: {r['released']} of {len(r['protocol']) // args.clicks} protocol sessions told their page "
                f"was closed {r['released_after']:.0f} s after the last click (idle time {60 * args.idle:.0f} s); "
                f"memory then {r['rss_released']:.0f} MiB, and {r['rss_reopened']:.0f} MiB once as many new sessions "
                "opened"
            )
        medians["protocol"].append(statistics.median(r["protocol"]))
        if r["browser"]:
            medians["browser"].append(statistics.median(r["browser"]))
        medians["per_session"].append(r["per_session"])
        medians["server_cpu"].append(r["server_cpu_per_click"])
    print(
        f"median of {args.repeat} runs: click to updated page {1000 * statistics.median(medians['protocol']):.0f} ms "
        "(protocol sessions)"
        + (f", {1000 * statistics.median(medians['browser']):.0f} ms (Chromium pages)" if medians["browser"] else "")
        + f"; {statistics.median(medians['per_session']):.1f} MiB per session; "
        f"{1000 * statistics.median(medians['server_cpu']):.1f} ms server CPU per click"
    )


if __name__ == "__main__":
    main()
