"""The teaching app: a Solara page built with Mesa's visualization helpers over the
relocation model.

    python run.py app                 # http://127.0.0.1:8765
    solara run app.py --production    # the same page, started by Solara directly

Every browser session builds its own model (`solara.use_memo` inside `Page`, never at
module level), so two students never share one. The controls, the presets, both
languages and the pictures live in `analysis/classroom.py`; this file only arranges them
and runs the model (Step, Play, Reset).

Why not Mesa's `SolaraViz` frame itself: its sidebar ("Controls", "Model Parameters",
"Play Interval", the Step and Reset buttons) is English only and its sliders do not show
their values; the page needs both languages and the numbers a class talks about. The
model is still driven the SolaraViz way: Mesa's `update_counter` / `force_update` redraw
what depends on the model, and Reset builds a new model from the controls' values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import solara
import solara.lab
from mesa.visualization.utils import force_update, update_counter

from analysis.classroom import (
    COMMUNITY_CHOICES,
    CONTROLS,
    DEFAULTS,
    NETWORK_EVERY,
    ClassroomModel,
    Control,
    History,
    charts_html,
    explanation,
    format_value,
    history,
    network_legend_html,
    network_svg,
    preset_controls,
    status_line,
    text,
)


def _stay_offline() -> None:
    """No calls home from a classroom: switch off Solara's usage telemetry (server side)
    and its one-time "did it install" iframe (browser side, development mode only)."""
    import solara.checks
    import solara.server.settings

    solara.server.settings.telemetry.mixpanel_enable = False
    solara.checks.should_perform_solara_check = lambda: False


_stay_offline()

CSS = """
.control-label { font-size: 0.9em; margin-top: 6px; }
.control-label b { font-variant-numeric: tabular-nums; }
.status-line { font-size: 1.1em; margin: 4px 0 8px 0; }
.chart-note { font-size: 0.8em; color: #666; }
.explain { font-size: 0.9em; max-width: 1100px; }
.explain h4 { margin: 8px 0 2px 0; }
.network-view svg { border: 1px solid #ddd; background: #fff; }
"""

Setter = Callable[[str, Any], None]


@solara.component
def SliderControl(control: Control, value: float, on_value: Setter, lang: str) -> None:
    """A slider with its label and current value above it, full width (the class needs to
    see the numbers); `control-<key>` lets tests find it."""
    cast = float if control.kind == "float" else int
    with solara.Column(gap="0px", classes=[f"control-{control.key}"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{text(lang, control.key)}: <b>{format_value(control, value)}</b>",
            classes=["control-label"],
        )
        solara.v.Slider(
            v_model=value,
            on_v_model=lambda v: on_value(control.key, cast(v)),
            min=control.low,
            max=control.high,
            step=control.step,
            thumb_label=False,
            hide_details=True,
            dense=True,
        )


@solara.component
def ControlGroup(group: str, controls: solara.Reactive[dict[str, Any]], lang: str) -> None:
    """One card of controls: the community, the push and pull factors, or the policies."""
    values = controls.value

    def set_value(key: str, value: Any) -> None:
        controls.value = {**controls.value, key: value}

    def pick_community(name: str) -> None:
        community = next(c for c in COMMUNITY_CHOICES if text(lang, f"community_{c}") == name)
        controls.value = {**controls.value, **preset_controls(community)}

    with solara.Card(text(lang, group), margin=0, classes=[f"group-{group}"]):
        for control in (c for c in CONTROLS if c.group == group):
            key = control.key
            if control.kind == "select":
                solara.Select(
                    label=text(lang, key),
                    values=[text(lang, f"community_{c}") for c in COMMUNITY_CHOICES],
                    value=text(lang, f"community_{values[key]}"),
                    on_value=pick_community,
                    classes=[f"control-{key}"],
                )
            elif control.kind == "seed":
                solara.InputInt(
                    label=text(lang, key),
                    value=int(values[key]),
                    on_value=lambda v, key=key: set_value(key, int(v or 0)),
                    classes=[f"control-{key}"],
                )
            elif control.kind == "switch":
                solara.Switch(
                    label=text(lang, key),
                    value=bool(values[key]),
                    on_value=lambda v, key=key: set_value(key, bool(v)),
                    classes=[f"control-{key}"],
                )
            else:
                SliderControl(control, values[key], set_value, lang)


@solara.component
def RunCard(
    model: ClassroomModel,
    controls: dict[str, Any],
    playing: solara.Reactive[bool],
    interval: solara.Reactive[int],
    on_step: Callable[[], None],
    on_reset: Callable[[], None],
    lang: str,
) -> None:
    """Reset / Play / Step, the playing speed and the month; a note when the controls
    differ from the running model's."""
    update_counter.get()
    finished = model.steps >= model.config.months
    with solara.Card(text(lang, "run"), margin=0):
        with solara.Row(justify="space-between"):
            solara.Button(text(lang, "reset"), color="primary", on_click=on_reset, classes=["run-reset"])
            solara.Button(
                text(lang, "pause" if playing.value else "play"),
                color="primary",
                on_click=lambda: playing.set(not playing.value),
                disabled=finished,
                classes=["run-play"],
            )
            solara.Button(
                text(lang, "step"),
                color="primary",
                on_click=on_step,
                disabled=playing.value or finished,
                classes=["run-step"],
            )
        solara.Text(
            text(lang, "month_of").format(month=model.steps, months=model.config.months),
            classes=["month-counter"],
            style={"display": "block"},
        )
        solara.Text(
            text(lang, "households_now").format(households=model.pop.n_households, workers=int(model.labour.sum())),
            style={"display": "block", "font-size": "0.85em", "color": "#666"},
        )
        SliderControl(
            Control("speed", "int", 200, 20, 1000, 20), interval.value, lambda _k, v: interval.set(int(v)), lang
        )
        if controls != model.controls:
            solara.Warning(text(lang, "changed"), dense=True, classes=["settings-changed"])
        elif finished:
            solara.Info(text(lang, "finished"), dense=True)


@solara.component
def Status(model: ClassroomModel, lang: str) -> None:
    """Where the community stands this month, in one sentence."""
    update_counter.get()
    solara.Text(status_line(model, lang), classes=["status-line"])


@solara.component
def Charts(model: ClassroomModel, previous: History | None, lang: str) -> None:
    """Employment by place and sector, income, poverty, integration, households gone back."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=charts_html(model, lang, previous))


@solara.component
def Network(model: ClassroomModel, lang: str) -> None:
    """Households and their ties, redrawn every few months (it is the largest picture)."""
    update_counter.get()
    colour_by, set_colour_by = solara.use_state("work")
    frame = -(-model.steps // NETWORK_EVERY)  # months 1, 4, 7, ...: the first step shows who works where
    svg = solara.use_memo(lambda: network_svg(model, colour_by), dependencies=[model, frame, colour_by])
    with solara.Column(
        style={"flex": "1 1 320px", "min-width": "300px", "max-width": "560px"}, classes=["network-view"]
    ):
        solara.HTML(tag="div", unsafe_innerHTML=network_legend_html(lang, colour_by))
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text(text(lang, "colour_by"))
            with solara.ToggleButtonsSingle(value=colour_by, on_value=set_colour_by, dense=True):
                solara.Button(text(lang, "colour_work"), value="work")
                solara.Button(text(lang, "colour_origin"), value="origin")
        solara.HTML(tag="div", unsafe_innerHTML=svg)


@solara.component
def Page() -> None:
    """One page per browser session, with its own model, controls and language."""
    lang = solara.use_reactive("en")
    controls = solara.use_reactive(dict(DEFAULTS))
    first = solara.use_memo(lambda: ClassroomModel(**DEFAULTS), dependencies=[])
    model = solara.use_reactive(first)
    previous = solara.use_reactive(None)
    playing = solara.use_reactive(False)
    interval = solara.use_reactive(200)
    lock = solara.use_memo(threading.Lock, dependencies=[])

    def step_once() -> None:
        with lock:
            current = model.value
            if current.steps < current.config.months:
                current.step()
        force_update()

    def reset() -> None:
        playing.set(False)
        with lock:
            if model.value.steps:
                previous.set(history(model.value))
            model.set(ClassroomModel(**controls.value))
        force_update()

    def play() -> None:
        """Step while Play is on, one month every `interval` ms (Mesa's ModelController
        does the same in a thread)."""
        running = model.value
        while playing.value and model.value is running and running.steps < running.config.months:
            time.sleep(interval.value / 1000)
            if playing.value and model.value is running:
                step_once()
        if model.value is running and running.steps >= running.config.months:
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    solara.Style(CSS)
    solara.Title(text(lang.value, "title"))
    with solara.AppBar():
        solara.AppBarTitle(text(lang.value, "title"))
        with solara.ToggleButtonsSingle(value=lang, classes=["language"]):
            solara.Button("English", value="en")
            solara.Button("中文", value="zh")
    with solara.Sidebar(), solara.Column(gap="10px"):
        RunCard(model.value, controls.value, playing, interval, step_once, reset, lang.value)
        for group in ("setting", "factors", "policies"):
            ControlGroup(group, controls, lang.value)
    with solara.Column():
        Status(model.value, lang.value)
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            with solara.Column(style={"flex": "0 1 580px"}):
                Charts(model.value, previous.value, lang.value)
            Network(model.value, lang.value)
        solara.HTML(tag="div", unsafe_innerHTML=explanation(lang.value), classes=["explain"])


page = Page
