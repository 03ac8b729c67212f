"""Hooks through which the layers above add to the record's own work.

The record knows nothing of the agenda, the asks or the referrals: the data
flows up (DESIGN.md), and so do the imports. Yet the contact page shows the
agenda's view and the asks, the timeline lists referrals, and the ladder
counts testimonials. So each app above registers what it adds here, in its
AppConfig.ready(), and the record calls whatever was registered without
knowing who registered it — the same arrangement as Django's own signals and
admin registry.
"""

from collections.abc import Callable, Iterable
from typing import Any

# (contact) -> timeline entries (rapport.clients.timeline.Entry).
TimelineSource = Callable[[Any], Iterable[Any]]
# (workspace, contact ids) -> {LadderFacts field: {contact id: count}}.
LadderEvidence = Callable[[Any, list[int]], dict[str, dict[int, int]]]
# (request, contact, forms given back after a failed post) -> template context.
ContactSection = Callable[[Any, Any, dict], dict]
# (workspace, day, contact ids or None for all) -> {contact id: moment kinds}.
MomentReader = Callable[[Any, Any, Any], dict[int, list[str]]]

_timeline_sources: dict[str, TimelineSource] = {}
_ladder_evidence: dict[str, LadderEvidence] = {}
_contact_sections: dict[str, ContactSection] = {}
_moment_readers: dict[str, MomentReader] = {}


def add_timeline_source(name: str, source: TimelineSource) -> None:
    _timeline_sources[name] = source


def add_ladder_evidence(name: str, evidence: LadderEvidence) -> None:
    _ladder_evidence[name] = evidence


def add_contact_section(name: str, section: ContactSection) -> None:
    _contact_sections[name] = section


def add_moment_reader(name: str, reader: MomentReader) -> None:
    _moment_readers[name] = reader


def moments(workspace, on, contact_ids=None) -> dict[int, list[str]]:
    """The kinds of moment each contact has on the day, from every reader
    registered (the agenda's): {} when none is."""
    found: dict[int, list[str]] = {}
    for reader in _moment_readers.values():
        for pk, kinds in reader(workspace, on, contact_ids).items():
            found.setdefault(pk, []).extend(kinds)
    return found


def timeline_sources() -> list[TimelineSource]:
    return list(_timeline_sources.values())


def ladder_evidence() -> list[LadderEvidence]:
    return list(_ladder_evidence.values())


def contact_sections() -> list[ContactSection]:
    return list(_contact_sections.values())
