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


N_OPTIONS = len(Option)
OPTION_NAMES = tuple(o.name.lower() for o in Option)
CAPPED = (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE)
LOCAL_NON_FARM = (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE)
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
