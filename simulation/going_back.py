"""Going back to the origin (返迁): which relocated households leave the community each month.

A household's monthly chance is

    base_rate x (1 - integration) x income factor x demolition factor x land pull x policy factors

- integration (0-1): its economic part (work near home) always; with the ties submodel on,
  also its bridging ties and ties to long-standing residents (docs/MODEL.md 7.7). Ties change
  the rate; they do not gate it;
- income factor: 1 if per-capita income net of the costs of living in town is below
  `low_income_yuan`, else `higher_income_factor`;
- demolition factor: `after_demolition_factor` once the old house is demolished (going
  back then means rebuilding);
- land pull: 1 + `land_pull` x (land still held, mu per person) / the reference land per
  person: land at the origin is a reason to go back (002, 000: orchards and fields still
  farmed), and land rented out no longer is (the origin-resources policy);
- policy factors: from the policies' `going_back_factor` hooks.

Going back is permanent in the model; the household's members leave work in the community.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scenarios.schema import Scenario


def land_pull_factor(land_mu_per_person: np.ndarray, scenario: Scenario) -> np.ndarray:
    """How much land still held at the origin raises the chance of going back."""
    reference = scenario.origin.reference_land_mu_per_person
    return 1.0 + scenario.return_to_origin.land_pull * np.asarray(land_mu_per_person) / reference


def going_back_chance(
    scenario: Scenario,
    integration: np.ndarray,
    net_income_per_capita: np.ndarray,
    demolished: np.ndarray,
    land_mu_per_person: np.ndarray,
    policy_factor: np.ndarray,
) -> np.ndarray:
    """Monthly chance of going back for each household (see the module docstring)."""
    r = scenario.return_to_origin
    income = np.where(net_income_per_capita < r.low_income_yuan, 1.0, r.higher_income_factor)
    demolition = np.where(demolished, r.after_demolition_factor, 1.0)
    chance = r.base_rate * (1.0 - integration) * income * demolition
    return np.clip(chance * land_pull_factor(land_mu_per_person, scenario) * policy_factor, 0.0, 1.0)
