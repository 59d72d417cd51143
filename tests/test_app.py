"""The teaching app: its pure logic (analysis/classroom.py), and the page in a real browser
(Debian's chromium driven by Playwright) served the way `run.py app` serves it."""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from analysis.app_assets import ENTRY_FILES, PACKAGES, cdn_dir, missing_assets, serve_in_background, stop_server
from analysis.classroom import (
    BASELINE,
    COMMUNITY_CHOICES,
    CONTROL,
    CONTROLS,
    DEFAULTS,
    EXPLAIN,
    TEXT,
    ClassroomModel,
    Seats,
    charts_html,
    community_base,
    explanation,
    history,
    network_svg,
    preset_controls,
    status_line,
    svg_chart,
)
from simulation.options import Option

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAN = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------- pure logic
def test_both_languages_have_every_label():
    assert set(TEXT["en"]) == set(TEXT["zh"])
    assert set(EXPLAIN["en"]) == set(EXPLAIN["zh"])
    for lang in ("en", "zh"):
        for control in CONTROLS:
            assert TEXT[lang][control.key] and EXPLAIN[lang][control.key], (lang, control.key)
        for community in COMMUNITY_CHOICES:
            assert TEXT[lang][f"community_{community}"]
        assert all(value.strip() for value in TEXT[lang].values())
    translated = [key for key, value in TEXT["zh"].items() if HAN.search(value)]
    assert len(translated) >= len(TEXT["zh"]) - 3  # all but e.g. "0-1" style labels are Chinese
    assert TEXT["zh"]["out_of_county_wage"] == "县外务工工资（元/月）"


def test_explanation_covers_every_control_in_both_languages():
    for lang in ("en", "zh"):
        html = explanation(lang)
        assert html.count("<li>") == len(CONTROLS) + 1  # every control, and the network colours
        for control in CONTROLS:
            assert TEXT[lang][control.key] in html


def test_controls_are_exactly_the_model_arguments():
    parameters = inspect.signature(ClassroomModel.__init__).parameters
    assert [c.key for c in CONTROLS] == [name for name in parameters if name != "self"]
    assert {name: p.default for name, p in parameters.items() if name != "self"} == DEFAULTS


def test_sliders_pass_through_their_defaults_and_the_defaults_are_the_baseline():
    for control in CONTROLS:
        if control.kind in ("int", "float"):
            assert control.low <= control.default <= control.high, control
            steps = (control.default - control.low) / control.step
            assert abs(steps - round(steps)) < 1e-9, control  # a slider snaps to low + k * step
    scenario = ClassroomModel().config
    assert scenario.wages == BASELINE.wages
    assert scenario.choice == BASELINE.choice
    assert scenario.labour_demand == BASELINE.labour_demand
    assert scenario.ties.allocation == BASELINE.ties.allocation
    for name in ("skills_training", "workshops", "public_welfare_jobs", "subsistence_allowance"):
        assert getattr(scenario.policies, name).enabled == getattr(BASELINE.policies, name).enabled


@pytest.mark.parametrize("community", COMMUNITY_CHOICES)
def test_every_preset_builds_a_classroom_sized_community_with_the_survey_ratios(community):
    preset = preset_controls(community)
    model = ClassroomModel(households=600, **preset)
    full, small = community_base(community), model.config
    assert 510 <= model.pop.next_household <= 690  # household sizes follow each community's composition (3.7-4.4)
    assert small.community.id == full.community.id
    ratio = small.community.relocated_labour_force / small.community.relocated_population
    assert ratio == pytest.approx(full.community.relocated_labour_force / full.community.relocated_population, rel=0.01)
    per_person = small.community.source_villages / small.community.relocated_population
    assert per_person == pytest.approx(full.community.source_villages / full.community.relocated_population, rel=0.05)
    demand = full.labour_demand
    assert small.labour_demand.industry_posts_per_100_workers == round(demand.industry_posts_per_100_workers)
    assert small.labour_demand.services_posts_per_100_workers == round(demand.services_posts_per_100_workers)
    if community != "typical":  # the calibrated file's other fitted values come along
        assert small.wages.casual_local == full.wages.casual_local
        assert small.population.land_mu_per_person == full.population.land_mu_per_person
    # policy amounts are densities: the same in the classroom's community as in the file
    assert small.policies.workshops.posts_per_100_workers == full.policies.workshops.posts_per_100_workers
    assert small.policies.public_welfare_jobs.posts_per_100_households == (
        full.policies.public_welfare_jobs.posts_per_100_households
    )
    model.step()
    assert model.steps == 1 and 0 < model.indicators["employment_rate"] <= 1


def test_controls_change_the_model():
    low = ClassroomModel(out_of_county_wage=3049, seed=3)
    high = ClassroomModel(out_of_county_wage=7049, seed=3)
    for _ in range(12):
        low.step()
        high.step()
    assert high.indicators["share_out_of_county"] > low.indicators["share_out_of_county"] + 0.1
    assert ClassroomModel(workshops=True).config.policies.workshops.enabled
    assert ClassroomModel(mixed_allocation=True).config.ties.allocation == "mixed"
    assert ClassroomModel(local_wage=3000).config.wages.local_industry == 3000


def test_same_settings_and_seed_give_the_same_run_and_picture():
    runs = [ClassroomModel(households=500, seed=s) for s in (4, 4, 5)]
    for model in runs:
        for _ in range(6):
            model.step()
    a, b, c = (history(m) for m in runs)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    assert np.array_equal(runs[0].positions, runs[1].positions)
    assert network_svg(runs[0]) == network_svg(runs[1])
    assert network_svg(runs[0], "origin") == network_svg(runs[1], "origin")


def test_the_bad_year_button_sends_workers_home_and_the_status_line_says_so():
    model = ClassroomModel(households=500, seed=2)
    model.run(12)
    out_before = np.flatnonzero(model.labour & (model.pop.option == Option.OUT_OF_COUNTY))
    model.start_bad_year()
    assert "bad year" in status_line(model, "en") and "坏年景" in status_line(model, "zh")
    model.step()
    # about 30 % of those outside come home at once (counted over them: month 13 also
    # brings the second arrival wave, whose members may go out)
    still_out = (model.pop.option[out_before] == Option.OUT_OF_COUNTY).mean()
    assert out_before.size > 30 and still_out < 0.85, still_out
    assert "from month 13 to month 24" in status_line(model, "en")


def test_the_class_can_start_before_the_move_and_keep_the_homestead():
    """The decision switch runs the stage before the move (MODEL.md 7.12); the status line
    says how many village households moved and how many withdrew; keeping the homestead
    brings more of those who signed up."""
    runs = {}
    for handover in (True, False):
        model = ClassroomModel(households=600, seed=3, decide_to_move=True, homestead_handover=handover)
        model.step()
        n = model.pop.decision.counts
        assert f"{int(n['decision_moved']):,} moved" in status_line(model, "en") and "报名后放弃" in status_line(
            model, "zh"
        )
        runs[handover] = n
    assert runs[False]["decision_withdrew"] < runs[True]["decision_withdrew"]
    assert runs[False]["decision_signed_up"] == runs[True]["decision_signed_up"]  # the same draws, the same sign-ups
    plain = ClassroomModel(households=600, seed=3)
    plain.step()
    assert plain.pop.decision is None and "village households" not in status_line(plain, "en")


def test_charts_and_network_are_drawn_from_the_model():
    model = ClassroomModel(households=500, seed=2)
    html = charts_html(model, "en")
    assert html.count("<svg") == 8 and "<polyline" not in html and 'data-month="0"' in html
    assert html.count('class="pyramid"') == 1 and html.count("<rect") > 2 * 18  # the age pyramid, from the start
    for _ in range(3):
        model.step()
    html = charts_html(model, "zh")
    assert html.count('class="current"') == 11 and "就业地点" in html and 'data-month="3"' in html
    before = history(model)
    html = charts_html(ClassroomModel(households=500, seed=2), "en", previous=before)
    assert html.count('class="previous"') == 11 and "dashed" in html
    assert "Month 3:" in status_line(model, "en") and "第3月" in status_line(model, "zh")
    svg = network_svg(model)
    living = int((model.pop.active & ~model.returned).sum())
    assert svg.count("<circle") == living and 'data-month="3"' in svg and "<path" in svg


def test_svg_chart_handles_empty_and_flat_series():
    assert svg_chart("t", np.zeros(0), [], None).startswith("<svg")
    flat = svg_chart("t", np.arange(1, 4), [("x", np.ones(3), "#000")], None)
    assert "<polyline" in flat and "nan" not in flat
    gap = svg_chart("t", np.arange(1, 4), [("x", np.array([1.0, np.nan, 2.0]), "#000")], (0, None))
    assert "nan" not in gap


def test_seats_admit_up_to_the_capacity_and_free_on_give_back(monkeypatch):
    seats = Seats(capacity=2, idle_minutes=1)
    first, second = seats.take(), seats.take()
    assert first is not None and second is not None and first is not second
    assert seats.take() is None and len(seats) == 2  # the class is full
    seats.give_back(first)
    seats.give_back(first)  # twice counts once
    assert len(seats) == 1
    third = seats.take()
    assert third is not None and seats.take() is None
    clock = [100.0]
    monkeypatch.setattr("analysis.classroom.time.monotonic", lambda: clock[0])
    third.touch()
    clock[0] += 42
    assert third.idle_seconds() == 42
    third.touch()
    assert third.idle_seconds() == 0
    monkeypatch.setenv("RELOCATION_APP_CAPACITY", "7")
    monkeypatch.setenv("RELOCATION_APP_IDLE_MINUTES", "2.5")
    assert (Seats().capacity, Seats().idle_minutes) == (7, 2.5)


def test_run_py_app_defaults_are_the_apps():
    import run
    from analysis import classroom

    assert (run.CLASS_CAPACITY, run.CLASS_IDLE_MINUTES) == (classroom.CAPACITY, classroom.IDLE_MINUTES)


# ---------------------------------------------------------------------------- the server
NO_NPM_PATH = str(Path(sys.executable).parent)  # the environment's own bin folder: solara, python, no npm


def test_the_page_assets_are_installed_by_pip_from_solara_assets():
    assert missing_assets() == []
    installed = {str(f) for f in importlib.metadata.files("solara-assets")}
    for spec in PACKAGES:
        entry = cdn_dir() / spec / ENTRY_FILES[spec]
        # the file the page loads is one the solara-assets distribution installed (its RECORD)
        assert any(f.endswith(f"share/solara/cdn/{spec}/{ENTRY_FILES[spec]}") for f in installed), spec
        assert entry.stat().st_size > 1000
    assert shutil.which("npm", path=NO_NPM_PATH) is None


def test_missing_assets_are_named_with_the_pip_command(monkeypatch, tmp_path):
    from analysis import app_assets

    monkeypatch.setattr(app_assets, "cdn_dir", lambda: tmp_path)
    assert app_assets.missing_assets() == list(PACKAGES)
    with pytest.raises(RuntimeError, match=r"requirejs@2\.3\.6.*pip install -e '\.\[app\]'"):
        app_assets.check_assets()


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _port_is_free(port: int) -> bool:
    """Whether a new server could listen on `port` (as uvicorn does, with SO_REUSEADDR, so the
    closed connections left in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kill(tree: list[psutil.Process]) -> None:
    """Clean up after a failed stop: kill what is left of a server's process tree."""
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(tree, timeout=5)


def _stopped_within(tree: list[psutil.Process], port: int, seconds: float) -> float | None:
    """Seconds until no process of `tree` is alive and `port` is free, or None if not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive and _port_is_free(port):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGINT", "SIGKILL"])
def test_run_py_app_stopped_by_a_signal_stops_the_whole_server(tmp_path, sig):
    """SIGHUP (a closed terminal), SIGINT (Ctrl-C) and SIGKILL sent to `run.py app` alone
    (not to its server's process group) stop the server and free the port; SIGTERM is
    tested with a browser connected, below."""
    if not hasattr(signal, sig) or (sig == "SIGKILL" and sys.platform != "linux"):
        pytest.skip(f"{sig} handling is tested on Linux")
    process, url = serve_in_background(via_run_py=True, log=tmp_path / "server.log")
    port = int(url.rsplit(":", 1)[1].strip("/"))
    tree = _tree(process.pid)
    assert any("solara" in " ".join(p.cmdline()) for p in tree)
    assert any(os.getpgid(p.pid) != os.getpgid(process.pid) for p in tree)  # the server has its own group
    os.kill(process.pid, getattr(signal, sig))
    took = _stopped_within(tree, port, 10)
    if took is None:
        _kill(tree)
    assert took is not None, f"after {sig} the server was still alive or holding port {port} 10 s later"
    print(f"{sig}: stopped in {took:.1f} s")


# ---------------------------------------------------------------------------- in a browser
def _playwright():
    """Playwright's sync API, or a skip (a failure under CI) saying what is missing."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        print(reason)
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must provide them (see .ci/run)")
        pytest.skip(reason)
    return sync_api


class ConnectionRecorder:
    """A fake HTTP(S) proxy that records and refuses every connection: given to the server
    as HTTPS_PROXY, it shows whether the server tries to reach the internet."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(2048).split(b"\r\n", 1)[0].decode(errors="replace"))
                except OSError:
                    self.seen.append("(connection without a request line)")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served offline by `run.py app` (the user's command), with no npm on its PATH,
    a dead CDN address (any asset missing locally fails) and a recording proxy (any call
    home fails)."""
    _playwright()
    recorder = ConnectionRecorder()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
        "HTTPS_PROXY": recorder.url,
        "HTTP_PROXY": recorder.url,
        "NO_PROXY": "",
        "PATH": NO_NPM_PATH,  # the assets must come from the installed packages: no npm to fall back on
    }
    try:
        process, url = serve_in_background(via_run_py=True, env=env, log=log)
    except RuntimeError as exc:
        recorder.close()
        pytest.fail(str(exc))
    yield url, recorder
    stop_server(process)
    recorder.close()
    print(f"server log: {log}")


def _launch(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


def _step(page, month: int) -> float:
    """Click Step; wait until the status line and the charts show `month`; seconds taken."""
    started = time.perf_counter()
    page.locator(".run-step").click()
    page.get_by_text(f"Month {month}:").wait_for(timeout=30_000)
    page.locator(f'.live-charts[data-month="{month}"]').wait_for(timeout=30_000)
    return time.perf_counter() - started


def test_page_in_a_real_browser(server, tmp_path):
    sync_api = _playwright()
    expect = sync_api.expect
    url, recorder = server
    requests: list[str] = []
    responses: list[tuple[int, str]] = []
    with sync_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: responses.append((r.status, r.url)))
        page.goto(url, wait_until="commit")  # the page is built over a websocket: wait for it, not for "load"
        page.locator(".run-step").wait_for(timeout=90_000)

        # the controls and the charts are drawn, not just the loading splash
        expect(page.get_by_text("Month 0: press Step")).to_be_visible()
        assert page.locator("[role=slider]").count() >= 12
        assert page.locator("input[role=switch]").count() == sum(c.kind == "switch" for c in CONTROLS) == 14
        assert page.locator("svg.chart").count() == 7
        # only the first of four arrival waves has moved in at month 0: about a quarter of the
        # 800 households' relocated share, plus the local residents (287 drawn)
        assert 200 < page.locator("svg.network circle").count() < 400
        expect(page.locator(".settings-changed")).to_have_count(0)

        # move a slider (the outside wage, with the keyboard): its value shows, and the page
        # says Reset applies it
        wage = page.locator(".control-out_of_county_wage [role=slider]")
        default = DEFAULTS["out_of_county_wage"]  # 4,549 yuan in the baseline
        moved = default + 5 * CONTROL["out_of_county_wage"].step
        assert wage.get_attribute("aria-valuenow") == str(default)
        wage.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        expect(wage).to_have_attribute("aria-valuenow", str(moved))
        expect(page.locator(".control-out_of_county_wage")).to_contain_text(f"{moved:,}")
        expect(page.locator(".settings-changed")).to_have_count(1)

        # Step: the month counter and the charts change
        assert page.locator("svg.chart polyline").count() == 0
        timings = [_step(page, 1)]
        expect(page.locator(".month-counter")).to_have_text("Month 1 of 120")
        assert page.locator("svg.chart polyline.current").count() == 11
        first_chart = page.locator("svg.chart").first.inner_html()
        network = page.locator("svg.network").inner_html()
        timings += [_step(page, month) for month in range(2, 7)]
        assert page.locator("svg.chart").first.inner_html() != first_chart
        assert page.locator("svg.network").inner_html() != network  # redrawn every 3 months

        # Play, then Pause: months go by on their own, then stop
        page.locator(".run-play").click()
        # (a month while playing shows for only 200 ms, shorter than Playwright's polling
        # interval: wait for "at least month 9", which stays true)
        page.wait_for_function(
            "() => Number(document.querySelector('.live-charts')?.dataset.month) >= 9", timeout=30_000
        )
        page.locator(".run-play").click()
        expect(page.locator(".run-play")).to_contain_text("Play")
        paused_at = page.locator(".live-charts").get_attribute("data-month")
        time.sleep(0.6)
        assert page.locator(".live-charts").get_attribute("data-month") == paused_at

        # the network view recoloured by origin village
        page.get_by_role("button", name="origin village").click()
        page.locator('svg.network g[fill="#aec7e8"]').wait_for(timeout=30_000)

        # a community preset sets its calibrated local labour market
        page.locator(".control-community").click()
        page.get_by_role("option", name="Qingquan, Kaili (Guizhou)").click()
        kaili = preset_controls("kaili_qingquan")  # whole posts from the calibrated file (12 and 13)
        for key in ("local_industry_posts", "local_services_posts"):
            expect(page.locator(f".control-{key}")).to_contain_text(f": {kaili[key]}")

        # Reset with the new wage and community: month 0 again, the last run dashed on the charts
        page.locator(".run-reset").click()
        page.get_by_text("Month 0: press Step").wait_for(timeout=30_000)
        expect(page.locator(".settings-changed")).to_have_count(0)
        assert page.locator("svg.chart polyline.previous").count() == 11
        _step(page, 1)

        # the language switch relabels everything and keeps the settings
        page.get_by_role("button", name="中文").click()
        page.get_by_text("第1月：").wait_for(timeout=30_000)
        expect(page.locator(".control-out_of_county_wage")).to_contain_text(f"县外务工工资（元/月）: {moved:,}")
        expect(page.locator(".run-step")).to_contain_text("单步")
        expect(page.get_by_text("各项设置的含义")).to_be_visible()

        page.set_viewport_size({"width": 1400, "height": 2600})  # the whole page in one picture
        time.sleep(0.3)
        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    print(f"screenshot: {shot}")
    print("click on Step to the new month on the charts (ms):", [round(t * 1000) for t in timings])
    assert shot.stat().st_size > 50_000

    # offline: every request went to this server, every asset was found locally, and the
    # server itself tried to reach nothing outside
    local = (url, url.replace("http", "ws"), "blob:" + url.rstrip("/"), "data:")
    assert [u for u in requests if not u.startswith(local)] == []
    assets = [(status, u) for status, u in responses if "/_solara/cdn/" in u]
    assert assets and all(status == 200 for status, _ in assets), assets
    assert recorder.seen == []


def test_every_browser_session_has_its_own_model(server):
    sync_api = _playwright()
    url, _ = server
    with sync_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        first = browser.new_context().new_page()
        second = browser.new_context().new_page()
        for page in (first, second):
            page.goto(url, wait_until="commit")
            page.locator(".run-step").wait_for(timeout=90_000)
        for month in (1, 2):
            _step(first, month)
        assert second.get_by_text("Month 0: press Step").count() == 1
        _step(second, 1)
        assert first.get_by_text("Month 2:").count() == 1
        browser.close()


def test_sigterm_to_run_py_app_with_a_browser_connected_frees_the_port(tmp_path):
    """A process manager stops `run.py app` with SIGTERM while a student's page is open: the
    whole server stops within seconds and the port is free for the next `run.py app`."""
    sync_api = _playwright()
    process, url = serve_in_background(via_run_py=True, log=tmp_path / "server.log", env={"PATH": NO_NPM_PATH})
    port = int(url.rsplit(":", 1)[1].strip("/"))
    tree = _tree(process.pid)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = _launch(playwright)
            page = browser.new_page()
            page.goto(url, wait_until="commit")
            page.locator(".run-step").wait_for(timeout=90_000)
            _step(page, 1)  # a live session, its websocket open
            os.kill(process.pid, signal.SIGTERM)
            took = _stopped_within(tree, port, 10)
            browser.close()
    finally:
        _kill(tree)
    assert took is not None, f"after SIGTERM the server was still alive or holding port {port} 10 s later"
    assert process.wait(timeout=5) == 0  # a stop asked for is not an error
    print(f"SIGTERM with a page open: stopped in {took:.1f} s")


def test_a_full_class_turns_newcomers_away_and_idle_or_closed_pages_free_their_seat(tmp_path):
    """With room for one session: a second visitor gets the page saying the class is full
    (English and Chinese); the first page, left alone, is closed after the idle time and
    its seat goes to the next visitor; a page closed in the browser frees its seat too."""
    sync_api = _playwright()
    expect = sync_api.expect
    idle_minutes = 0.15  # 9 s
    process, url = serve_in_background(
        via_run_py=True, log=tmp_path / "server.log", app_args=("--capacity", "1", "--idle-minutes", str(idle_minutes))
    )
    try:
        with sync_api.sync_playwright() as playwright:
            browser = _launch(playwright)
            first, second, third, fourth = (browser.new_context().new_page() for _ in range(4))
            first.goto(url, wait_until="commit")
            first.locator(".run-step").wait_for(timeout=90_000)
            _step(first, 1)
            opened = time.monotonic()

            second.goto(url, wait_until="commit")
            second.get_by_role("heading", name="The class is full").wait_for(timeout=30_000)
            expect(second.get_by_role("heading", name="人数已满")).to_be_visible()
            expect(second.get_by_text("already has 1 students")).to_be_visible()
            expect(second.locator(".run-step")).to_have_count(0)
            assert time.monotonic() - opened < 60 * idle_minutes  # the first page still held its seat

            first.get_by_role("heading", name="This page was closed").wait_for(timeout=30_000)
            expect(first.get_by_role("heading", name="页面已关闭")).to_be_visible()
            expect(first.locator(".run-step")).to_have_count(0)
            assert time.monotonic() - opened >= 60 * idle_minutes - 1

            third.goto(url, wait_until="commit")
            third.locator(".run-step").wait_for(timeout=90_000)  # the idle page's seat
            _step(third, 1)
            third.close(run_before_unload=True)  # closing the tab gives the seat back

            fourth.goto(url, wait_until="commit")
            fourth.locator(".run-step").wait_for(timeout=90_000)
            browser.close()
    finally:
        stop_server(process)


def test_an_idle_session_gives_back_its_seat_and_its_model(monkeypatch):
    """Rendered without a browser: after the idle time the page shows the notice in both
    languages, the seat is free and the session's model has been garbage-collected."""
    import gc
    import weakref

    import solara

    import app

    seats = Seats(capacity=1, idle_minutes=0.02)  # 1.2 s
    monkeypatch.setattr(app, "SEATS", seats)
    models: list[weakref.ref] = []
    build = app.ClassroomModel

    def tracked(**kwargs):
        model = build(**kwargs)
        models.append(weakref.ref(model))
        return model

    monkeypatch.setattr(app, "ClassroomModel", tracked)
    box, context = solara.render(app.Page(), handle_error=False)
    assert len(models) == 1 and len(seats) == 1
    deadline = time.monotonic() + 15
    while len(seats) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    gc.collect()
    assert len(seats) == 0 and models[0]() is None
    html = " ".join(w.unsafe_innerHTML or "" for w in _widgets(box) if hasattr(w, "unsafe_innerHTML"))
    assert "This page was closed" in html and "页面已关闭" in html and "0.02 minutes" in html
    context.close()


def _widgets(widget):
    """A widget and everything under it (its children)."""
    import ipywidgets

    yield widget
    for child in getattr(widget, "children", None) or []:
        if isinstance(child, ipywidgets.Widget):
            yield from _widgets(child)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_legends_sit_below_the_month_labels_and_inside_the_picture(lang):
    """The legend's text (10 px) starts below the month labels' baseline and ends inside the
    picture; labels too long for two columns get a row each (no label is cut)."""
    model = ClassroomModel(households=300, seed=1)
    for _ in range(30):
        model.step()
    html = charts_html(model, lang)
    for svg in re.findall(r"<svg[^>]*class=\"chart\">.*?</svg>", html):
        height = float(re.search(r'height="([\d.]+)"', svg).group(1))
        width = float(re.search(r'width="([\d.]+)"', svg).group(1))
        months = [
            float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" font-size="10" text-anchor="middle"', svg)
        ]
        legends = re.findall(r'<text class="legend" x="([\d.]+)" y="([\d.]+)" font-size="10">([^<]*)<', svg)
        assert months and legends
        assert min(float(y) for _, y, _ in legends) - 10 >= max(months) + 1, svg
        assert max(float(y) for _, y, _ in legends) + 3 <= height
        for x, _, label in legends:  # within the picture, by the same width estimate the chart uses
            from analysis.classroom import _text_width

            assert float(x) + _text_width(label) <= width + 1, label
