"""Work options, sectors, places, education levels and age groups: the model's vocabulary."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Option(IntEnum):
    """What a working-age member does in a month."""

    NOT_WORKING = 0
    LOCAL_INDUSTRY = 1
    LOCAL_SERVICES = 2
    PUBLIC_WELFARE = 3
    FARMING_ORIGIN = 4
    PART_TIME = 5  # farming at the origin plus casual local non-farm work
    OUT_OF_COUNTY = 6
    WORKSHOP = 7  # a post in a poverty-alleviation workshop (扶贫车间) beside the community


N_OPTIONS = len(Option)
OPTION_NAMES = tuple(o.name.lower() for o in Option)
CAPPED = (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE, Option.WORKSHOP)
LOCAL_NON_FARM = (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE, Option.WORKSHOP)
NEAR_HOME = LOCAL_NON_FARM  # work a carer can combine with care at home (care services relieve these)
NON_FARM_SKILLED = (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.WORKSHOP, Option.OUT_OF_COUNTY)
ORIGIN_FARMING = (Option.FARMING_ORIGIN, Option.PART_TIME)
RELOCATION_ONLY = (Option.PUBLIC_WELFARE, Option.FARMING_ORIGIN, Option.PART_TIME)


def option_table(options: tuple[Option, ...]) -> np.ndarray:
    """Boolean lookup by option code: `table[option_array]` is a fast `isin`."""
    table = np.zeros(len(Option), dtype=bool)
    table[list(options)] = True
    return table


IS_CAPPED = option_table(CAPPED)
IS_LOCAL_NON_FARM = option_table(LOCAL_NON_FARM)
IS_ORIGIN_FARMING = option_table(ORIGIN_FARMING)
IS_NEAR_HOME = option_table(NEAR_HOME)
IS_NON_FARM_SKILLED = option_table(NON_FARM_SKILLED)


class Education(IntEnum):
    """Highest completed level; years of schooling in `SCHOOLING_YEARS`."""

    PRIMARY_OR_LESS = 0
    JUNIOR_MIDDLE = 1
    SENIOR_HIGH = 2
    COLLEGE = 3


EDUCATION_NAMES = tuple(e.name.lower() for e in Education)
SCHOOLING_YEARS = np.array([5.0, 9.0, 12.0, 15.0])

AGE_GROUPS = ("16-29", "30-44", "45+")
AGE_GROUP_EDGES = np.array([30, 45])


def age_group(age: np.ndarray) -> np.ndarray:
    """Index into `AGE_GROUPS` for each age."""
    return np.searchsorted(AGE_GROUP_EDGES, age, side="right")
