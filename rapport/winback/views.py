"""The win-back view: lapsed and at-risk clients, what they are worth, and
what came of each win-back call; the same list as CSV. And the one-click
steps of a win-back call and of a service recovery, from their agenda items."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from rapport.agenda.engine import fill_scripts
from rapport.agenda.models import Action
from rapport.agenda.views import get_item, item_response
from rapport.clients import actions as clients
from rapport.clients.models import Issue
from rapport.kinds import Channel
from rapport.outreach.models import Outcome
from rapport.winback import actions, report
from rapport.workspaces.access import get_in_workspace, workspace_required

PAGE_SIZE = 50


def _choices(request) -> tuple[str, str]:
    show = request.GET.get("show") or "all"
    sort = request.GET.get("sort") or "revenue"
    return (
        show if show in report.SHOW else "all",
        sort if sort in report.SORTS else "revenue",
    )


@workspace_required
def winback(request):
    workspace = request.workspace
    show, sort = _choices(request)
    found = report.build(workspace, show=show, sort=sort)
    page = Paginator(found.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    report.fill_contacts(workspace, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "report": found,
        "page": page,
        "show": show,
        "sort": sort,
        "shows": report.SHOW.items(),
        "sorts": report.SORTS.items(),
        "query": query.urlencode(),
        "at_risk_below": round(report.AT_RISK_BELOW * 100),
        "assumed_lapsed": round(report.ASSUMED_ALIVE_LAPSED * 100),
        "assumed_at_risk": round(report.ASSUMED_ALIVE_AT_RISK * 100),
        "nav": "winback",
    }
    template = "winback/winback.html#results" if request.htmx else "winback/winback.html"
    return TemplateResponse(request, template, context)


@workspace_required
def export(request):
    workspace = request.workspace
    show, sort = _choices(request)
    found = report.build(workspace, show=show, sort=sort)
    report.fill_contacts(workspace, found.rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # The slug is [a-z0-9-] only: safe in the header as it is.
    filename = f"winback-{workspace.slug}-{show}-{found.on.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    report.write_csv(found.rows, response)
    return response


class FixForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False)
    due = forms.DateField()
    plan = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(
            memberships__workspace=workspace
        )


@workspace_required
@require_POST
def recover(request, pk):
    """The next step of a service recovery, from its agenda item."""
    item = get_item(request, pk)
    if not item.recovery:
        raise Http404("This item is not a recovery.")
    issue = get_in_workspace(
        Issue.objects.select_related("contact"), request.workspace, pk=item.recovery[0]
    )
    today = request.workspace.today()
    step = request.POST.get("step")
    if step == "acknowledge":
        clients.acknowledge_issue(issue, on=today)
        message = "Apology recorded. Next: plan the fix."
    elif step == "plan":
        form = FixForm(request.POST, workspace=request.workspace)
        if not form.is_valid():
            messages.error(request, "Plan the fix with a due date.")
            return redirect("agenda:today")
        data = form.cleaned_data
        clients.plan_fix(issue, owner=data["owner"], due=data["due"], plan=data["plan"], on=today)
        message = f"Fix planned for {data['due']}."
    elif step == "resolve":
        clients.resolve_issue(issue, on=today, resolution=request.POST.get("resolution", "")[:500])
        message = "Resolved. Next: ask them whether it is fixed for them."
    elif step == "confirm":
        clients.confirm_issue(issue, on=today)
        message = f"Confirmed. Asks resume after {request.workspace.recovery_wait_days} days."
    elif step == "reopen":
        clients.reopen_issue(issue, words=request.POST.get("words", "")[:1000])
        message = "Reopened: it is not fixed yet."
    else:
        raise Http404("Unknown step.")
    return item_response(request, item, message)


class ReactivationForm(forms.Form):
    """What came of a win-back call (actions.record_reactivation)."""

    outcome = forms.ChoiceField(
        choices=[
            (Outcome.YES, "Coming back"),
            (Outcome.LATER, "Not now"),
            (Outcome.DECLINED, "Not interested"),
            (Outcome.PROBLEM, "A problem came up"),
        ]
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    booked_on = forms.DateField(required=False)
    until = forms.DateField(required=False)
    words = forms.CharField(required=False, max_length=1000)
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == Outcome.LATER:
            until = data.get("until")
            if not until:
                self.add_error("until", "On which day should we call again?")
            elif until <= self.today:
                self.add_error("until", "Choose a day after today.")
        booked_on = data.get("booked_on")
        if outcome == Outcome.YES and booked_on and booked_on < self.today:
            self.add_error("booked_on", "The booking cannot be in the past.")
        if outcome == Outcome.PROBLEM and not (data.get("words") or "").strip():
            self.add_error("words", "What did they say? Their words open the issue.")
        return data


@workspace_required
@require_POST
def reactivation(request, pk):
    """One-click outcome of a win-back call, from its agenda item."""
    item = get_item(request, pk)
    if item.action != Action.REACTIVATE:
        raise Http404("This item is not a win-back call.")
    form = ReactivationForm(request.POST, today=request.workspace.today())
    if not form.is_valid():
        return item_response(request, item, "", form=form, status=422)
    data = form.cleaned_data
    outcome = data["outcome"]
    until = {Outcome.YES: data.get("booked_on"), Outcome.LATER: data.get("until")}.get(outcome)
    fill_scripts(request.workspace, [item])
    actions.record_reactivation(
        item,
        outcome,
        by=request.user,
        channel=data["channel"],
        script=item.script,
        until=until,
        words=data["words"],
        note=data["note"],
    )
    name = item.contact.first_name or item.contact.name
    message = {
        Outcome.YES: f"Recorded: {name} is coming back" + (f" on {until}." if until else "."),
        Outcome.LATER: f"Recorded: not now. {name} is back on the agenda on {until}.",
        Outcome.DECLINED: f"Recorded: {name} is not interested. No ask for a while.",
        Outcome.PROBLEM: "Issue opened with their words. Next: apologise — "
        "the recovery is on the agenda, and no ask until it is put right.",
    }[outcome]
    return item_response(request, item, message)
