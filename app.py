"""The teaching app: a Solara page built with Mesa's visualization helpers over the
relocation model.

    python run.py app                 # http://127.0.0.1:8765
    solara run app.py --production    # the same page, started by Solara directly

Every browser session builds its own model (`solara.use_memo` inside `Classroom`, never at
module level), so two students never share one. The controls, the presets, both
languages and the pictures live in `analysis/classroom.py`; this file only arranges them
and runs the model (Step, Play, Reset).

Why not Mesa's `SolaraViz` frame itself: its sidebar ("Controls", "Model Parameters",
"Play Interval", the Step and Reset buttons) is English only and its sliders do not show
their values; the page needs both languages and the numbers a class talks about. Reset
builds a new model from the controls' values, as SolaraViz does.

What changes every month (the status line, the month, the charts, the network picture) is
not re-rendered through Solara's component tree, as Mesa's `force_update` would do:
`LiveView` keeps the few HTML widgets that show it and sets their content directly after
each step. The re-render cost about 10 ms of server CPU per click on top of the step
itself, and that is what limits how many students one server takes (docs/APP.md).

A classroom shares one server: `SEATS` (analysis/classroom.py) admits a stated number of
sessions at most and shows a newcomer beyond it a page saying the class is full, in
English and Chinese; a session left idle gives back its seat and its model after a
stated time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import solara
import solara.lab
import solara.widgets

from analysis.classroom import (
    COMMUNITY_CHOICES,
    CONTROLS,
    DEFAULTS,
    NETWORK_EVERY,
    SEATS,
    ClassroomModel,
    Control,
    History,
    Seat,
    charts_html,
    explanation,
    format_value,
    history,
    network_legend_html,
    network_svg,
    preset_controls,
    return_memory,
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
# The server runs a thread per browser session, and every message a session sends is handed
# to the event loop's thread. With Python's default switch interval (5 ms) each hand-off can
# wait that long for the GIL; at 0.5 ms, 30 sessions clicking without pause got through 90
# clicks/s instead of 62 (benchmarks/bench_classroom.py --think 0).
sys.setswitchinterval(0.0005)

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


class LiveView:
    """The widgets that change every month, and what they show, for one session.

    Each is an HTML widget whose content is set here, directly, after a step, a Reset, a
    language switch or a new colouring of the network; the component tree renders them
    once, empty (`LiveSlot`). The network picture, the largest, is redrawn every
    `NETWORK_EVERY` months only.
    """

    def __init__(self) -> None:
        self.widgets: dict[str, Any] = {}
        self.model: ClassroomModel | None = None
        self.lang = "en"
        self.previous: History | None = None
        self.colour_by = "work"
        self.network_key: tuple | None = None
        self.lock = threading.RLock()

    def attach(self, name: str, widget: Any) -> None:
        with self.lock:
            self.widgets[name] = widget
            self.refresh(network=name == "network")

    def show(self, model: ClassroomModel, lang: str, previous: History | None) -> None:
        """What to show from now on (a new model, language or previous run): everything redrawn."""
        with self.lock:
            self.model, self.lang, self.previous = model, lang, previous
            self.refresh(network=True)

    def recolour(self, colour_by: str) -> None:
        with self.lock:
            self.colour_by = colour_by
            self.refresh(network=True)

    def refresh(self, network: bool = False) -> None:
        """Set each attached widget's content from the model; the network only when its
        frame (months 1, 4, 7, ...) changed or `network`."""
        model, lang, w = self.model, self.lang, self.widgets
        if model is None:
            return
        content = {
            "status": status_line(model, lang),
            "month": text(lang, "month_of").format(month=model.steps, months=model.config.months),
            "households": text(lang, "households_now").format(
                households=int(model.pop.active.sum()), workers=int(model.labour.sum())
            ),
            "charts": charts_html(model, lang, self.previous),
        }
        for name, html in content.items():
            if name in w:
                w[name].unsafe_innerHTML = html
        key = (id(model), -(-model.steps // NETWORK_EVERY), self.colour_by)  # months 1, 4, 7, ...
        if "network" in w and (network or key != self.network_key):
            self.network_key = key
            w["network"].unsafe_innerHTML = network_svg(model, self.colour_by)


@solara.component
def LiveSlot(live: LiveView, name: str, classes: str = "", style: str = "") -> None:
    """An HTML widget that `live` fills (see `LiveView`). Its content is not a property of
    the element, so a re-render of the tree never sets it back."""
    element = solara.widgets.HTML.element(tag="div", attributes={"class": classes, "style": style})
    solara.use_effect(lambda: live.attach(name, solara.get_widget(element)), dependencies=[])


@solara.component
def RunCard(
    live: LiveView,
    model: ClassroomModel,
    finished: bool,
    controls: dict[str, Any],
    playing: solara.Reactive[bool],
    interval: solara.Reactive[int],
    on_step: Callable[[], None],
    on_reset: Callable[[], None],
    on_bad_year: Callable[[], None],
    lang: str,
) -> None:
    """Reset / Play / Step, a bad year for outside work, the playing speed and the month; a note when the controls
    differ from the running model's."""
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
        solara.Button(
            text(lang, "bad_year"),
            color="warning",
            on_click=on_bad_year,
            disabled=finished or model.shocks.bad_year_start > 0,
            classes=["run-bad-year"],
        )
        LiveSlot(live, "month", classes="month-counter")
        LiveSlot(live, "households", style="font-size: 0.85em; color: #666")
        SliderControl(
            Control("speed", "int", 200, 20, 1000, 20), interval.value, lambda _k, v: interval.set(int(v)), lang
        )
        if controls != model.controls:
            solara.Warning(text(lang, "changed"), dense=True, classes=["settings-changed"])
        elif finished:
            solara.Info(text(lang, "finished"), dense=True)


@solara.component
def Network(live: LiveView, lang: str) -> None:
    """Households and their ties, redrawn every few months (it is the largest picture)."""
    colour_by, set_colour_by = solara.use_state("work")

    def recolour(value: str) -> None:
        set_colour_by(value)
        live.recolour(value)

    with solara.Column(
        style={"flex": "1 1 320px", "min-width": "300px", "max-width": "560px"}, classes=["network-view"]
    ):
        solara.HTML(tag="div", unsafe_innerHTML=network_legend_html(lang, colour_by))
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text(text(lang, "colour_by"))
            with solara.ToggleButtonsSingle(value=colour_by, on_value=recolour, dense=True):
                solara.Button(text(lang, "colour_work"), value="work")
                solara.Button(text(lang, "colour_origin"), value="origin")
        LiveSlot(live, "network")


@solara.component
def Notice(title_key: str, body_key: str, values: dict[str, Any]) -> None:
    """A page of its own, in both languages: the class is full, or this page was closed."""
    solara.Style(CSS)
    solara.Title(f"{text('en', title_key)} / {text('zh', title_key)}")
    with solara.Column(style={"max-width": "720px", "margin": "40px auto"}, classes=[f"notice-{title_key}"]):
        for lang in ("en", "zh"):
            solara.HTML(tag="h2", unsafe_innerHTML=text(lang, title_key))
            solara.HTML(tag="p", unsafe_innerHTML=text(lang, body_key).format(**values))


@solara.component
def Classroom(seat: Seat) -> None:
    """The app itself, for one admitted session, with its own model, controls and language."""
    lang = solara.use_reactive("en")
    controls = solara.use_reactive(dict(DEFAULTS))
    first = solara.use_memo(lambda: ClassroomModel(**DEFAULTS), dependencies=[])
    model = solara.use_reactive(first)
    previous = solara.use_reactive(None)
    playing = solara.use_reactive(False)
    finished = solara.use_reactive(False)
    interval = solara.use_reactive(200)
    bad_year_started = solara.use_reactive(0)  # re-renders the button (disabled) once pressed
    live = solara.use_memo(LiveView, dependencies=[])
    solara.use_effect(
        lambda: live.show(model.value, lang.value, previous.value),
        dependencies=[model.value, lang.value, previous.value],
    )

    def step_once() -> None:
        seat.touch()
        with live.lock:
            current = model.value
            if current.steps < current.config.months:
                current.step()
                live.refresh()
            done = current.steps >= current.config.months
        if done:
            finished.set(True)

    def reset() -> None:
        seat.touch()
        playing.set(False)
        with live.lock:
            if model.value.steps:
                previous.set(history(model.value))
            model.set(ClassroomModel(**controls.value))
        finished.set(False)

    def bad_year() -> None:
        """A bad year for work outside the county from next month (once per run)."""
        seat.touch()
        with live.lock:
            model.value.start_bad_year()
            live.refresh()
        bad_year_started.set(model.value.shocks.bad_year_start)

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
    # a control moved, the language switched: the session is in use
    solara.use_effect(seat.touch, dependencies=[controls.value, lang.value])

    solara.Style(CSS)
    solara.Title(text(lang.value, "title"))
    with solara.AppBar():
        solara.AppBarTitle(text(lang.value, "title"))
        with solara.ToggleButtonsSingle(value=lang, classes=["language"]):
            solara.Button("English", value="en")
            solara.Button("中文", value="zh")
    with solara.Sidebar(), solara.Column(gap="10px"):
        RunCard(
            live, model.value, finished.value, controls.value, playing, interval, step_once, reset, bad_year, lang.value
        )
        for group in ("setting", "factors", "policies"):
            ControlGroup(group, controls, lang.value)
    with solara.Column():
        LiveSlot(live, "status", classes="status-line")
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            with solara.Column(style={"flex": "0 1 580px"}):
                LiveSlot(live, "charts")
            Network(live, lang.value)
        solara.HTML(tag="div", unsafe_innerHTML=explanation(lang.value), classes=["explain"])


@solara.component
def Page() -> None:
    """One page per browser session: the app if a seat is free, else a page saying the class
    is full; the seat is given back when the page is closed or left idle (`SEATS`)."""
    seat = solara.use_memo(SEATS.take, dependencies=[])
    released = solara.use_reactive(False)

    def watch_idle() -> Callable[[], None] | None:
        """Give back the seat (and so the model) after `SEATS.idle_minutes` without use; a
        thread per session that sleeps, and stops when the page is closed."""
        if seat is None:
            return None
        stop = threading.Event()

        def watch() -> None:
            limit = 60 * SEATS.idle_minutes
            while not stop.wait(max(0.2, min(10.0, limit - seat.idle_seconds()))):
                if seat.idle_seconds() >= limit:
                    SEATS.give_back(seat)
                    released.set(True)  # the notice replaces the app: its model and widgets go
                    return_memory()
                    return

        threading.Thread(target=watch, daemon=True, name="idle-watch").start()

        def leave() -> None:
            stop.set()
            SEATS.give_back(seat)

        return leave

    solara.use_effect(watch_idle, dependencies=[])
    if seat is None:
        Notice("full_title", "full", {"capacity": SEATS.capacity})
    elif released.value:
        Notice("idle_title", "idle", {"minutes": f"{SEATS.idle_minutes:g}"})
    else:
        Classroom(seat)


page = Page
