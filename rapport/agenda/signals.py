"""Hooks the agenda offers to the apps above it.

`morning` is sent by the morning job with the workspace and the day, before
the day's agenda is stored: work that the agenda's reads rely on but that
belongs to another app (win-back refits its lapse model and the clients'
rhythms) runs then, and only then.
"""

from django.dispatch import Signal

morning = Signal()  # workspace, on (date)
