"""The workspace's lapse model: BG/NBD (Fader, Hardie & Lee 2005), fitted on
its own purchase history each morning, scoring every client at once.

The per-client history (x repeat purchase days, t_x the last, T the age, in
weeks) comes from the same one-row-per-contact pass the agenda engine makes,
so fitting and scoring add milliseconds to the morning, not another pass
over the purchases. Workspaces too small to fit, and clients with fewer than
three purchase days, fall back to rhythms (see winback.rules.screen).

Only the morning job fits (winback.actions.refit_lapse_model); every agenda,
for any day, scores with what was stored — a read never refits.
"""

import datetime as dt
import logging

from rapport.lib import bgnbd
from rapport.workspaces.models import Workspace

log = logging.getLogger(__name__)

# Fitting a BG/NBD on a few dozen clients says more about chance than about
# them: below this many clients with a repeat purchase, no model.
MIN_REPEAT_CUSTOMERS = 40


def fit(workspace, purchase_days, first, last, today: float, on: dt.date) -> dict:
    """Fit, store on the workspace, and return the stored description."""
    bought = purchase_days >= 1
    x, t_x, T = bgnbd.weekly_history(purchase_days[bought], first[bought], last[bought], today)
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        model = {
            "fallback": f"{repeaters} clients with a repeat purchase; "
            f"{MIN_REPEAT_CUSTOMERS} are needed to fit",
            "fitted_on": on.isoformat(),
        }
    else:
        result = bgnbd.fit(x, t_x, T)
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
    Workspace.objects.filter(pk=workspace.pk).update(lapse_model=model)
    workspace.lapse_model = model
    return model
