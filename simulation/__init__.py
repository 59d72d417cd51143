"""Agent-based model of relocation for poverty alleviation and its follow-up support."""

from .model import Household, ResettlementModel
from .options import Option

__all__ = ["Household", "Option", "ResettlementModel"]
