"""The teaching app: its pure logic, and the page in a real browser (Chromium via Playwright)."""

from __future__ import annotations

import inspect
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from analysis.app_assets import serve_in_background, stop_server
from analysis.classroom import (
    COMMUNITY_CHOICES,
    EXPLAIN,
    TEXT,
    ClassroomModel,
    charts_html,
    explanation,
    model_params,
    network_figure,
    status_line,
    svg_chart,
)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_both_languages_have_every_label():
    assert set(TEXT["en"]) == set(TEXT["zh"])
    assert set(EXPLAIN["en"]) == set(EXPLAIN["zh"])
    for lang in ("en", "zh"):
        params = model_params(lang)
        assert all(p["label"] for p in params.values())
        assert explanation(lang).count("<li>") == 11
    assert model_params("zh")["out_of_county_wage"]["label"] == "县外务工工资（元/月）"


def test_controls_are_exactly_the_model_arguments():
    arguments = set(inspect.signature(ClassroomModel.__init__).parameters) - {"self"}
    assert set(model_params("en")) == arguments


@pytest.mark.parametrize("community", COMMUNITY_CHOICES)
def test_every_preset_builds_a_classroom_sized_community(community):
    model = ClassroomModel(community=community, households=600)
    assert 520 <= model.pop.n_households <= 680
    if community != "typical":
        assert model.config.community.id == community
    model.step()
    assert model.steps == 1 and 0 < model.indicators["employment_rate"] <= 1


def test_controls_change_the_model():
    low = ClassroomModel(out_of_county_wage=3000, seed=3)
    high = ClassroomModel(out_of_county_wage=7000, seed=3)
    for _ in range(12):
        low.step()
        high.step()
    assert high.indicators["share_out_of_county"] > low.indicators["share_out_of_county"] + 0.1
    policy = ClassroomModel(workshops=True, seed=3)
    assert policy.config.policies.workshops.enabled and not low.config.policies.workshops.enabled


def test_charts_and_network_are_drawn_from_the_model():
    model = ClassroomModel(households=500, seed=2)
    html = charts_html(model, "en")
    assert html.count("<svg") == 6 and "<polyline" not in html
    for _ in range(3):
        model.step()
    html = charts_html(model, "zh")
    assert html.count("<svg") == 6 and html.count("<polyline") == 10 and "就业地点" in html
    assert "Month 3" in status_line(model, "en") and "第3月" in status_line(model, "zh")
    assert len(network_figure(model).axes) == 1
    assert np.array_equal(model.positions, ClassroomModel(households=500, seed=2).positions)


def test_svg_chart_handles_empty_and_flat_series():
    assert svg_chart("t", np.zeros(0), [], None).startswith("<svg")
    flat = svg_chart("t", np.arange(1, 4), [("x", np.ones(3), "#000")], None)
    assert "<polyline" in flat and "nan" not in flat


# ---------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def server():
    try:
        process, url = serve_in_background()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    stop_server(process)


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


def _skip_without_browser():
    if os.environ.get("CI") and shutil.which("chromium") is None:
        pytest.fail("CI must install chromium for the browser test (see .ci/run)")
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


def test_page_in_a_real_browser(server, tmp_path):
    sync_api = _skip_without_browser()
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server)
        # the controls and charts are drawn (not just the loading splash)
        page.get_by_text("Controls", exact=True).wait_for(timeout=90_000)
        page.get_by_role("button", name="Step").wait_for()
        assert page.locator("svg.chart").count() == 6
        assert page.get_by_role("slider").count() >= 8
        assert page.get_by_text("Month 0").count() == 1
        # move a slider: the outside wage, with the keyboard
        wage = page.get_by_role("slider", name="Wage outside the county (yuan/month)")
        before = int(wage.get_attribute("aria-valuenow"))
        wage.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        sync_api.expect(wage).to_have_attribute("aria-valuenow", str(before + 500))
        # step: the counter and a chart change
        assert page.locator("svg.chart polyline").count() == 0
        started = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Month 1:").wait_for(timeout=30_000)
        first_step = time.perf_counter() - started
        assert page.locator("svg.chart polyline").count() == 10
        first_chart = page.locator("svg.chart").first.inner_html()
        timings = []
        for month in range(2, 7):
            started = time.perf_counter()
            page.get_by_role("button", name="Step").click()
            page.get_by_text(f"Month {month}:").wait_for(timeout=30_000)
            timings.append(time.perf_counter() - started)
        assert page.locator("svg.chart").first.inner_html() != first_chart
        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)
        print(
            f"screenshot: {shot}; first step {first_step * 1000:.0f} ms; next steps (ms):",
            [round(t * 1000) for t in timings],
        )
        # the language switch relabels the controls
        page.get_by_role("button", name="中文").click()
        page.get_by_role("slider", name="县外务工工资（元/月）").wait_for(state="attached", timeout=30_000)
        page.get_by_text("第6月").wait_for(timeout=30_000)
        browser.close()
    assert shot.stat().st_size > 20_000
    local = (server, server.replace("http", "ws"), "blob:" + server.rstrip("/"), "data:")
    outside = [u for u in requests if not u.startswith(local)]
    assert outside == [], outside  # every asset served locally: nothing from a CDN


def test_every_browser_session_has_its_own_model(server):
    sync_api = _skip_without_browser()
    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright)
        first = browser.new_context().new_page()
        second = browser.new_context().new_page()
        for page in (first, second):
            page.goto(server)
            page.get_by_role("button", name="Step").wait_for(timeout=90_000)
        for month in (1, 2):
            first.get_by_role("button", name="Step").click()
            first.get_by_text(f"Month {month}:").wait_for(timeout=30_000)
        assert second.get_by_text("Month 0").count() == 1
        second.get_by_role("button", name="Step").click()
        second.get_by_text("Month 1:").wait_for(timeout=30_000)
        assert first.get_by_text("Month 2:").count() == 1
        browser.close()
