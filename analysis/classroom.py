"""Everything the teaching app needs that is not the web page: its controls, the community
presets, the model it drives, both languages, and the pictures it draws. Kept apart from
`app.py` so it is tested and timed without a browser; the page is a thin shell over it.

Pictures are inline SVG built here: the browser draws them, so a redraw needs no plotting
library, no image encoding and no JavaScript asset (the page must work offline).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from analysis.plots import WORK_COLOURS
from scenarios import Scenario, load_scenario
from scenarios.loader import COMMUNITY_DIR, SCENARIO_DIR
from simulation import ResettlementModel
from simulation.indicators import INDICATORS
from simulation.options import OPTION_NAMES, Option
from simulation.social import household_option_counts

PEOPLE_PER_HOUSEHOLD = 4.1  # people per household in the generated communities (3.8-4.3 measured by community)
YEARS = 10  # a run in class lasts ten years (120 months)
NETWORK_EVERY = 3  # months between redraws of the network view
CALIBRATED_DIR = SCENARIO_DIR / "calibrated"
COMMUNITY_CHOICES = ("typical", *sorted(p.stem for p in COMMUNITY_DIR.glob("*.toml")))
BASELINE = load_scenario(SCENARIO_DIR / "baseline.toml")

Kind = Literal["select", "int", "float", "switch", "seed"]
Group = Literal["setting", "factors", "policies"]


@dataclass(frozen=True)
class Control:
    """One control of the page: a keyword argument of `ClassroomModel`.

    Its label and explanation are `TEXT[lang][key]` and `EXPLAIN[lang][key]`.
    """

    key: str
    kind: Kind
    default: Any
    low: float = 0
    high: float = 1
    step: float = 1
    group: Group = "factors"


def _on_grid(key: str, default: int, low: int, high: int, step: int) -> Control:
    """An integer slider whose grid passes through `default` (a slider snaps its value to
    low + k * step, so the baseline's 4,549 yuan would otherwise show as 4,500)."""
    return Control(
        key, "int", default, default - (default - low) // step * step, default + (high - default) // step * step, step
    )


_W, _L, _C = BASELINE.wages, BASELINE.labour_demand, BASELINE.choice
CONTROLS: tuple[Control, ...] = (
    Control("community", "select", "typical", group="setting"),
    Control("households", "int", 800, 300, 1500, 100, "setting"),
    Control("seed", "seed", 1, 0, 999_999, 1, "setting"),
    Control("decide_to_move", "switch", BASELINE.policies.relocation_terms.enabled, group="setting"),
    Control("homestead_handover", "switch", BASELINE.policies.relocation_terms.homestead_handover, group="setting"),
    _on_grid("out_of_county_wage", round(_W.out_of_county), 2000, 9000, 100),
    _on_grid("living_cost_outside", round(_W.living_cost_out_of_county), 500, 3500, 50),
    _on_grid("local_wage", round(_W.local_industry), 1000, 5000, 100),
    Control("local_industry_posts", "int", round(_L.industry_posts_per_100_workers), 0, 60, 1),
    Control("local_services_posts", "int", round(_L.services_posts_per_100_workers), 0, 60, 1),
    Control("distance_factor", "float", 1.0, 0.25, 3.0, 0.25),
    Control("care_penalty", "float", _C.care_penalty.out_of_county, 0.0, 6.0, 0.5),
    Control("social", "float", _C.social, 0.0, 6.0, 0.5),
    Control("inertia", "float", _C.inertia, 0.0, 5.0, 0.5),
    Control("transition_years", "int", BASELINE.policies.transition_period.years, 0, 3, 1),
    Control("shocks", "switch", False),  # off by default, as in the baseline (TEACHING.md figures)
    Control("mixed_allocation", "switch", BASELINE.ties.allocation == "mixed", group="policies"),
    Control("public_welfare_jobs", "switch", BASELINE.policies.public_welfare_jobs.enabled, group="policies"),
    Control("subsistence_allowance", "switch", BASELINE.policies.subsistence_allowance.enabled, group="policies"),
    *(
        Control(name, "switch", getattr(BASELINE.policies, name).enabled, group="policies")
        for name in (
            "skills_training",
            "workshops",
            "labour_export",
            "community_services",
            "employment_guarantee",
            "origin_resources",
            "startup_support",
            "monitoring",
        )
    ),
)
CONTROL = {c.key: c for c in CONTROLS}
DEFAULTS: dict[str, Any] = {c.key: c.default for c in CONTROLS}
POLICY_SWITCHES = tuple(c.key for c in CONTROLS if c.group == "policies" and c.key != "mixed_allocation")

COMMUNITY_NAMES = {
    "typical": ("Typical community (median of the six surveyed)", "典型安置社区（六个调查社区的中位数）"),
    "fengning_rencai": ("Rencai Jiayuan, Fengning (Hebei)", "河北丰宁县人才家园社区"),
    "huanjiang_chengxi": ("Chengxi, Huanjiang (Guangxi)", "广西环江县城西社区"),
    "kaili_qingquan": ("Qingquan, Kaili (Guizhou)", "贵州凯里市清泉社区"),
    "liujiang_xingliu": ("Xingliu, Liujiang (Guangxi)", "广西柳江区兴柳社区"),
    "qianxi_jinxiu": ("Jinxiu Huadu, Qianxi (Guizhou)", "贵州黔西县锦绣花都安置点"),
    "yunyang_qinglongquan": ("Qinglongquan, Yunyang (Hubei)", "湖北郧阳区青龙泉社区"),
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Relocation and follow-up support: push and pull",
        "run": "Run",
        "setting": "Community",
        "factors": "Push and pull factors",
        "policies": "Follow-up support",
        "step": "Step",
        "play": "▶ Play",
        "pause": "❚❚ Pause",
        "reset": "Reset",
        "speed": "Milliseconds per month when playing",
        "month_of": "Month {month} of {months}",
        "households_now": "{households:,} households, {workers:,} in the labour force",
        "changed": "Settings changed: press Reset to restart the community with them.",
        "finished": "The ten years are over: press Reset to start again.",
        "community": "Community (2020 survey, scaled down)",
        "households": "Households",
        "seed": "Random seed (same seed, same run)",
        "decide_to_move": "Start before the move: villages decide who moves",
        "homestead_handover": "The old homestead must be handed over",
        "out_of_county_wage": "Wage outside the county (yuan/month)",
        "living_cost_outside": "Cost of living outside (yuan/month)",
        "local_wage": "Local factory wage (yuan/month)",
        "local_industry_posts": "Local factory jobs per 100 workers",
        "local_services_posts": "Local service jobs per 100 workers",
        "distance_factor": "Distance to the origin villages (x survey)",
        "care_penalty": "Weight of caring for children and elders",
        "social": "Weight of what friends and neighbours do",
        "inertia": "Attachment to one's current work",
        "transition_years": "Years before the old house is demolished",
        "mixed_allocation": "Mix villages across buildings",
        "public_welfare_jobs": "Public-welfare posts",
        "subsistence_allowance": "Subsistence allowance (safety net)",
        "skills_training": "Skills training",
        "workshops": "Poverty-alleviation workshops (care-friendly jobs near home)",
        "labour_export": "Organised labour export",
        "community_services": "Community activities and child / elder care",
        "employment_guarantee": "One job per household guarantee",
        "origin_resources": "Land transfer and asset income",
        "startup_support": "Start-up support for returnees",
        "monitoring": "Monitoring against falling back into poverty",
        "shocks": "Shocks: illness, unpaid wages, bad harvests",
        "bad_year": "⚡ Bad year outside",
        "bad_year_on": "A bad year for work outside the county: from month {month} to month {end}.",
        "fell_back": "Households fallen back into poverty",
        "ready": "Month 0: press Step or ▶ Play to start.",
        "status": "Month {month}: {employed:.0%} of workers employed, {out:.0%} of them outside the county; "
        "income {income:,.0f} yuan per person a year; {poor:.0%} poor.",
        "people": "{people:,} people; this year {births} born, {deaths} died.",
        "decided": "Of {candidates:,} village households, {moved:,} moved and {withdrew:,} signed up but withdrew.",
        "pyramid": "Age pyramid (people)",
        "men": "men",
        "women": "women",
        "colour_by": "Colour households by",
        "colour_work": "where they work",
        "colour_origin": "origin village",
        "place": "Where people work (share of employed)",
        "sector": "Sector (share of employed)",
        "income": "Income per person (yuan/year)",
        "poverty": "Poverty rate (people)",
        "integration": "Integration index (0-1)",
        "returned": "Households gone back to the origin",
        "months": "months",
        "local": "local",
        "out_of_county": "outside the county",
        "agriculture": "farming",
        "industry": "industry",
        "services": "services",
        "part_time": "part-time farm + town",
        "previous": "dashed: the run before the last Reset",
        "network": "Ties between households in their buildings (size: income per person)",
        "explain_title": "What the controls mean",
        "not_working": "not working",
        "local_industry": "local industry",
        "local_services": "local services",
        "public_welfare": "public-welfare post",
        "farming_origin": "farming at the origin",
        "workshop": "workshop",
        "villages_note": "one colour per origin village (colours repeat)",
        "full_title": "The class is full",
        "full": "This server already has {capacity} students on it, as many as it can serve quickly. Another "
        "one would make the page slow for everyone, so it is not opened for you. Try again in a few minutes "
        "(reload the page), or ask the teacher.",
        "idle_title": "This page was closed",
        "idle": "Nothing was done on this page for {minutes} minutes, so it was closed to make room for others. "
        "Reload the page to start again.",
    },
    "zh": {
        "title": "易地扶贫搬迁与后续扶持：推力与拉力",
        "run": "运行",
        "setting": "安置社区",
        "factors": "推力与拉力",
        "policies": "后续扶持政策",
        "step": "单步",
        "play": "▶ 运行",
        "pause": "❚❚ 暂停",
        "reset": "重置",
        "speed": "自动运行时每月的毫秒数",
        "month_of": "第{month}月（共{months}月）",
        "households_now": "{households:,}户，劳动力{workers:,}人",
        "changed": "设置已更改：请点“重置”，社区将按新设置重新开始。",
        "finished": "十年已结束：请点“重置”重新开始。",
        "community": "安置社区（2020年调查，按比例缩小）",
        "households": "户数",
        "seed": "随机种子（种子相同，结果相同）",
        "decide_to_move": "从搬迁之前开始：村民决定谁搬",
        "homestead_handover": "须交出旧宅基地",
        "out_of_county_wage": "县外务工工资（元/月）",
        "living_cost_outside": "县外生活成本（元/月）",
        "local_wage": "本地工厂工资（元/月）",
        "local_industry_posts": "本地工厂岗位（每百名劳动力）",
        "local_services_posts": "本地服务业岗位（每百名劳动力）",
        "distance_factor": "迁出村距离（相对调查值的倍数）",
        "care_penalty": "照料老人和孩子的牵挂程度",
        "social": "亲友邻里行为的影响",
        "inertia": "对现有工作的依恋",
        "transition_years": "旧房拆除前的过渡期（年）",
        "mixed_allocation": "不同村的人混合安置到各栋楼",
        "public_welfare_jobs": "公益性岗位",
        "subsistence_allowance": "最低生活保障（兜底）",
        "skills_training": "技能培训",
        "workshops": "扶贫车间（可兼顾照料的家门口岗位）",
        "labour_export": "有组织劳务输出",
        "community_services": "社区活动与托幼养老服务",
        "employment_guarantee": "每户至少一人就业",
        "origin_resources": "土地流转与资产收益",
        "startup_support": "返乡创业扶持",
        "monitoring": "防返贫动态监测和帮扶",
        "shocks": "风险冲击：疾病、欠薪、歉收",
        "bad_year": "⚡ 外出务工坏年景",
        "bad_year_on": "外出务工坏年景：第{month}月至第{end}月。",
        "fell_back": "返贫户数（累计）",
        "ready": "第0月：点“单步”或“▶ 运行”开始。",
        "status": "第{month}月：{employed:.0%}的劳动力就业，其中{out:.0%}在县外；人均年收入{income:,.0f}元；贫困发生率{poor:.0%}。",
        "people": "人口{people:,}人；本年出生{births}人，死亡{deaths}人。",
        "decided": "迁出村{candidates:,}户中，{moved:,}户搬来，{withdrew:,}户报名后放弃。",
        "pyramid": "人口金字塔（人）",
        "men": "男",
        "women": "女",
        "colour_by": "家庭颜色表示",
        "colour_work": "就业去向",
        "colour_origin": "迁出村",
        "place": "就业地点（占就业人数）",
        "sector": "就业行业（占就业人数）",
        "income": "人均收入（元/年）",
        "poverty": "贫困发生率（人口）",
        "integration": "社会融入指数（0-1）",
        "returned": "返迁回原籍的户数",
        "months": "月",
        "local": "本地",
        "out_of_county": "县外",
        "agriculture": "务农",
        "industry": "工业",
        "services": "服务业",
        "part_time": "兼业（务农+务工）",
        "previous": "虚线：上次重置前的运行结果",
        "network": "各楼栋中家庭之间的社会关系（大小：人均收入）",
        "explain_title": "各项设置的含义",
        "not_working": "未就业",
        "local_industry": "本地工业",
        "local_services": "本地服务业",
        "public_welfare": "公益岗位",
        "farming_origin": "回原籍务农",
        "workshop": "扶贫车间",
        "villages_note": "每个迁出村一种颜色（颜色会重复）",
        "full_title": "人数已满",
        "full": "本服务器已有{capacity}名学生在使用，这是它能流畅服务的上限。再多一人会让所有人的页面变慢，"
        "所以暂不为你打开。请过几分钟再试（刷新页面），或告诉老师。",
        "idle_title": "页面已关闭",
        "idle": "此页面已有{minutes}分钟无人操作，为给其他人腾出位置已被关闭。刷新页面即可重新开始。",
    },
}
for _lang, _i in (("en", 0), ("zh", 1)):
    TEXT[_lang].update({f"community_{key}": names[_i] for key, names in COMMUNITY_NAMES.items()})

EXPLAIN: dict[str, dict[str, str]] = {
    "en": {
        "community": "The setting: one of the six communities surveyed in 2020, with its calibrated local labour "
        "market (factory and service jobs), scaled down to the number of households; or a typical one.",
        "households": "Size of the simulated community. The survey ratios (workers, origin villages, posts per "
        "worker) are kept.",
        "seed": "The same seed and settings give the same run; change it to see chance at work.",
        "decide_to_move": "Households of the origin villages weigh the push of their village against the flat they "
        "would get (25 m² a head), what they must pay and the land they would leave; some sign up and later "
        "withdraw. Those who move make the community. Off: everyone has already moved.",
        "homestead_handover": "With the decision on: households that must hand over the old house hesitate (they still "
        "farm at home in the busy season). Keeping it brings more of them, and keeps farming at the origin open.",
        "out_of_county_wage": "Pull of the destination: what work outside the county pays. Higher wages draw "
        "younger, better-educated workers out.",
        "living_cost_outside": "Push at the destination: rent and food while working outside.",
        "local_wage": "Pull of the new home: what a factory or workshop job in the county pays, in a county "
        "with the median minimum wage; a surveyed community's own minimum wage raises or lowers all local pay "
        "in proportion.",
        "local_industry_posts": "Pull of the new home: factory jobs nearby, limited in number.",
        "local_services_posts": "Pull of the new home: jobs in shops, cleaning, catering and security in town.",
        "distance_factor": "Pull of the origin fades with distance: farming the old land is hard from far away.",
        "care_penalty": "Own capability and family: carers of small children or elders prefer work close to home.",
        "social": "Social network: people follow what their friends and neighbours do (job information, "
        "chain migration).",
        "inertia": "Intervening obstacles: changing work has a cost, so people stay with what they do.",
        "transition_years": "Pull of the origin: while the old house stands, families can farm there or go back.",
        "mixed_allocation": "Policy lever on integration: flats allocated across villages make strangers "
        "neighbours, so more new ties form.",
        "public_welfare_jobs": "Policy: low-paid posts (cleaning, security, forest ranger) for weak labour without "
        "work (older people, carers) and households with no one employed, one per household.",
        "subsistence_allowance": "Policy: the safety net; households below the line, found by a means test, get "
        "their income topped up each month.",
        "skills_training": "Policy: courses raise skills, and with them wages, especially outside the county.",
        "workshops": "Policy: workshops beside the community add piece-work jobs that carers can combine with care.",
        "labour_export": "Policy: organised placement in jobs elsewhere lowers the cost of going out.",
        "community_services": "Policy: activities bring neighbours together; day care frees carers to work.",
        "employment_guarantee": "Policy: officials make sure each household with labour has one member working.",
        "origin_resources": "Policy: rent from idle land at the origin and dividends from collective assets.",
        "startup_support": "Policy: grants for returnees who start a small business.",
        "monitoring": "Policy: households whose income falls near the poverty line, or that a shock hits, are "
        "found after a few months and helped (medical assistance, a temporary post, a temporary top-up).",
        "shocks": "Push at the destination and the origin: members fall ill, wages go unpaid, harvests fail. "
        "The button Bad year outside sends many out-of-county workers home, as in 2020.",
        "colour_by": "Network view: colour each household by its main work or by its origin village.",
        "how": "Change a control, press Reset (the community restarts with the new settings; the previous run "
        "stays on the charts as a dashed line), then Step or Play.",
    },
    "zh": {
        "community": "安置社区：2020年调查的六个社区之一，带有按调查校准的本地就业岗位（工厂和服务业），"
        "按户数等比例缩小；或一个典型社区。",
        "households": "模拟社区的规模。保持调查中的比例（劳动力、迁出村数、每名劳动力的岗位数）。",
        "seed": "种子和设置相同，结果就相同；换一个种子可以看到随机性的作用。",
        "decide_to_move": "迁出村的农户比较本村的推力和将分到的住房（人均25平方米）、要自筹的钱和要离开的土地；有人报名后又放弃。"
        "搬来的人组成社区。关闭时：所有人已经搬完。",
        "homestead_handover": "开启搬迁决策时：须交出旧房的农户会犹豫（农忙时还要回家种地）。保留旧房会让更多人搬来，也让回原籍种地的路一直开着。",
        "out_of_county_wage": "目的地拉力：县外务工的收入。工资越高，越多年轻、受教育多的劳动力外出。",
        "living_cost_outside": "目的地推力：在外务工的房租和生活开支。",
        "local_wage": "新居拉力：县内工厂或扶贫车间岗位的工资（按最低工资为中位数的县计）；"
        "所选调查社区所在县的最低工资会按比例提高或降低全部本地工资。",
        "local_industry_posts": "新居拉力：附近工厂的岗位，数量有限。",
        "local_services_posts": "新居拉力：城镇里商店、保洁、餐饮、保安等服务业岗位。",
        "distance_factor": "原籍拉力随距离减弱：离得越远，回去种地越难。",
        "care_penalty": "自身能力与家庭：要照看孩子或老人的人更愿意在家附近就业。",
        "social": "社会网络：人们会跟随亲友邻居的选择（就业信息、链式迁移）。",
        "inertia": "中间障碍：换工作有成本，人们倾向于维持现状。",
        "transition_years": "原籍拉力：旧房未拆时，家庭还能回去种地或返迁。",
        "mixed_allocation": "促进融入的政策：不同村混合分配住房，陌生人成为邻居，新关系更多。",
        "public_welfare_jobs": "政策：为无业的弱劳动力（老人、照料者）和零就业家庭提供保洁、保安、护林等低薪公益岗位，每户一个。",
        "subsistence_allowance": "政策：兜底保障，经家计调查收入低于标准的家庭，每月补足到标准。",
        "skills_training": "政策：培训提高技能和工资，尤其是在县外务工时。",
        "workshops": "政策：社区旁的扶贫车间增加计件岗位，照料家人的人也能兼顾。",
        "labour_export": "政策：有组织地输送到外地就业，降低外出成本。",
        "community_services": "政策：社区活动让邻居相识；托幼养老服务让照料者可以就业。",
        "employment_guarantee": "政策：干部确保每个有劳动力的家庭至少一人就业。",
        "origin_resources": "政策：原籍闲置土地流转的租金和集体资产收益分红。",
        "startup_support": "政策：为返乡人员创办小生意提供补助。",
        "monitoring": "政策：收入接近贫困线或遭受冲击的家庭，几个月后被发现并得到帮扶（医疗救助、临时岗位、临时救助）。",
        "shocks": "目的地和原籍地的推力：家人生病、工资被拖欠、庄稼歉收。“外出务工坏年景”按钮让许多县外务工者返乡，如2020年。",
        "colour_by": "网络图：按主要就业去向或迁出村给家庭着色。",
        "how": "修改设置后点“重置”（社区按新设置重新开始，上一次的结果以虚线留在图上），再点“单步”或“▶ 运行”。",
    },
}

ORIGIN_PALETTE = (  # Tableau 20: origin villages, colours repeat after 20
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
    "#8c564b",
    "#c49c94",
    "#e377c2",
    "#f7b6d2",
    "#7f7f7f",
    "#c7c7c7",
    "#bcbd22",
    "#dbdb8d",
    "#17becf",
    "#9edae5",
)


def text(lang: str, key: str) -> str:
    """A label in the chosen language (English if the language is unknown)."""
    return TEXT.get(lang, TEXT["en"])[key]


def format_value(control: Control, value: Any) -> str:
    """A control's value as shown beside its label."""
    if control.kind == "float":
        return f"{float(value):g}"
    if control.kind in ("int", "seed"):
        return f"{int(value):,}"
    return str(value)


# ------------------------------------------------------------------------ the model
def scenario_file(community: str) -> Path:
    """The scenario file of a preset: the calibrated file of a surveyed community
    (scenarios/calibrated/), or the baseline for "typical"."""
    if community not in COMMUNITY_CHOICES:
        raise ValueError(f"unknown community {community!r}; known: {', '.join(COMMUNITY_CHOICES)}")
    return SCENARIO_DIR / "baseline.toml" if community == "typical" else CALIBRATED_DIR / f"{community}.toml"


@cache
def community_base(community: str) -> Scenario:
    """The full-size scenario of a preset, as its file has it."""
    return load_scenario(scenario_file(community))


def preset_controls(community: str) -> dict[str, Any]:
    """The control values a preset sets when picked: its calibrated local labour market,
    in whole posts per 100 workers."""
    demand = community_base(community).labour_demand
    return {
        "community": community,
        "local_industry_posts": round(demand.industry_posts_per_100_workers),
        "local_services_posts": round(demand.services_posts_per_100_workers),
    }


def classroom_scenario(controls: dict[str, Any]) -> Scenario:
    """A scenario for class from the controls' values (`ClassroomModel`'s keyword
    arguments; the seed is not used here).

    The preset is scaled to about `households` households keeping its survey ratios:
    labour force and origin villages per person (policy amounts are densities already).
    """
    c = {**DEFAULTS, **controls}
    community = str(c["community"])
    base = community_base(community)
    profile = base.community
    people = max(10, round(int(c["households"]) * PEOPLE_PER_HOUSEHOLD * (1 - profile.local_resident_share)))
    factor = people / profile.relocated_population
    labour = max(1, round(profile.relocated_labour_force * factor))
    villages = max(1, round(profile.source_villages * factor))
    overrides: dict[str, Any] = {
        "community.relocated_population": people,
        "community.relocated_labour_force": labour,
        "community.source_villages": villages,
        "community.distance_min_km": profile.distance_min_km * float(c["distance_factor"]),
        "community.distance_max_km": profile.distance_max_km * float(c["distance_factor"]),
        "wages.out_of_county": float(c["out_of_county_wage"]),
        "wages.living_cost_out_of_county": float(c["living_cost_outside"]),
        "wages.local_industry": float(c["local_wage"]),
        "labour_demand.industry_posts_per_100_workers": float(c["local_industry_posts"]),
        "labour_demand.services_posts_per_100_workers": float(c["local_services_posts"]),
        "choice.care_penalty.out_of_county": float(c["care_penalty"]),
        "choice.social": float(c["social"]),
        "choice.inertia": float(c["inertia"]),
        "policies.transition_period.years": int(c["transition_years"]),
        "ties.allocation": "mixed" if c["mixed_allocation"] else "village_clustered",
        "ties.metrics_at_end": False,
        "shocks.enabled": bool(c["shocks"]),
        "policies.relocation_terms.enabled": bool(c["decide_to_move"]),
        "policies.relocation_terms.homestead_handover": bool(c["homestead_handover"]),
        **{f"policies.{name}.enabled": bool(c[name]) for name in POLICY_SWITCHES},
        "simulation.years": YEARS,
    }
    # always from a file: an override of one entry of a table (care_penalty.out_of_county)
    # given without a file would leave the table's other entries at 0, not at the baseline's
    return load_scenario(scenario_file(community), overrides)


class ClassroomModel(ResettlementModel):
    """The relocation model with one keyword argument per control of the page.

    `controls` keeps the values it was built with (the page compares them with the
    controls to tell the class to press Reset); `positions` are the households' fixed
    drawing positions.
    """

    def __init__(
        self,
        community: str = DEFAULTS["community"],
        households: int = DEFAULTS["households"],
        seed: int = DEFAULTS["seed"],
        decide_to_move: bool = DEFAULTS["decide_to_move"],
        homestead_handover: bool = DEFAULTS["homestead_handover"],
        out_of_county_wage: int = DEFAULTS["out_of_county_wage"],
        living_cost_outside: int = DEFAULTS["living_cost_outside"],
        local_wage: int = DEFAULTS["local_wage"],
        local_industry_posts: int = DEFAULTS["local_industry_posts"],
        local_services_posts: int = DEFAULTS["local_services_posts"],
        distance_factor: float = DEFAULTS["distance_factor"],
        care_penalty: float = DEFAULTS["care_penalty"],
        social: float = DEFAULTS["social"],
        inertia: float = DEFAULTS["inertia"],
        transition_years: int = DEFAULTS["transition_years"],
        shocks: bool = DEFAULTS["shocks"],
        mixed_allocation: bool = DEFAULTS["mixed_allocation"],
        public_welfare_jobs: bool = DEFAULTS["public_welfare_jobs"],
        subsistence_allowance: bool = DEFAULTS["subsistence_allowance"],
        skills_training: bool = DEFAULTS["skills_training"],
        workshops: bool = DEFAULTS["workshops"],
        labour_export: bool = DEFAULTS["labour_export"],
        community_services: bool = DEFAULTS["community_services"],
        employment_guarantee: bool = DEFAULTS["employment_guarantee"],
        origin_resources: bool = DEFAULTS["origin_resources"],
        startup_support: bool = DEFAULTS["startup_support"],
        monitoring: bool = DEFAULTS["monitoring"],
    ) -> None:
        controls = {key: value for key, value in locals().items() if key in DEFAULTS}
        super().__init__(classroom_scenario(controls), seed=int(seed))
        self.controls = controls
        self.positions = building_layout(self)


def building_layout(model: ResettlementModel) -> np.ndarray:
    """Fixed drawing positions (integers): buildings on a grid, households on a small grid
    inside each, in household order.

    No random numbers and no force-directed layout: the same for a given seed in every
    session, computed once per model in well under a millisecond, and only colours and
    sizes change as the model runs.
    """
    pop = model.pop
    building = model.social.building if model.social is not None else pop.village
    order = np.lexsort((np.arange(pop.n_households), building))
    sorted_building = building[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_building)) + 1]
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    per_row = int(np.ceil(np.sqrt(np.bincount(building).max())))
    grid = int(np.ceil(np.sqrt(int(building.max()) + 1)))
    positions = np.zeros((pop.n_households, 2), dtype=np.int64)
    b = sorted_building.astype(np.int64)
    positions[order, 0] = (b % grid) * (per_row + 2) + rank % per_row
    positions[order, 1] = (b // grid) * (per_row + 2) + rank // per_row
    return positions


# ------------------------------------------------------------------------ charts
# (chart title key in TEXT, (indicator, colour) per line, y limits); line labels come from
# the indicator table in the page's language
CHARTS = (
    ("place", (("share_local", "#3182bd"), ("share_out_of_county", "#d62728")), (0.0, 1.0)),
    (
        "sector",
        (
            ("share_agriculture", "#8c6d31"),
            ("share_industry", "#3182bd"),
            ("share_services", "#31a354"),
            ("share_part_time", "#e6550d"),
        ),
        (0.0, 1.0),
    ),
    ("income", (("income_per_capita_mean", "#2c7fb8"),), (0.0, None)),
    ("poverty", (("poverty_rate", "#de2d26"),), (0.0, None)),
    ("integration", (("integration_index", "#756bb1"),), (0.0, 1.0)),
    ("returned", (("returned_households", "#636363"),), (0.0, None)),
    ("fell_back", (("fell_back_cumulative", "#e6550d"),), (0.0, None)),
)
CHART_COLUMNS = ("month", *(column for _, lines, _ in CHARTS for column, _ in lines))

History = dict[str, np.ndarray]


def history(model: ResettlementModel) -> History:
    """The monthly series the charts draw, read from the DataCollector (no DataFrame)."""
    data = model.datacollector.model_vars
    return {column: np.asarray(data.get(column, ()), dtype=float) for column in CHART_COLUMNS}


def html_escape(text_: str) -> str:
    """Escape text for SVG/HTML."""
    return text_.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def _points(x: np.ndarray, y: np.ndarray) -> str:
    """SVG polyline points "x,y x,y ..." of the finite values (one %-format over all: a
    Python loop of f-strings costs several times more, and this runs every month)."""
    keep = np.isfinite(y)
    xy = np.column_stack([x[keep], y[keep]]).ravel().tolist()
    return ("%.1f,%.1f " * (len(xy) // 2) % tuple(xy)).rstrip()


def _text_width(text_: str, size: float = 10) -> float:
    """Rough width in pixels of `text_` in a sans-serif font of `size` px: Chinese characters
    are square, Latin ones a little over half as wide."""
    return sum(size if ord(c) >= 0x2E80 else 0.58 * size for c in text_)


def svg_chart(
    title: str,
    month: np.ndarray,
    series: list[tuple[str, np.ndarray, str]],
    limits: tuple[float | None, float | None] | None,
    previous: tuple[np.ndarray, list[np.ndarray]] | None = None,
    width: int = 280,
    height: int = 152,
) -> str:
    """A small line chart as inline SVG; `previous` (months, one array per series) is drawn
    dashed beneath. `height` is the plot with its month labels; the legend goes below
    them, in two columns where the labels fit, else one, and the picture grows to hold it
    (no legend over the axis labels). A redraw costs well under a millisecond."""
    left, right, top, bottom = 46, 8, 20, 18
    w, h = width - left - right, height - top - bottom
    columns = (
        2 if len(series) > 1 and all(_text_width(label) + 13 <= (width - left) / 2 - 6 for label, _, _ in series) else 1
    )
    rows = -(-len(series) // columns)
    total_height = height + 4 + 12 * rows
    arrays = [y for _, y, _ in series] + (list(previous[1]) if previous else [])
    values = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.zeros(0)
    if not values.size:
        values = np.zeros(1)
    lo = limits[0] if limits and limits[0] is not None else float(values.min())
    hi = limits[1] if limits and limits[1] is not None else float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    last = [int(month[-1])] if len(month) else []
    if previous is not None and len(previous[0]):
        last.append(int(previous[0][-1]))
    x_max = max([12, *last])

    def sx(x: np.ndarray) -> np.ndarray:
        return left + w * (np.asarray(x, dtype=float) - 1) / max(x_max - 1, 1)

    def sy(y: np.ndarray) -> np.ndarray:
        return top + h * (1 - (np.asarray(y, dtype=float) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" role="img" class="chart">',
        f'<text x="{left}" y="13" font-size="12" font-weight="bold">{html_escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = lo + frac * (hi - lo)
        parts.append(f'<text x="{left - 4}" y="{sy(y) + 4:.1f}" font-size="10" text-anchor="end">{_fmt(y)}</text>')
    tick = 6 if x_max <= 36 else 12 if x_max <= 72 else 24
    for m in range(tick, x_max + 1, tick):
        parts.append(f'<text x="{sx(m):.1f}" y="{top + h + 12}" font-size="10" text-anchor="middle">{m}</text>')
    if previous is not None:
        for (_, _, colour), y in zip(series, previous[1], strict=True):
            if len(previous[0]):
                parts.append(
                    f'<polyline class="previous" fill="none" stroke="{colour}" stroke-width="1.2" '
                    f'stroke-dasharray="4 3" opacity="0.6" points="{_points(sx(previous[0]), sy(y))}"/>'
                )
    for i, (label, y, colour) in enumerate(series):
        if len(month):
            parts.append(
                f'<polyline class="current" fill="none" stroke="{colour}" stroke-width="1.8" '
                f'points="{_points(sx(month), sy(y))}"/>'
            )
        lx = left + (i % columns) * (width - left) // 2
        ly = height + 12 + (i // columns) * 12  # the text's baseline, below the month labels
        parts.append(f'<rect x="{lx}" y="{ly - 5}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{lx + 13}" y="{ly}" font-size="10">{html_escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts_html(model: ResettlementModel, lang: str, previous: History | None = None) -> str:
    """The live charts (employment by place and by sector, income, poverty, integration,
    households gone back) as one block of inline SVG; `previous` is the run before the
    last Reset, drawn dashed. `data-month` tells tests and benchmarks which month is shown."""
    t = TEXT[lang]
    now = history(model)
    charts = []
    for key, lines, limits in CHARTS:
        series = [(INDICATORS[column].label_in(lang), now[column], colour) for column, colour in lines]
        before = (previous["month"], [previous[column] for column, _ in lines]) if previous else None
        charts.append(svg_chart(t[key], now["month"], series, limits, before))
    charts.append(age_pyramid_svg(model, lang))
    note = f'<div class="chart-note">{html_escape(t["previous"])}</div>' if previous else ""
    return (
        f'<div class="live-charts" data-month="{model.steps}" style="display:flex;flex-wrap:wrap;gap:4px">'
        + "".join(charts)
        + f"</div>{note}"
    )


PYRAMID_GROUPS = 18  # 0-4, 5-9, ..., 85+


def age_pyramid(model: ResettlementModel) -> tuple[np.ndarray, np.ndarray]:
    """Relocated people in the model by five-year age group: (men, women), 0-4 first."""
    pop = model.pop
    people = pop.members_now() & pop.relocated[pop.household]
    group = np.minimum(pop.age[people] // 5, PYRAMID_GROUPS - 1)
    female = pop.female[people]
    men = np.bincount(group[~female], minlength=PYRAMID_GROUPS)
    women = np.bincount(group[female], minlength=PYRAMID_GROUPS)
    return men, women


def age_pyramid_svg(model: ResettlementModel, lang: str, width: int = 280, height: int = 190) -> str:
    """The age pyramid as inline SVG: men to the left, women to the right, one bar per five
    years of age (the youngest at the bottom), so a class sees births and ageing."""
    t = TEXT[lang]
    men, women = age_pyramid(model)
    top, bottom, mid, label_w = 20, 14, width / 2, 22
    bar_h = (height - top - bottom) / PYRAMID_GROUPS
    scale = (width / 2 - label_w - 6) / max(int(men.max(initial=0)), int(women.max(initial=0)), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" class="pyramid">',
        f'<text x="4" y="13" font-size="12" font-weight="bold">{html_escape(t["pyramid"])}</text>',
        f'<text x="{mid - label_w}" y="{height - 2}" font-size="10" text-anchor="end">{html_escape(t["men"])}</text>',
        f'<text x="{mid + label_w}" y="{height - 2}" font-size="10">{html_escape(t["women"])}</text>',
    ]
    for g in range(PYRAMID_GROUPS):
        y = top + (PYRAMID_GROUPS - 1 - g) * bar_h
        m, f = men[g] * scale, women[g] * scale
        parts.append(
            f'<rect x="{mid - label_w / 2 - m:.1f}" y="{y:.1f}" width="{m:.1f}" height="{bar_h - 1:.1f}" fill="#3182bd"/>'
        )
        parts.append(
            f'<rect x="{mid + label_w / 2:.1f}" y="{y:.1f}" width="{f:.1f}" height="{bar_h - 1:.1f}" fill="#de2d26"/>'
        )
        if g % 2 == 0:
            parts.append(f'<text x="{mid}" y="{y + bar_h - 2:.1f}" font-size="8" text-anchor="middle">{5 * g}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------ network view
def main_work(model: ResettlementModel) -> np.ndarray:
    """Each household's main work this month (option index; not working if no labour)."""
    counts = household_option_counts(model.pop, model.labour)
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), int(Option.NOT_WORKING))


def network_svg(model: ClassroomModel, colour_by: str = "work", min_strength: float = 0.5) -> str:
    """Households at their fixed positions (`building_layout`), ties of at least
    `min_strength` as lines, households coloured by main work or origin village and sized
    by income per person; those gone back or not yet moved in are left out. No text inside: the page labels
    it in the chosen language."""
    pos = model.positions
    present = model.pop.active.copy()  # households moved in (arrival waves) and not dissolved
    parts = []
    if model.social is not None:
        present &= ~model.returned
        net = model.social.network
        keep = present[net.src] & present[net.dst] & (net.strength >= min_strength)
        ends = np.hstack([pos[net.src[keep]], pos[net.dst[keep]]]).ravel().tolist()
        path = "M%d %dL%d %d" * (len(ends) // 4) % tuple(ends)  # one format for all ties: 5x a loop
        parts.append(f'<path d="{path}" stroke="#888" stroke-width="0.06" stroke-opacity="0.35" fill="none"/>')
    income = model.income_per_capita
    ratio = np.clip(income / max(float(np.percentile(income, 95)), 1.0), 0.0, 1.5)
    radius = 0.5 * np.sqrt((0.1 + ratio) / 1.6)
    if colour_by == "origin":
        group = model.pop.village % len(ORIGIN_PALETTE)
        palette = ORIGIN_PALETTE
    else:
        group = main_work(model)
        palette = tuple(WORK_COLOURS[name] for name in OPTION_NAMES)
    for g, colour in enumerate(palette):
        members = np.flatnonzero(present & (group == g))
        if members.size:
            values = np.column_stack([pos[members], radius[members]]).ravel().tolist()
            circles = '<circle cx="%d" cy="%d" r="%.2f"/>' * members.size % tuple(values)
            parts.append(f'<g fill="{colour}">{circles}</g>')
    x0, y0 = pos.min(axis=0) - 1
    x1, y1 = pos.max(axis=0) + 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network" data-month="{model.steps}" '
        f'viewBox="{x0} {y0} {x1 - x0} {y1 - y0}" width="100%" preserveAspectRatio="xMidYMid meet">'
        + "".join(parts)
        + "</svg>"
    )


def network_legend_html(lang: str, colour_by: str) -> str:
    """The network view's title and colour key, as HTML in the chosen language."""
    t = TEXT[lang]
    if colour_by == "origin":
        key = html_escape(t["villages_note"])
    else:
        key = " ".join(
            f'<span style="color:{colour}">&#9679;</span>&nbsp;{html_escape(t[name])}'
            for name, colour in WORK_COLOURS.items()
        )
    return f"<div><b>{html_escape(t['network'])}</b><br><small>{key}</small></div>"


# ------------------------------------------------------------------------ words
def status_line(model: ResettlementModel, lang: str) -> str:
    """One sentence on where the community stands this month."""
    if not model.steps:
        return TEXT[lang]["ready"]
    ind = model.indicators
    out = ind["share_out_of_county"]
    line = TEXT[lang]["status"].format(
        month=model.steps,
        employed=ind["employment_rate"],
        out=out if np.isfinite(out) else 0.0,
        income=ind["income_per_capita_mean"],
        poor=ind["poverty_rate"],
    )
    line += " " + TEXT[lang]["people"].format(
        people=ind["people"], births=ind["births_last_year"], deaths=ind["deaths_last_year"]
    )
    if model.pop.decision is not None:
        n = model.pop.decision.counts
        line += " " + TEXT[lang]["decided"].format(
            candidates=int(n["decision_candidates"]),
            moved=int(n["decision_moved"]),
            withdrew=int(n["decision_withdrew"]),
        )
    start = model.shocks.bad_year_start
    if start and start <= model.steps + 1:
        line += " " + TEXT[lang]["bad_year_on"].format(month=start, end=start + model.config.shocks.bad_year_months - 1)
    return line


def explanation(lang: str) -> str:
    """HTML explaining every control (the push or pull it stands for), in `lang`. Plain
    HTML: Solara's Markdown would load a diagram library the page does not need."""
    t, e = TEXT[lang], EXPLAIN[lang]
    sections = []
    for group in ("setting", "factors", "policies"):
        rows = "".join(
            f"<li><b>{html_escape(t[c.key])}</b>: {html_escape(e[c.key])}</li>" for c in CONTROLS if c.group == group
        )
        sections.append(f"<h4>{html_escape(t[group])}</h4><ul>{rows}</ul>")
    sections.append(f"<ul><li><b>{html_escape(t['colour_by'])}</b>: {html_escape(e['colour_by'])}</li></ul>")
    return f"<h3>{html_escape(t['explain_title'])}</h3><p>{html_escape(e['how'])}</p>" + "".join(sections)


# ------------------------------------------------------------------------ seats
CAPACITY = 40  # sessions one server takes at once (benchmarks/bench_classroom.py; docs/APP.md)
IDLE_MINUTES = 15.0  # a session with no click for this long gives back its seat and its model


@dataclass(eq=False)  # compared and hashed by identity: every seat is a different one
class Seat:
    """One admitted browser session: when it was last used."""

    last_used: float

    def touch(self) -> None:
        """Mark the session as used now (a click, a control moved, a month played)."""
        self.last_used = time.monotonic()

    def idle_seconds(self) -> float:
        return time.monotonic() - self.last_used


class Seats:
    """How many browser sessions the server holds, at most `capacity`, shared by all sessions
    of the process (the page takes a seat when it opens and gives it back when it is closed
    or left idle). Beyond the capacity a new visitor is shown a page saying the class is full
    instead of making every page slow.

    `capacity` and `idle_minutes` come from RELOCATION_APP_CAPACITY and
    RELOCATION_APP_IDLE_MINUTES (set by `run.py app --capacity/--idle-minutes`) or the
    defaults above.
    """

    def __init__(self, capacity: int | None = None, idle_minutes: float | None = None) -> None:
        self.capacity = capacity if capacity is not None else int(os.environ.get("RELOCATION_APP_CAPACITY", CAPACITY))
        self.idle_minutes = (
            idle_minutes
            if idle_minutes is not None
            else float(os.environ.get("RELOCATION_APP_IDLE_MINUTES", IDLE_MINUTES))
        )
        self._taken: set[Seat] = set()
        self._lock = threading.Lock()

    def take(self) -> Seat | None:
        """A seat for a new session, or None if the class is full."""
        with self._lock:
            if len(self._taken) >= self.capacity:
                return None
            seat = Seat(time.monotonic())
            self._taken.add(seat)
            return seat

    def give_back(self, seat: Seat | None) -> None:
        """Free a seat (idempotent: a seat given back twice counts once)."""
        if seat is not None:
            with self._lock:
                self._taken.discard(seat)

    def __len__(self) -> int:
        return len(self._taken)


SEATS = Seats()


def return_memory() -> None:
    """Collect garbage and hand freed memory back to the system (glibc's malloc_trim), so
    that a session freed for idleness shows as less memory used by the server, not only as
    room for the next one. Called rarely (once per freed session): a full collection takes
    tens of milliseconds."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc and sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc).malloc_trim(0)
