"""Hooks the record offers to the layers above it, which it knows nothing of.

`facts_changed` is sent once per outermost change (actions.changing) with the
workspace and the contacts whose facts changed (None: anyone's); the agenda
listens and refreshes what it stores.
"""

from django.dispatch import Signal

facts_changed = Signal()  # workspace, contact_ids (list[int] | None)
