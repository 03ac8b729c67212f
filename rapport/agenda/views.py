import contextlib
import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.agenda import actions, engine, store
from rapport.agenda.forms import ScriptForm, SnoozeForm
from rapport.agenda.models import ASK_ACTIONS, Action, AgendaItem, Script
from rapport.agenda.scripts import DEFAULTS_BY_KEY, MERGE_FIELDS
from rapport.agenda.today import last_asks, plan_day
from rapport.workspaces import audit
from rapport.workspaces.access import (
    configure_required,
    get_in_workspace,
    personal_required,
    work_form_required,
    work_required,
)

# Items that are asks get the outcome buttons; the rest are done or snoozed.
OUTCOME_ACTIONS = {*ASK_ACTIONS, Action.UPFRONT_CONTRACT}
# The first few scripts of the day are open: the words are the point.
OPEN_SCRIPTS = 3


def contact_section(request, contact, forms) -> dict:
    """The agenda's part of the contact page: readiness with its reasons, holds
    and moments, and the contact's items (registered with clients.hooks)."""
    items = list(contact.agenda_items.all())
    engine.fill_scripts(request.workspace, items)
    return {
        "view": engine.explain(contact, request.workspace.today()),
        "agenda_items": items,
        "outcome_actions": OUTCOME_ACTIONS,
    }


@work_required
def today(request):
    workspace = request.workspace
    actions.ensure_current(workspace)
    scope = request.GET.get("scope", "mine")
    action = request.GET.get("action")
    try:
        page = int(request.GET.get("page", 1))
    except ValueError:
        page = 1
    day = plan_day(
        workspace,
        request.user,
        capacity=request.membership.daily_capacity,
        scope=scope,
        action=action if action in Action.values else None,
        page=page,
    )
    opened = 0
    for group in day.groups:
        for item in group.items:
            item.open_script = day.page == 1 and opened < OPEN_SCRIPTS
            opened += 1
    context = {
        "day": day,
        "scope": scope,
        "action_filter": action,
        "actions": Action.choices,
        "today": workspace.today(),
        "outcome_actions": OUTCOME_ACTIONS,
        "nav": "today",
    }
    return TemplateResponse(request, "agenda/today.html", context)


class CapacityForm(forms.Form):
    daily_capacity = forms.IntegerField(min_value=1, max_value=500)


@personal_required
@require_POST
def capacity(request):
    form = CapacityForm(request.POST)
    if form.is_valid():
        actions.set_capacity(request.membership, form.cleaned_data["daily_capacity"])
        messages.success(request, f"Today shows {form.cleaned_data['daily_capacity']} actions.")
    else:
        messages.error(request, f"Not saved: {form.errors.as_text()}")
    return redirect("agenda:today")


def get_item(request, pk) -> AgendaItem:
    """The workspace's agenda item, or 404."""
    return get_in_workspace(
        AgendaItem.objects.select_related("contact", "contact__workspace"), request.workspace, pk=pk
    )


def item_response(request, item, message, *, snooze_form=None, status=200):
    """After an action on an item (here, or in outreach or winback): htmx
    swaps the item card in place (a short confirmation, or the snooze form
    with its errors); without JavaScript the Today page is shown again."""
    if snooze_form is None:
        messages.success(request, message)
    if request.htmx:
        engine.fill_scripts(request.workspace, [item])
        item.last_ask = last_asks(request.workspace, [item.contact_id]).get(item.contact_id)
        context = {
            "item": item,
            "done_message": message if snooze_form is None else "",
            "snooze_form": snooze_form,
            "today": request.workspace.today(),
            "outcome_actions": OUTCOME_ACTIONS,
        }
        return TemplateResponse(request, "agenda/today.html#item", context, status=status)
    if snooze_form is not None:
        messages.error(request, f"Not saved: {snooze_form.errors.as_text()}")
    return redirect("agenda:today")


def item_form(request, item, template: str, form, *, status=200):
    """An item's form (an outcome, a step): the partial for htmx, which swaps
    it into the card, or a page of its own without JavaScript."""
    context = {"item": item, "form": form, "today": request.workspace.today(), "nav": "today"}
    name = f"{template}#form" if request.htmx else template
    response = TemplateResponse(request, name, context, status=status)
    if request.htmx:
        # The form goes into the card's actions, and comes back there with
        # its errors (its own hx-target is the whole card, for success).
        response["HX-Retarget"] = f"#item-{item.pk} .item-actions"
        response["HX-Reswap"] = "innerHTML"
    return response


@work_required
@require_POST
def done(request, pk):
    item = get_item(request, pk)
    actions.mark_done(item, by=request.user, note=request.POST.get("note", "")[:500])
    return item_response(request, item, "Done.")


@work_form_required
@require_http_methods(["GET", "POST"])
def snooze(request, pk):
    """Put an item off: the choice of days (GET), then until when (POST)."""
    item = get_item(request, pk)
    today = request.workspace.today()
    if request.method != "POST":
        return item_form(request, item, "agenda/snooze.html", SnoozeForm(today=today))
    data = request.POST.copy()
    if data.get("days") and not data.get("until"):  # a day chosen wins over the list
        with contextlib.suppress(ValueError):  # a bad number: the form says so
            data["until"] = today + dt.timedelta(days=max(1, min(int(data["days"]), 365)))
    form = SnoozeForm(data, today=today)
    if not form.is_valid():
        return item_form(request, item, "agenda/snooze.html", form, status=422)
    actions.snooze(item, form.cleaned_data["until"], by=request.user)
    return item_response(request, item, f"Snoozed until {form.cleaned_data['until']}.")


@configure_required
@require_POST
def rebuild(request):
    count = store.refresh(request.workspace)
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
