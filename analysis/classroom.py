"""Everything the teaching app needs that is not the web page: the model it drives, its
controls, both languages, and the figures it draws. Kept here so it can be tested and
timed without a browser; `app.py` is the thin page over it.
"""

from __future__ import annotations

import json
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from analysis.plots import WORK_COLOURS
from scenarios import Scenario, load_scenario
from scenarios.loader import COMMUNITY_DIR, read_toml
from simulation import ResettlementModel
from simulation.options import OPTION_NAMES, Option
from simulation.social import household_option_counts

PEOPLE_PER_HOUSEHOLD = 4.0
DEFAULT_HOUSEHOLDS = 800
NETWORK_EVERY = 6  # months between redraws of the network view
COMMUNITY_CHOICES = ("typical", *sorted(p.stem for p in COMMUNITY_DIR.glob("*.toml")))
STANDING = ("public_welfare_jobs", "subsistence_allowance")  # policies the baseline has switched on
POLICY_SWITCHES = (
    "skills_training",
    "workshops",
    "labour_export",
    "community_services",
    "employment_guarantee",
    "origin_resources",
    "startup_support",
)

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Relocation and follow-up support: push and pull",
        "language": "Language",
        "community": "Community (2020 survey)",
        "households": "Households",
        "out_of_county_wage": "Wage outside the county (yuan/month)",
        "living_cost_outside": "Cost of living outside (yuan/month)",
        "local_industry_posts": "Local factory jobs per 100 workers",
        "distance_factor": "Distance to the origin villages (x survey)",
        "care_penalty": "Weight of caring for children and elders",
        "social": "Weight of what friends and neighbours do",
        "transition_years": "Years before the old house is demolished",
        "mixed_allocation": "Mix villages across buildings",
        "public_welfare_jobs": "Public-welfare posts",
        "subsistence_allowance": "Subsistence allowance (safety net)",
        "skills_training": "Skills training",
        "workshops": "Poverty-alleviation workshops (+400 jobs)",
        "labour_export": "Organised labour export",
        "community_services": "Community activities and child / elder care",
        "employment_guarantee": "One job per household guarantee",
        "origin_resources": "Land transfer and asset income",
        "startup_support": "Start-up support for returnees",
        "seed": "Random seed",
        "ready": "Month 0: press Step or ▶ to start.",
        "status": "Month {month}: {employed:.0%} of workers employed, {out:.0%} of them outside the county, "
        "income {income:,.0f} yuan per person a year, {poor:.0%} poor.",
        "colour_by": "Colour households by",
        "colour_work": "where they work",
        "colour_origin": "origin village",
        "month": "Month",
        "place": "Where people work (share of employed)",
        "sector": "Sector (share of employed)",
        "income": "Income per person (yuan/year)",
        "poverty": "Poverty rate (people)",
        "integration": "Integration index (0-1)",
        "returned": "Households gone back to the origin",
        "local": "local",
        "out_of_county": "outside the county",
        "agriculture": "farming",
        "industry": "industry",
        "services": "services",
        "part_time": "part-time farm + town",
        "income_line": "mean",
        "poverty_line": "poor people",
        "integration_line": "mean of households",
        "returned_line": "cumulative",
        "network": "Ties between households (size: income per person)",
        "explain_title": "What the controls mean",
        "not_working": "not working",
        "local_industry": "local industry",
        "local_services": "local services",
        "public_welfare": "public-welfare post",
        "farming_origin": "farming at the origin",
    },
    "zh": {
        "title": "易地扶贫搬迁与后续扶持：推力与拉力",
        "language": "语言",
        "community": "安置社区（2020年调查）",
        "households": "户数",
        "out_of_county_wage": "县外务工工资（元/月）",
        "living_cost_outside": "县外生活成本（元/月）",
        "local_industry_posts": "本地工厂岗位（每百名劳动力）",
        "distance_factor": "迁出村距离（相对调查值的倍数）",
        "care_penalty": "照料老人和孩子的牵挂程度",
        "social": "亲友邻里行为的影响",
        "transition_years": "旧房拆除前的过渡期（年）",
        "mixed_allocation": "不同村的人混合安置到各栋楼",
        "public_welfare_jobs": "公益性岗位",
        "subsistence_allowance": "最低生活保障（兜底）",
        "skills_training": "技能培训",
        "workshops": "扶贫车间（新增400个岗位）",
        "labour_export": "有组织劳务输出",
        "community_services": "社区活动与托幼养老服务",
        "employment_guarantee": "每户至少一人就业",
        "origin_resources": "土地流转与资产收益",
        "startup_support": "返乡创业扶持",
        "seed": "随机种子",
        "ready": "第0月：点 Step 或 ▶ 开始。",
        "status": "第{month}月：{employed:.0%}的劳动力就业，其中{out:.0%}在县外；人均年收入{income:,.0f}元，贫困发生率{poor:.0%}。",
        "colour_by": "家庭颜色表示",
        "colour_work": "就业去向",
        "colour_origin": "迁出村",
        "month": "月",
        "place": "就业地点（占就业人数）",
        "sector": "就业行业（占就业人数）",
        "income": "人均收入（元/年）",
        "poverty": "贫困发生率",
        "integration": "社会融入指数（0-1）",
        "returned": "返迁回原籍的户数",
        "local": "本地",
        "out_of_county": "县外",
        "agriculture": "务农",
        "industry": "工业",
        "services": "服务业",
        "part_time": "兼业",
        "income_line": "平均",
        "poverty_line": "贫困人口比例",
        "integration_line": "家庭平均",
        "returned_line": "累计",
        "network": "家庭之间的社会关系（大小：人均收入）",
        "explain_title": "各项设置的含义",
        "not_working": "未就业",
        "local_industry": "本地工业",
        "local_services": "本地服务业",
        "public_welfare": "公益岗位",
        "farming_origin": "回原籍务农",
    },
}

EXPLAIN: dict[str, dict[str, str]] = {
    "en": {
        "community": "Start from one of the six communities surveyed in 2020 (scaled down), or a typical one.",
        "out_of_county_wage": "Pull of the destination: what work outside the county pays. Higher wages draw "
        "younger, better-educated workers out.",
        "living_cost_outside": "Push at the destination: rent and food while working outside.",
        "local_industry_posts": "Pull of the new home: jobs in factories and workshops nearby, limited in number.",
        "distance_factor": "Pull of the origin fades with distance: farming the old land is hard from far away.",
        "care_penalty": "Own capability and family: carers of small children or elders prefer work close to home.",
        "social": "Social network: people follow what their friends and neighbours do (job information, "
        "chain migration).",
        "transition_years": "Pull of the origin: while the old house stands, families can farm there or go back.",
        "mixed_allocation": "Allocating flats across villages mixes strangers: more new ties, faster integration.",
        "policies": "Follow-up support policies: each switch turns one on (with its cost). Press Reset after "
        "changing a control: the community restarts with the new settings.",
        "colour_by": "Network view: colour each household by its main work or by its origin village.",
    },
    "zh": {
        "community": "从2020年调查的六个安置社区之一（按比例缩小）或一个典型社区开始。",
        "out_of_county_wage": "目的地拉力：县外务工的收入。工资越高，越多年轻、受教育多的劳动力外出。",
        "living_cost_outside": "目的地推力：在外务工的房租和生活开支。",
        "local_industry_posts": "新居拉力：附近工厂和车间的岗位，数量有限。",
        "distance_factor": "原籍拉力随距离减弱：离得越远，回去种地越难。",
        "care_penalty": "自身能力与家庭：要照看孩子或老人的人更愿意在家附近就业。",
        "social": "社会网络：人们会跟随亲友邻居的选择（就业信息、链式迁移）。",
        "transition_years": "原籍拉力：旧房未拆时，家庭还能回去种地或返迁。",
        "mixed_allocation": "不同村混合安置，陌生人成为邻居：新关系更多，融入更快。",
        "policies": "后续扶持政策：每个开关启用一项政策（有成本）。修改设置后请点 Reset：社区按新设置重新开始。",
        "colour_by": "网络图：按主要就业去向或迁出村给家庭着色。",
    },
}


def text(lang: str, key: str) -> str:
    """A label in the chosen language (English if the key is missing there)."""
    return TEXT.get(lang, TEXT["en"]).get(key, TEXT["en"][key])


def classroom_scenario(controls: dict[str, Any]) -> Scenario:
    """A scenario for class: a community scaled to about `households` households, with the
    controls' values (the keyword arguments of `ClassroomModel`, without the seed). The
    community keeps its survey ratios (labour force, villages)."""
    c = controls
    community = c["community"]
    if community == "typical":
        profile = load_scenario(None).community.model_dump()
    else:
        profile = dict(read_toml(COMMUNITY_DIR / f"{community}.toml")["community"])
    people = int(int(c["households"]) * PEOPLE_PER_HOUSEHOLD * (1 - profile["local_resident_share"]))
    factor = people / profile["relocated_population"]
    labour = max(1, round(profile["relocated_labour_force"] * factor))
    villages = max(1, round(profile["source_villages"] * factor))
    welfare_posts = round(labour * 150 / 6300)
    overrides = [
        f"community.id={json.dumps(profile['id'])}",
        f"community.name={json.dumps(profile['name'], ensure_ascii=False)}",
        f"community.relocated_population={people}",
        f"community.relocated_labour_force={labour}",
        f"community.source_villages={villages}",
        f"community.junior_middle_or_below_share={profile['junior_middle_or_below_share']}",
        f"community.income_before_yuan={profile['income_before_yuan']}",
        f"community.local_resident_share={profile['local_resident_share']}",
        f"community.distance_min_km={profile['distance_min_km'] * c['distance_factor']}",
        f"community.distance_max_km={profile['distance_max_km'] * c['distance_factor']}",
        f"wages.out_of_county={c['out_of_county_wage']}",
        f"wages.living_cost_out_of_county={c['living_cost_outside']}",
        f"labour_demand.industry_posts_per_100_workers={c['local_industry_posts']}",
        f"choice.care_penalty.out_of_county={c['care_penalty']}",
        f"choice.social={c['social']}",
        f"policies.transition_period.years={int(c['transition_years'])}",
        f'ties.allocation="{"mixed" if c["mixed_allocation"] else "village_clustered"}"',
        "ties.metrics_at_end=false",
        f"policies.public_welfare_jobs.posts={welfare_posts}",
        *(f"policies.{name}.enabled={str(bool(c[name])).lower()}" for name in (*POLICY_SWITCHES, *STANDING)),
        "simulation.years=10",
    ]
    return load_scenario(None, overrides)


class ClassroomModel(ResettlementModel):
    """The model with one keyword argument per control, as Mesa's SolaraViz needs."""

    def __init__(
        self,
        community: str = "typical",
        households: int = DEFAULT_HOUSEHOLDS,
        out_of_county_wage: float = 4549.0,
        living_cost_outside: float = 1430.0,
        local_industry_posts: float = 20.0,
        distance_factor: float = 1.0,
        care_penalty: float = 3.0,
        social: float = 2.0,
        transition_years: int = 1,
        mixed_allocation: bool = False,
        public_welfare_jobs: bool = True,
        subsistence_allowance: bool = True,
        skills_training: bool = False,
        workshops: bool = False,
        labour_export: bool = False,
        community_services: bool = False,
        employment_guarantee: bool = False,
        origin_resources: bool = False,
        startup_support: bool = False,
        seed: int | str = 1,
    ) -> None:
        arguments = dict(locals())  # the controls, exactly as SolaraViz passed them
        controls = {k: v for k, v in arguments.items() if k not in ("self", "seed", "__class__")}
        scenario = classroom_scenario(controls)
        super().__init__(scenario, seed=int(seed))
        self.positions = building_layout(self)


def model_params(lang: str) -> dict[str, Any]:
    """SolaraViz controls, labelled in `lang`: push and pull factors, policies, the seed."""
    t = TEXT[lang]
    params: dict[str, Any] = {
        "community": {"type": "Select", "value": "typical", "values": list(COMMUNITY_CHOICES), "label": t["community"]},
        "households": {
            "type": "SliderInt",
            "value": DEFAULT_HOUSEHOLDS,
            "min": 300,
            "max": 1500,
            "step": 100,
            "label": t["households"],
        },
        "out_of_county_wage": {
            "type": "SliderInt",
            "value": 4549,
            "min": 2000,
            "max": 9000,
            "step": 100,
            "label": t["out_of_county_wage"],
        },
        "living_cost_outside": {
            "type": "SliderInt",
            "value": 1430,
            "min": 500,
            "max": 3500,
            "step": 50,
            "label": t["living_cost_outside"],
        },
        "local_industry_posts": {
            "type": "SliderInt",
            "value": 20,
            "min": 0,
            "max": 60,
            "step": 1,
            "label": t["local_industry_posts"],
        },
        "distance_factor": {
            "type": "SliderFloat",
            "value": 1.0,
            "min": 0.25,
            "max": 3.0,
            "step": 0.25,
            "label": t["distance_factor"],
        },
        "care_penalty": {
            "type": "SliderFloat",
            "value": 3.0,
            "min": 0.0,
            "max": 6.0,
            "step": 0.5,
            "label": t["care_penalty"],
        },
        "social": {"type": "SliderFloat", "value": 2.0, "min": 0.0, "max": 6.0, "step": 0.5, "label": t["social"]},
        "transition_years": {
            "type": "SliderInt",
            "value": 1,
            "min": 0,
            "max": 3,
            "step": 1,
            "label": t["transition_years"],
        },
        "mixed_allocation": {"type": "Checkbox", "value": False, "label": t["mixed_allocation"]},
        "public_welfare_jobs": {"type": "Checkbox", "value": True, "label": t["public_welfare_jobs"]},
        "subsistence_allowance": {"type": "Checkbox", "value": True, "label": t["subsistence_allowance"]},
    }
    for name in POLICY_SWITCHES:
        params[name] = {"type": "Checkbox", "value": False, "label": t[name]}
    params["seed"] = {"type": "InputText", "value": "1", "label": t["seed"]}
    return params


def explanation(lang: str) -> str:
    """HTML explaining each control, in `lang` (plain HTML: Solara's Markdown would load a
    diagram library the page does not need)."""
    t, e = TEXT[lang], EXPLAIN[lang]
    items = [
        (t[key], e[key])
        for key in (
            "community",
            "out_of_county_wage",
            "living_cost_outside",
            "local_industry_posts",
            "distance_factor",
            "care_penalty",
            "social",
            "transition_years",
            "mixed_allocation",
        )
    ]
    items.append((f"{t['public_welfare_jobs']} ... {t['startup_support']}", e["policies"]))
    items.append((t["colour_by"], e["colour_by"]))
    rows = "".join(f"<li><b>{html_escape(name)}</b>: {html_escape(what)}</li>" for name, what in items)
    return f"<h3>{html_escape(t['explain_title'])}</h3><ul>{rows}</ul>"


def building_layout(model: ResettlementModel) -> np.ndarray:
    """Fixed drawing positions: buildings on a grid, households on a small grid inside each.

    Deterministic (no random numbers), so the picture is the same in every session for a
    given seed and only colours and sizes change as the model runs.
    """
    pop = model.pop
    building = model.social.building if model.social is not None else pop.village
    order = np.lexsort((np.arange(pop.n_households), building))
    sorted_building = building[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_building)) + 1]
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    per_row = int(np.ceil(np.sqrt(np.bincount(building).max())))
    n_buildings = int(building.max()) + 1
    grid = int(np.ceil(np.sqrt(n_buildings)))
    positions = np.zeros((pop.n_households, 2))
    b = sorted_building
    positions[order, 0] = (b % grid) * (per_row + 2) + rank % per_row
    positions[order, 1] = (b // grid) * (per_row + 2) + rank // per_row
    return positions


CHARTS = (
    ("place", (("share_local", "local", "#3182bd"), ("share_out_of_county", "out_of_county", "#d62728")), (0.0, 1.0)),
    (
        "sector",
        (
            ("share_agriculture", "agriculture", "#8c6d31"),
            ("share_industry", "industry", "#3182bd"),
            ("share_services", "services", "#31a354"),
            ("share_part_time", "part_time", "#e6550d"),
        ),
        (0.0, 1.0),
    ),
    ("income", (("income_per_capita_mean", "income_line", "#2c7fb8"),), None),
    ("poverty", (("poverty_rate", "poverty_line", "#de2d26"),), (0.0, None)),
    ("integration", (("integration_index", "integration_line", "#756bb1"),), (0.0, 1.0)),
    ("returned", (("returned_households", "returned_line", "#636363"),), (0.0, None)),
)


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def svg_chart(
    title: str,
    month: np.ndarray,
    series: list[tuple[str, np.ndarray, str]],
    limits: tuple[float | None, float | None] | None,
    width: int = 330,
    height: int = 190,
) -> str:
    """A small line chart as inline SVG: drawn by the browser, so no plotting library,
    no image encoding, and no JavaScript asset is needed; a redraw costs well under 1 ms."""
    left, right, top, bottom = 46, 8, 22, 38
    w, h = width - left - right, height - top - bottom
    values = np.concatenate([y for _, y, _ in series]) if series and len(month) else np.zeros(1)
    lo = limits[0] if limits and limits[0] is not None else float(np.nanmin(values))
    hi = limits[1] if limits and limits[1] is not None else float(np.nanmax(values))
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        lo, hi = (lo if np.isfinite(lo) else 0.0), (lo if np.isfinite(lo) else 0.0) + 1.0
    x_max = max(int(month[-1]) if len(month) else 1, 12)

    def sx(x):
        return left + w * (np.asarray(x, dtype=float) - 1) / max(x_max - 1, 1)

    def sy(y):
        return top + h * (1 - (np.asarray(y, dtype=float) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" class="chart">',
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{html_escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = lo + frac * (hi - lo)
        parts.append(f'<text x="{left - 4}" y="{sy(y) + 4:.1f}" font-size="10" text-anchor="end">{_fmt(y)}</text>')
    for m in range(12, x_max + 1, 12 if x_max <= 60 else 24):
        parts.append(f'<text x="{sx(m):.1f}" y="{top + h + 13}" font-size="10" text-anchor="middle">{m}</text>')
    for i, (label, y, colour) in enumerate(series):
        if len(month):
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(month), sy(y), strict=True))
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{points}"/>')
        lx = left + (i % 2) * (w // 2)
        ly = height - 14 + (i // 2) * 11 - (0 if len(series) <= 2 else 6)
        parts.append(f'<rect x="{lx}" y="{ly - 7}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 13}" y="{ly - 3}" font-size="10">{html_escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_escape(text_: str) -> str:
    """Escape text for SVG/HTML."""
    return text_.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def charts_html(model: ResettlementModel, lang: str) -> str:
    """The live charts of the page (employment by place and sector, income, poverty,
    integration, households gone back) as one HTML block of inline SVG."""
    t = TEXT[lang]
    df = model.datacollector.get_model_vars_dataframe()
    month = df["month"].to_numpy() if len(df) else np.zeros(0)
    charts = []
    for key, lines, limits in CHARTS:
        series = [
            (t[label], df[column].to_numpy(dtype=float), colour) for column, label, colour in lines if column in df
        ]
        if series or not len(df):
            charts.append(svg_chart(t[key], month, series, limits))
    return '<div style="display:flex;flex-wrap:wrap;gap:6px">' + "".join(charts) + "</div>"


def network_figure(model: ResettlementModel, colour_by: str = "work") -> Figure:
    """Households at fixed positions (buildings), ties as lines, coloured by main work or
    origin village, sized by income per person. No text in the image: the page labels it
    in the chosen language."""
    fig = Figure(figsize=(5.2, 5.2), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    pos = model.positions
    present = np.ones(model.pop.n_households, dtype=bool)
    if model.social is not None:
        present = ~model.social.returned
        net = model.social.network
        keep = present[net.src] & present[net.dst] & (net.strength > 0.5)
        segments = np.stack([pos[net.src[keep]], pos[net.dst[keep]]], axis=1)
        ax.add_collection(LineCollection(segments, colors="#999999", linewidths=0.2, alpha=0.35, zorder=1))
    income = model.income_per_capita
    size = 4 + 40 * np.clip(income / max(float(np.percentile(income, 95)), 1.0), 0, 1.5)
    if colour_by == "origin":
        colours = matplotlib.colormaps["tab20"](model.pop.village % 20)
    else:
        counts = household_option_counts(model.pop, model.labour)
        main = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), Option.NOT_WORKING)
        palette = np.array([matplotlib.colors.to_rgba(WORK_COLOURS[name]) for name in OPTION_NAMES])
        colours = palette[main]
    ax.scatter(pos[present, 0], pos[present, 1], s=size[present], c=colours[present], lw=0, zorder=2)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    return fig


def status_line(model: ResettlementModel, lang: str) -> str:
    """One sentence on where the community stands this month."""
    ind = model.indicators
    if not model.steps:
        return TEXT[lang]["ready"]
    return TEXT[lang]["status"].format(
        month=model.steps,
        employed=ind["employment_rate"],
        out=ind["share_out_of_county"] if ind["share_out_of_county"] == ind["share_out_of_county"] else 0.0,
        income=ind["income_per_capita_mean"],
        poor=ind["poverty_rate"],
    )


def network_legend_html(lang: str, colour_by: str) -> str:
    """The network view's title and colour key, as HTML in the chosen language."""
    t = TEXT[lang]
    if colour_by == "origin":
        key = html_escape(t["colour_origin"])
    else:
        key = " ".join(
            f'<span style="color:{colour}">&#9679;</span>&nbsp;{html_escape(t[name])}'
            for name, colour in WORK_COLOURS.items()
        )
    return f"<div><b>{html_escape(t['network'])}</b><br><small>{key}</small></div>"
