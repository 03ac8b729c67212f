"""Hooks the record offers to the layers above it, which it knows nothing of
(they import from here; this module imports nothing of theirs).

- `facts_changed` is sent once per outermost change (actions.changing) with
  the workspace and the contacts whose facts changed (None: anyone's); the
  agenda listens and refreshes what it stores.
- `promoted` is sent by `promote` after automatic promotions, inside the
  change's transaction: sender=workspace, changes=[(contact_id, from_stage,
  to_stage, reason)]; advocacy listens (a referred friend who became a client
  wins their referral).
- `text_read` is sent (sender=Activity) with a note's `text` and its
  `workspace` when an activity is built: a receiver (the agenda's reader)
  returns the reading as a dict — {"findings": [{"kind", "evidence",
  "confidence", "confident", "source"}]} — or None. The record stores it
  and acts on the confident findings only; it never imports the reader.
"""

from django.dispatch import Signal

facts_changed = Signal()  # workspace, contact_ids (list[int] | None)
promoted = Signal()
text_read = Signal()  # text, workspace → a reading dict or None
