"""Hooks a workspace offers to the apps above it.

`settings_changed` is sent when a workspace's settings are saved (readiness
threshold, cooldowns, windows…): the agenda listens and rebuilds with them.
"""

from django.dispatch import Signal

settings_changed = Signal()  # workspace
