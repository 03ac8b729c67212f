import contextlib
import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from rapport.agenda import actions, engine
from rapport.agenda.forms import OutcomeForm, ScriptForm, SnoozeForm
from rapport.agenda.models import ASK_ACTIONS, Action, AgendaItem, Script
from rapport.agenda.scripts import DEFAULTS_BY_KEY, MERGE_FIELDS
from rapport.clients import actions as clients
from rapport.clients.models import Issue
from rapport.outreach.models import Channel, Outcome
from rapport.workspaces import audit
from rapport.workspaces.access import configure_required, get_in_workspace, work_required

TODAY_LIMIT = 50
# Items that are asks get the outcome buttons; the rest are done or snoozed.
OUTCOME_ACTIONS = {*ASK_ACTIONS, Action.UPFRONT_CONTRACT}


@work_required
def today(request):
    workspace = request.workspace
    actions.ensure_current(workspace)
    scope = request.GET.get("scope", "mine")
    items = AgendaItem.objects.in_workspace(workspace).select_related(
        "contact", "contact__organization"
    )
    if scope == "mine":
        items = items.for_user(request.user)
    action = request.GET.get("action")
    if action in Action.values:
        items = items.filter(action=action)
    total = items.count()
    show_all = request.GET.get("all") == "1"
    items = list(items if show_all else items[:TODAY_LIMIT])
    engine.fill_scripts(workspace, items)
    context = {
        "items": items,
        "total": total,
        "shown_all": show_all or total <= TODAY_LIMIT,
        "scope": scope,
        "action_filter": action,
        "actions": Action.choices,
        "today": workspace.today(),
        "outcome_actions": OUTCOME_ACTIONS,
        "members": get_user_model().objects.filter(memberships__workspace=workspace),
        "nav": "today",
    }
    return TemplateResponse(request, "agenda/today.html", context)


def _item(request, pk) -> AgendaItem:
    return get_in_workspace(
        AgendaItem.objects.select_related("contact", "contact__workspace"), request.workspace, pk=pk
    )


def _after(request, item, message, *, form=None, snooze_form=None, status=200):
    """htmx swaps the item card in place (a short confirmation, or the form
    with its errors); without JavaScript the Today page is shown again."""
    if form is None and snooze_form is None:
        messages.success(request, message)
    if request.htmx:
        engine.fill_scripts(request.workspace, [item])
        context = {
            "item": item,
            "done_message": message if form is None and snooze_form is None else "",
            "form": form,
            "snooze_form": snooze_form,
            "today": request.workspace.today(),
            "outcome_actions": OUTCOME_ACTIONS,
            "members": get_user_model().objects.filter(memberships__workspace=request.workspace),
        }
        return TemplateResponse(request, "agenda/today.html#item", context, status=status)
    if form is not None or snooze_form is not None:
        errors = (form or snooze_form).errors.as_text()
        messages.error(request, f"Not saved: {errors}")
    return redirect("agenda:today")


@work_required
@require_POST
def outcome(request, pk):
    item = _item(request, pk)
    if item.action not in OUTCOME_ACTIONS:
        raise Http404("This item is not an ask.")
    form = OutcomeForm(request.POST, today=request.workspace.today())
    if not form.is_valid():
        return _after(request, item, "", form=form, status=422)
    data = form.cleaned_data
    ask = actions.record_outcome(
        item,
        data["outcome"],
        by=request.user,
        channel=data["channel"],
        ask_after=data.get("ask_after"),
        names=data["people"],
        note=data["note"],
    )
    message = {
        Outcome.YES: "Recorded: they said yes.",
        Outcome.GAVE_NAMES: (
            f"Recorded: {len(data['people'])} new prospect(s) referred by {item.contact.name}."
        ),
        Outcome.LATER: f"Recorded: ask again on {data.get('ask_after')}.",
        Outcome.DECLINED: "Recorded: they declined. No ask for a while.",
    }.get(ask.outcome, "Recorded.")
    return _after(request, item, message)


class FixForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False)
    due = forms.DateField()
    plan = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(
            memberships__workspace=workspace
        )


@work_required
@require_POST
def recover(request, pk):
    """The next step of a service recovery, from its agenda item."""
    item = _item(request, pk)
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
    return _after(request, item, message)


@work_required
@require_POST
def done(request, pk):
    item = _item(request, pk)
    actions.mark_done(item, by=request.user, note=request.POST.get("note", "")[:500])
    return _after(request, item, "Done.")


@work_required
@require_POST
def snooze(request, pk):
    item = _item(request, pk)
    today = request.workspace.today()
    data = request.POST.copy()
    if data.get("days"):
        with contextlib.suppress(ValueError):  # a bad number: the form says so
            data["until"] = today + dt.timedelta(days=max(1, min(int(data["days"]), 365)))
    form = SnoozeForm(data, today=today)
    if not form.is_valid():
        return _after(request, item, "", snooze_form=form, status=422)
    actions.snooze(item, form.cleaned_data["until"], by=request.user)
    return _after(request, item, f"Snoozed until {form.cleaned_data['until']}.")


@configure_required
@require_POST
def rebuild(request):
    count = engine.refresh(request.workspace)
    messages.success(request, f"The agenda was rebuilt: {count} items.")
    return redirect("agenda:today")


@work_required
def scripts(request):
    own = dict(Script.objects.in_workspace(request.workspace).values_list("key", "body"))
    rows = [
        {"key": s.key, "title": s.title, "body": own.get(s.key, s.body), "custom": s.key in own}
        for s in DEFAULTS_BY_KEY.values()
    ]
    context = {"rows": rows, "nav": "settings", "section": "scripts"}
    return TemplateResponse(request, "agenda/scripts.html", context)


@configure_required
def script_edit(request, key):
    default = DEFAULTS_BY_KEY.get(key)
    if default is None:
        raise Http404("No such script.")
    own = Script.objects.in_workspace(request.workspace).filter(key=key).first()
    form = ScriptForm(request.POST or None, initial={"body": own.body if own else default.body})
    if request.method == "POST":
        if "reset" in request.POST:
            Script.objects.in_workspace(request.workspace).filter(key=key).delete()
            _script_changed(request, key, "reset")
            messages.success(request, f"“{default.title}” is back to the default wording.")
            return redirect("agenda:scripts")
        if form.is_valid():
            Script.objects.update_or_create(
                workspace=request.workspace,
                key=key,
                defaults={"body": form.cleaned_data["body"], "updated_by": request.user},
            )
            _script_changed(request, key, "edited")
            messages.success(request, f"“{default.title}” saved.")
            return redirect("agenda:scripts")
    context = {
        "form": form,
        "default": default,
        "custom": own is not None,
        "merge_fields": MERGE_FIELDS,
        "nav": "settings",
        "section": "scripts",
    }
    return TemplateResponse(request, "agenda/script_edit.html", context)


def _script_changed(request, key, change):
    audit.record(
        audit.Kind.SETTINGS_CHANGED,
        workspace=request.workspace,
        target=f"script:{key}",
        detail={"change": change},
        request=request,
    )


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


@work_required
@require_POST
def reactivation(request, pk):
    """One-click outcome of a win-back call, from its agenda item."""
    item = _item(request, pk)
    if item.action != Action.REACTIVATE:
        raise Http404("This item is not a win-back call.")
    form = ReactivationForm(request.POST, today=request.workspace.today())
    if not form.is_valid():
        return _after(request, item, "", form=form, status=422)
    data = form.cleaned_data
    outcome = data["outcome"]
    until = {Outcome.YES: data.get("booked_on"), Outcome.LATER: data.get("until")}.get(outcome)
    actions.record_reactivation(
        item,
        outcome,
        by=request.user,
        channel=data["channel"],
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
    return _after(request, item, message)
