"""The teaching app: a Mesa SolaraViz page over the relocation model.

    python run.py app                 # http://127.0.0.1:8765
    solara run app.py

Each browser session builds its own model (`solara.use_memo` inside the page component),
so two students never share one. Controls, charts and the explanation live in
`analysis/classroom.py`; this file only arranges them.
"""

from __future__ import annotations

import io

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from analysis.classroom import (
    NETWORK_EVERY,
    TEXT,
    ClassroomModel,
    charts_html,
    explanation,
    model_params,
    network_figure,
    network_legend_html,
    status_line,
)

language = solara.reactive("en")  # solara keeps a reactive value per browser session
colour_by = solara.reactive("work")


@solara.component
def Charts(model: ClassroomModel) -> None:
    """Employment by place and sector, income, poverty, integration, households gone back."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=charts_html(model, language.value), classes=["live-charts"])


@solara.component
def Network(model: ClassroomModel) -> None:
    """Households and their ties; redrawn every few months (drawing is slower than a step)."""
    update_counter.get()
    lang, colour = language.value, colour_by.value
    frame = model.steps // NETWORK_EVERY

    def draw() -> bytes:
        buffer = io.BytesIO()
        network_figure(model, colour).savefig(buffer, format="png")
        return buffer.getvalue()

    png = solara.use_memo(draw, dependencies=[id(model), frame, colour])
    with solara.Column(style={"min-width": "420px", "max-width": "560px"}):
        solara.HTML(tag="div", unsafe_innerHTML=network_legend_html(lang, colour))
        with solara.ToggleButtonsSingle(value=colour_by):
            solara.Button(TEXT[lang]["colour_work"], value="work")
            solara.Button(TEXT[lang]["colour_origin"], value="origin")
        solara.Image(png, width="100%")


@solara.component
def Explain() -> None:
    """What each control stands for, in push-pull terms."""
    solara.HTML(tag="div", unsafe_innerHTML=explanation(language.value), classes=["explain"])


@solara.component
def Status(model: ClassroomModel) -> None:
    """The month and the headline numbers, in words."""
    update_counter.get()
    solara.Text(status_line(model, language.value), classes=["status-line"], style={"font-size": "1.1em"})


@solara.component
def Dashboard(model: ClassroomModel) -> None:
    """Charts and the network side by side, the explanation below."""
    with solara.Column():
        Status(model)
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            with solara.Column(style={"flex": "1 1 680px"}):
                Charts(model)
            Network(model)
        Explain()


@solara.component
def Page() -> None:
    """One page per browser session, with its own model."""
    first = solara.use_memo(ClassroomModel, dependencies=[])
    model = solara.use_reactive(first)  # Reset in SolaraViz replaces model.value; the dashboard follows
    lang = language.value
    with solara.AppBar(), solara.ToggleButtonsSingle(value=language):
        solara.Button("English", value="en")
        solara.Button("中文", value="zh")
    SolaraViz(model, components=[], model_params=model_params(lang), name=TEXT[lang]["title"], play_interval=150)
    Dashboard(model.value)


page = Page
