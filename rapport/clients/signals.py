"""Hooks the record offers to the layers above it, which it knows nothing of
(they import from here; this module imports nothing of theirs).

- `facts_changed` is sent once per outermost change (actions.changing) with
  the workspace and the contacts whose facts changed (None: anyone's); the
  agenda listens and refreshes what it stores.
- `promoted` is sent by `promote` after automatic promotions, inside the
  change's transaction: sender=workspace, changes=[(contact_id, from_stage,
  to_stage, reason)]; advocacy listens (a referred friend who became a client
  wins their referral).
"""

from django.dispatch import Signal

facts_changed = Signal()  # workspace, contact_ids (list[int] | None)
promoted = Signal()
