"""Indicators: the one table that declares them, and the survey's definitions that compute them.

Every indicator the model reports is declared once in `INDICATORS` (name, kind, unit,
number format, English and Chinese labels, whether it is a key indicator, which way is
better, a default equivalence margin, the survey column it is checked against). The
command line, the comparison report, the app, sweeps and validation read that table; a
policy declares its own indicators through it (`simulation.policies`). Nothing else
chooses indicators or guesses how to print them.

Employment shares are over employed relocated workers living in the community:
agriculture + industry + services + part-time = 1 (public-welfare posts are services,
workshop posts industry, both also reported alone), and local + out-of-county = 1 (farming at
the origin is local). `employment_rate` and `share_not_working` are over the relocated
labour force living in the community.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .options import AGE_GROUPS, EDUCATION_NAMES, N_OPTIONS, Option

Kind = Literal["share", "count", "yuan", "index", "month", "years"]
Better = Literal["higher", "lower"] | None
Level = Literal["key", "summary", "detail"]

DEFAULT_FORMAT: dict[str, str] = {
    "share": ".3f",
    "count": ",.0f",
    "yuan": ",.0f",
    "index": ".3f",
    "month": "d",
    "years": ".1f",
}


@dataclass(frozen=True)
class Indicator:
    """One reported quantity and everything needed to show it.

    Attributes:
        name: the key in `model.flat_indicators` and in every table and data file.
        kind: share (a fraction 0-1), count (people or households), yuan, index (0-1
            score), month or years (of age).
        unit: what it is a share of, or what it counts, in words.
        label: (English, Chinese) label.
        level: "key" (comparison tables, report figures, sweep default), "summary" (also
            in the single-run summary) or "detail" (in the data only).
        better: which direction is an improvement, if any (no-harm checks, equivalence).
        margin: default equivalence margin, in the indicator's own units, for the
            "equivalent" / "no worse than" statements of a comparison (`--margin`), and the
            default precision target of `--replicates auto` (the width its difference
            interval must get below; `--target`).
        observed: the column of the 2020 survey it is validated against, if any.
        fmt: a format spec; empty means the default of its kind.
    """

    name: str
    kind: Kind
    unit: str
    label: tuple[str, str]
    level: Level = "summary"
    better: Better = None
    margin: float | None = None
    observed: str | None = None
    fmt: str = ""

    @property
    def key(self) -> bool:
        """A key indicator: in comparison tables, report figures and sweep defaults."""
        return self.level == "key"

    def label_in(self, lang: str) -> str:
        """The label in "en" or "zh" (English for anything else)."""
        return self.label[1] if lang == "zh" else self.label[0]

    def format(self, value: float | int | None) -> str:
        """The value as printed in tables and the report ("-" for a missing value)."""
        if value is None:
            return "-"
        value = float(value)
        if not np.isfinite(value):
            return "-"
        spec = self.fmt or DEFAULT_FORMAT[self.kind]
        if spec.endswith("d"):
            return format(round(value), spec)
        return format(value, spec)

    def format_interval(self, low: float | None, high: float | None) -> str:
        """'[low, high]' in the indicator's format."""
        return f"[{self.format(low)}, {self.format(high)}]"


class IndicatorTable:
    """The registry: indicators in declaration order, looked up by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, Indicator] = {}

    def declare(self, *indicators: Indicator) -> None:
        """Add indicators; a name may be declared only once."""
        for indicator in indicators:
            if indicator.name in self._by_name and self._by_name[indicator.name] != indicator:
                raise ValueError(f"indicator {indicator.name!r} is declared twice, differently")
            self._by_name[indicator.name] = indicator

    def __getitem__(self, name: str) -> Indicator:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown indicator {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self, level: Level | None = None) -> tuple[str, ...]:
        """Names in declaration order; with `level`, those at that level or above
        ("summary" includes the key indicators)."""
        rank = {"key": 0, "summary": 1, "detail": 2}
        if level is None:
            return tuple(self._by_name)
        return tuple(n for n, i in self._by_name.items() if rank[i.level] <= rank[level])

    def key(self) -> tuple[str, ...]:
        """The key indicators, in declaration order."""
        return self.names("key")

    def margins(self) -> dict[str, float]:
        """Declared equivalence margins, by indicator name."""
        return {n: float(i.margin) for n, i in self._by_name.items() if i.margin is not None}

    def observed(self) -> tuple[str, ...]:
        """Indicators with a survey column to be validated against."""
        return tuple(n for n, i in self._by_name.items() if i.observed)

    def format(self, name: str, value: float | None) -> str:
        """Format a value of the named indicator."""
        return self[name].format(value)

    def subset(self, names: Iterable[str]) -> list[Indicator]:
        """The named indicators, in the order given."""
        return [self[n] for n in names]


INDICATORS = IndicatorTable()


def _share(name: str, unit: str, en: str, zh: str, level: Level = "summary", **kw) -> Indicator:
    return Indicator(name, "share", unit, (en, zh), level, **kw)


EMPLOYED = "of employed relocated workers in the community"
LABOUR = "of the relocated labour force in the community"

# Shares computed by `employment_shares`, for the whole community and for every group.
SHARE_INDICATORS = (
    _share(
        "employment_rate",
        LABOUR,
        "Employment rate",
        "就业率",
        "key",
        better="higher",
        margin=0.01,
        observed="employment_rate",
    ),
    _share(
        "share_agriculture",
        EMPLOYED,
        "Farming at the origin",
        "回原籍务农",
        "key",
        margin=0.01,
        observed="share_agriculture",
    ),
    _share("share_industry", EMPLOYED, "Industry", "工业", "key", margin=0.01, observed="share_industry"),
    _share("share_services", EMPLOYED, "Services", "服务业", "key", margin=0.01, observed="share_services"),
    _share(
        "share_part_time",
        EMPLOYED,
        "Part-time farm + non-farm",
        "兼业（务农+务工）",
        "key",
        margin=0.01,
        observed="share_part_time",
    ),
    _share("share_public_welfare", EMPLOYED, "Public-welfare posts", "公益岗位"),
    _share("share_workshop", EMPLOYED, "Workshop posts", "扶贫车间岗位"),
    _share("share_local", EMPLOYED, "Working locally", "本地就业", "key", margin=0.01, observed="share_local"),
    _share(
        "share_out_of_county",
        EMPLOYED,
        "Working outside the county",
        "县外务工",
        "key",
        margin=0.01,
        observed="share_out_of_county",
    ),
    _share("share_not_working", LABOUR, "Not working", "未就业"),
    _share("share_local_industry", EMPLOYED, "Local industry and workshops", "本地工业（含车间）"),
    _share("share_local_services", EMPLOYED, "Local services and welfare posts", "本地服务业（含公益岗位）"),
)
SHARE_KEYS = tuple(i.name for i in SHARE_INDICATORS)

PEOPLE_ALL = "people in all relocated households, those gone back included"
PEOPLE_IN = "people in relocated households living in the community"

INDICATORS.declare(
    Indicator("month", "month", "months since moving in", ("Month", "月份"), "detail"),
    Indicator("labour_force", "count", LABOUR.replace("of the ", ""), ("Labour force", "劳动力"), "summary"),
    Indicator("employed", "count", "relocated workers in the community", ("Employed", "就业人数"), better="higher"),
    *SHARE_INDICATORS,
    Indicator(
        "income_per_capita_mean",
        "yuan",
        f"yuan per person per year, {PEOPLE_ALL}",
        ("Income per person, mean", "人均收入（平均）"),
        "key",
        better="higher",
        margin=100.0,
    ),
    Indicator(
        "income_per_capita_median",
        "yuan",
        f"yuan per person per year, {PEOPLE_ALL}",
        ("Income per person, median", "人均收入（中位数）"),
        "key",
        better="higher",
        margin=100.0,
    ),
    Indicator(
        "poverty_rate",
        "share",
        f"share of {PEOPLE_ALL} below the poverty line",
        ("Poverty rate", "贫困发生率"),
        "key",
        better="lower",
        margin=0.005,
    ),
    Indicator(
        "households_in_poverty",
        "count",
        "relocated households below the poverty line, those gone back included",
        ("Households in poverty", "贫困户数"),
        better="lower",
    ),
    Indicator(
        "income_per_capita_mean_in_community",
        "yuan",
        f"yuan per person per year, {PEOPLE_IN}",
        ("Income per person in the community, mean", "社区内人均收入（平均）"),
        better="higher",
        observed="income_after_yuan",
    ),
    Indicator(
        "poverty_rate_in_community",
        "share",
        f"share of {PEOPLE_IN} below the poverty line",
        ("Poverty rate in the community", "社区内贫困发生率"),
        better="lower",
    ),
    Indicator(
        "zero_employment_households",
        "count",
        "relocated households in the community with labour but nobody working",
        ("Zero-employment households", "零就业家庭"),
        "key",
        better="lower",
        margin=5.0,
    ),
    Indicator(
        "zero_employment_share",
        "share",
        "of relocated households in the community with labour",
        ("Zero-employment share", "零就业家庭比例"),
        better="lower",
    ),
    Indicator(
        "carers_near_home_work",
        "share",
        "of labour-force members with a care duty in the community, working near home",
        ("Carers working near home", "照料者就近就业比例"),
        better="higher",
    ),
    Indicator(
        "carers_out_of_county",
        "share",
        "of labour-force members with a care duty in the community, working outside the county",
        ("Carers working outside the county", "照料者县外务工比例"),
    ),
    Indicator(
        "out_of_county_workers",
        "count",
        "relocated workers in the community working outside the county",
        ("Out-of-county workers", "县外务工人数"),
    ),
    Indicator(
        "returners", "count", "workers back from outside the county this month", ("Returners", "返乡人数"), "detail"
    ),
    Indicator(
        "return_migrants_cumulative",
        "count",
        "workers back from outside the county, since moving in",
        ("Return migrants, cumulative", "累计返乡人数"),
    ),
    Indicator(
        "public_welfare_posts_filled",
        "count",
        "public-welfare posts held by relocated workers",
        ("Welfare posts filled", "在岗公益岗位"),
        "detail",
    ),
    Indicator(
        "integration_index",
        "index",
        "mean over relocated households in the community, 0-1",
        ("Integration index", "社会融入指数"),
        "key",
        better="higher",
        margin=0.01,
    ),
    Indicator(
        "returned_households",
        "count",
        "relocated households gone back to the origin, cumulative",
        ("Households gone back", "返迁户数"),
        "key",
        better="lower",
        margin=10.0,
    ),
    Indicator(
        "poverty_rate_annual",
        "share",
        f"share of {PEOPLE_ALL} below the poverty line on the last twelve months' net income",
        ("Poverty rate, annual income", "贫困发生率（年收入）"),
        better="lower",
    ),
    Indicator(
        "poverty_entries",
        "count",
        "relocated households whose last twelve months' income fell below the line this month",
        ("Entries into poverty this month", "本月新入贫困户数"),
        "detail",
        better="lower",
    ),
    Indicator(
        "poverty_exits",
        "count",
        "relocated households whose last twelve months' income rose above the line this month",
        ("Exits from poverty this month", "本月脱贫户数"),
        "detail",
        better="higher",
    ),
    Indicator(
        "fell_back_households",
        "count",
        "relocated households falling back into poverty this month after a year or more out of it",
        ("Falling back this month", "本月返贫户数"),
        "detail",
        better="lower",
    ),
    Indicator(
        "fell_back_cumulative",
        "count",
        "relocated households that fell back into poverty at least once after a year out of it",
        ("Households fallen back, cumulative", "累计返贫户数"),
        "key",
        better="lower",
        margin=5.0,
    ),
    Indicator(
        "at_risk_households",
        "count",
        "relocated households above the poverty line but below the monitoring line (annual income)",
        ("Households at risk", "易返贫致贫户数"),
        better="lower",
    ),
    Indicator(
        "shocked_households",
        "count",
        "relocated households hit by a shock this month (illness, unpaid wages, harvest, bad year)",
        ("Households hit by a shock", "本月遭受冲击户数"),
        "detail",
    ),
    Indicator("ties", "count", "ties between households (ties submodel)", ("Ties", "社会关系数"), "detail"),
    Indicator(
        "mean_degree",
        "count",
        "ties per household (ties submodel)",
        ("Ties per household", "户均关系数"),
        fmt=".2f",
    ),
    Indicator(
        "cross_origin_tie_share",
        "share",
        "of ties, joining households of different origins",
        ("Ties across origins", "跨村关系比例"),
    ),
    Indicator(
        "local_resident_tie_share",
        "share",
        "of relocated households in the community, tied to a long-standing resident",
        ("Tied to long-standing residents", "与原住居民有联系的比例"),
    ),
    Indicator(
        "clustering",
        "index",
        "average clustering coefficient of the ties (networkx)",
        ("Clustering", "聚类系数"),
    ),
    Indicator(
        "largest_component_share",
        "share",
        "of households, in the largest connected group",
        ("Largest component", "最大连通分量比例"),
    ),
)

# Demography (docs/MODEL.md 7.11): relocated households in the model, those gone back included.
RELOCATED_PEOPLE = "relocated people in the model (households gone back included)"
INDICATORS.declare(
    Indicator("people", "count", RELOCATED_PEOPLE, ("People", "人口"), "summary"),
    Indicator("relocated_households", "count", "relocated households in the model", ("Households", "户数"), "detail"),
    Indicator(
        "births_last_year", "count", "births in the latest demographic year", ("Births this year", "本年出生"), "detail"
    ),
    Indicator(
        "deaths_last_year", "count", "deaths in the latest demographic year", ("Deaths this year", "本年死亡"), "detail"
    ),
    Indicator("births_total", "count", "births since the start", ("Births, cumulative", "累计出生"), "detail"),
    Indicator("deaths_total", "count", "deaths since the start", ("Deaths, cumulative", "累计死亡"), "detail"),
    Indicator(
        "new_households_total",
        "count",
        "couples who set up a household of their own in the community, cumulative",
        ("New households, cumulative", "累计分户"),
        "detail",
    ),
    Indicator(
        "moved_out_total",
        "count",
        "people who left the community by marriage or with a new couple, cumulative",
        ("Moved out, cumulative", "累计迁出人口"),
        "detail",
    ),
    Indicator(
        "children_under_6", "count", RELOCATED_PEOPLE + ", aged under 6", ("Children under 6", "6岁以下儿童"), "detail"
    ),
    Indicator("share_aged_0_14", "share", "of " + RELOCATED_PEOPLE, ("Aged 0-14", "0-14岁比例"), "detail"),
    Indicator("share_aged_60_plus", "share", "of " + RELOCATED_PEOPLE, ("Aged 60+", "60岁及以上比例"), "detail"),
    Indicator("share_aged_65_plus", "share", "of " + RELOCATED_PEOPLE, ("Aged 65+", "65岁及以上比例"), "detail"),
    Indicator(
        "dependency_ratio",
        "index",
        "people aged under 16 or over 60 per person aged 16-60, relocated",
        ("Dependency ratio", "抚养比"),
        "summary",
    ),
    Indicator(
        "overcrowded_households",
        "count",
        "relocated households in the community with more people than their flat was allocated for",
        ("Overcrowded flats", "住房拥挤户数"),
        "detail",
    ),
    Indicator(
        "grandparent_carers",
        "count",
        "households whose carer is past working age (a grandparent), in the community",
        ("Grandparents caring", "祖辈照料户数"),
        "detail",
    ),
    Indicator(
        "women_share_out_of_county",
        "share",
        "of relocated out-of-county workers in the community, women",
        ("Women among out-of-county workers", "县外务工者中女性比例"),
        "summary",
    ),
    Indicator(
        "mean_age_out_of_county",
        "years",
        "mean age of relocated out-of-county workers in the community",
        ("Mean age of out-of-county workers", "县外务工者平均年龄"),
        "detail",
    ),
    Indicator(
        "share_over_50_out_of_county",
        "share",
        "of relocated out-of-county workers in the community, aged over 50",
        ("Out-of-county workers over 50", "县外务工者中50岁以上比例"),
        "detail",
    ),
    Indicator(
        "mean_age_local_nonfarm",
        "years",
        "mean age of relocated workers in local industry, services, workshops and public-welfare posts",
        ("Mean age of local non-farm workers", "本地非农务工者平均年龄"),
        "detail",
    ),
    Indicator(
        "age_gap_local_nonfarm_minus_out_of_county",
        "years",
        "mean age of local non-farm workers minus that of out-of-county workers",
        ("Age gap, local non-farm minus out-of-county", "本地非农与县外务工者年龄差"),
        "detail",
    ),
)

# By arrival wave: households one, two, ... years after their move at the survey date.
COHORTS = tuple(f"wave_{k + 1}" for k in range(6))
COHORT_KEYS = ("households", "poverty_rate", "income_per_capita_mean", "employment_rate", "share_out_of_county")
_COHORT_KIND = {"households": "count", "poverty_rate": "share", "income_per_capita_mean": "yuan"}
for _k, _cohort in enumerate(COHORTS):
    for _key in COHORT_KEYS:
        _base = None if _key == "households" else INDICATORS[_key]
        _en = _base.label[0] if _base else "Households"
        _zh = _base.label[1] if _base else "户数"
        INDICATORS.declare(
            Indicator(
                f"by_arrival.{_cohort}.{_key}",
                _COHORT_KIND.get(_key, "share"),
                f"{_base.unit if _base else 'relocated households in the model'}, arrival wave {_k + 1}",
                (f"{_en}, arrival wave {_k + 1}", f"{_zh}（第{_k + 1}批搬迁）"),
                "detail",
            )
        )

BREAKDOWNS: dict[str, tuple[str, ...]] = {"by_age_group": AGE_GROUPS, "by_education": EDUCATION_NAMES}
GROUP_LABELS: dict[str, tuple[str, str]] = {
    "16-29": ("aged 16-29", "16-29岁"),
    "30-44": ("aged 30-44", "30-44岁"),
    "45+": ("aged 45+", "45岁及以上"),
    "primary_or_less": ("primary school or less", "小学及以下"),
    "junior_middle": ("junior middle school", "初中"),
    "senior_high": ("senior high school", "高中"),
    "college": ("college", "大专及以上"),
}
for _block, _groups in BREAKDOWNS.items():
    for _group in _groups:
        _en, _zh = GROUP_LABELS[_group]
        INDICATORS.declare(
            *(
                Indicator(
                    f"{_block}.{_group}.{s.name}",
                    "share",
                    f"{s.unit}, {_en}",
                    (f"{s.label[0]}, {_en}", f"{s.label[1]}（{_zh}）"),
                    "detail",
                )
                for s in SHARE_INDICATORS
            )
        )


def employment_shares(counts: np.ndarray, out_industry: np.ndarray) -> dict[str, np.ndarray]:
    """Shares per group from option counts.

    Args:
        counts: (groups, N_OPTIONS) labour-force members by option.
        out_industry: (groups,) out-of-county workers in industry (the rest are in services).

    Returns:
        Each key of `SHARE_KEYS` -> (groups,) array; NaN where a group has nobody to share over.
    """
    counts = np.asarray(counts, dtype=float)
    labour = counts.sum(axis=1)
    employed = labour - counts[:, Option.NOT_WORKING]
    out = counts[:, Option.OUT_OF_COUNTY]
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_emp = np.where(employed > 0, 1.0 / employed, np.nan)
        inv_lab = np.where(labour > 0, 1.0 / labour, np.nan)
    local_industry = counts[:, Option.LOCAL_INDUSTRY] + counts[:, Option.WORKSHOP]
    local_services = counts[:, Option.LOCAL_SERVICES] + counts[:, Option.PUBLIC_WELFARE]
    return {
        "employment_rate": employed * inv_lab,
        "share_agriculture": counts[:, Option.FARMING_ORIGIN] * inv_emp,
        "share_industry": (local_industry + out_industry) * inv_emp,
        "share_services": (local_services + out - out_industry) * inv_emp,
        "share_part_time": counts[:, Option.PART_TIME] * inv_emp,
        "share_public_welfare": counts[:, Option.PUBLIC_WELFARE] * inv_emp,
        "share_workshop": counts[:, Option.WORKSHOP] * inv_emp,
        "share_local": (employed - out) * inv_emp,
        "share_out_of_county": out * inv_emp,
        "share_not_working": counts[:, Option.NOT_WORKING] * inv_lab,
        "share_local_industry": local_industry * inv_emp,
        "share_local_services": local_services * inv_emp,
    }


def grouped_counts(
    group: np.ndarray, n_groups: int, option: np.ndarray, out_industry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Option counts and out-of-county industry counts per group (one bincount each)."""
    counts = np.bincount(group * N_OPTIONS + option, minlength=n_groups * N_OPTIONS).reshape(n_groups, N_OPTIONS)
    ind = np.bincount(group, weights=out_industry & (option == Option.OUT_OF_COUNTY), minlength=n_groups)
    return counts, ind


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of `values` where each value counts `weights` times (persons per household):
    the smallest value at which the weights counted in ascending order reach half the total.

    Found by weighted quickselect (partition around the middle element, keep the side that
    holds the half-way weight), O(n) instead of a full sort's O(n log n): it is computed
    every month over all households.
    """
    if values.size == 0:
        return float("nan")
    v, w = np.asarray(values), np.asarray(weights, dtype=float)
    target = 0.5 * w.sum()
    while v.size > 32:
        k = v.size // 2
        idx = np.argpartition(v, k)
        lower, pivot = idx[:k], idx[k]
        below = w[lower].sum()
        if below >= target:
            v, w = v[lower], w[lower]
        elif below + w[pivot] >= target:
            return float(v[pivot])
        else:
            target -= below + w[pivot]
            v, w = v[idx[k + 1 :]], w[idx[k + 1 :]]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][min(np.searchsorted(cum, target), v.size - 1)])


def group_breakdown(
    group: np.ndarray, names: tuple[str, ...], option: np.ndarray, out_industry: np.ndarray
) -> dict[str, dict[str, float]]:
    """Employment shares per named group, e.g. by age group or education level."""
    counts, ind = grouped_counts(group, len(names), option, out_industry)
    shares = employment_shares(counts, ind)
    return {name: {key: float(shares[key][g]) for key in SHARE_KEYS} for g, name in enumerate(names)}


def flatten(indicators: dict) -> dict[str, float]:
    """Flat `by_age_group.16-29.share_local`-style keys for tables and data collection."""
    flat: dict[str, float] = {}
    for key, value in indicators.items():
        if isinstance(value, dict):
            for sub, inner in flatten(value).items():
                flat[f"{key}.{sub}"] = inner
        else:
            flat[key] = value
    return flat
