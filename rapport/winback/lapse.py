"""The workspace's lapse model: BG/NBD (Fader, Hardie & Lee 2005), fitted on
its own purchase history each morning, scoring every client at once.

The per-client history (x repeat purchase days, t_x the last, T the age, in
weeks) comes from the same one-row-per-contact pass the agenda engine makes,
so fitting and scoring add milliseconds to the morning, not another pass
over the purchases. Workspaces too small to fit, and clients with fewer than
three purchase days, fall back to rhythms (see agenda.engine.lapse_screen).
"""

import datetime as dt
import logging

import numpy as np

from rapport.lib import bgnbd

log = logging.getLogger(__name__)

# Fitting a BG/NBD on a few dozen clients says more about chance than about
# them: below this many clients with a repeat purchase, no model.
MIN_REPEAT_CUSTOMERS = 40
# Below this chance of still being a client, a regular client is lapsed.
P_ALIVE_THRESHOLD = 0.5
# A lapsed client's last chance: the model is refitted at least this often.
WEEK = 7.0


def histories(purchase_days, first, last, today: float):
    """(x, t_x, T) in weeks from per-contact counts and first/last day numbers;
    rows without purchases are dropped (mask returned)."""
    bought = purchase_days >= 1
    x = np.where(bought, purchase_days - 1, 0.0)
    t_x = np.where(bought, (last - first) / WEEK, 0.0)
    T = np.where(bought, (today - first) / WEEK, 0.0)
    return bought, x, t_x, T


def fit(workspace, purchase_days, first, last, today: float, on: dt.date) -> dict:
    """Fit, store on the workspace, and return the stored description."""
    bought, x, t_x, T = histories(purchase_days, first, last, today)
    repeaters = int((x[bought] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        model = {
            "fallback": f"{repeaters} clients with a repeat purchase; "
            f"{MIN_REPEAT_CUSTOMERS} are needed to fit",
            "fitted_on": on.isoformat(),
        }
    else:
        result = bgnbd.fit(x[bought], t_x[bought], T[bought])
        if result.fallback:
            model = {"fallback": result.reason, "fitted_on": on.isoformat()}
        else:
            model = {
                "r": result.r,
                "alpha": result.alpha,
                "a": result.a,
                "b": result.b,
                "log_likelihood": result.log_likelihood,
                "customers": int(bought.sum()),
                "fitted_on": on.isoformat(),
            }
    from rapport.workspaces.models import Workspace

    Workspace.objects.filter(pk=workspace.pk).update(lapse_model=model)
    workspace.lapse_model = model
    return model


def params(workspace) -> bgnbd.BgNbdParams | None:
    model = workspace.lapse_model or {}
    if "r" not in model:
        return None
    return bgnbd.BgNbdParams(model["r"], model["alpha"], model["a"], model["b"])


def score(workspace, purchase_days, first, last, today: float, horizon_weeks: float = 52.0):
    """P(alive) and expected purchase days in the next year, per contact; NaN
    where there is no model or fewer than three purchase days."""
    n = len(purchase_days)
    p_alive = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    model = params(workspace)
    if model is None or n == 0:
        return p_alive, expected
    regular = purchase_days >= 3
    if regular.any():
        _, x, t_x, T = histories(purchase_days[regular], first[regular], last[regular], today)
        scores = bgnbd.score(model, horizon_weeks, x, t_x, T)
        p_alive[regular] = scores.p_alive
        expected[regular] = scores.expected_purchases
    return p_alive, expected
