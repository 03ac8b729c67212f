"""The win-back view: lapsed and at-risk clients, what they are worth, and
what came of each win-back call; the same list as CSV. And the one-click
steps of a win-back call and of a service recovery, from their agenda items."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from rapport.agenda.engine import fill_scripts
from rapport.agenda.models import Action
from rapport.agenda.views import get_item, item_form, item_response
from rapport.clients import actions as clients
from rapport.clients.models import Issue
from rapport.outreach.models import Outcome
from rapport.winback import actions, report
from rapport.winback.forms import FixForm, NotFixedForm, ReactivationForm, ResolveForm
from rapport.winback.recovery import Step
from rapport.workspaces.access import get_in_workspace, work_form_required, work_required

PAGE_SIZE = 50


def _choices(request) -> tuple[str, str]:
    show = request.GET.get("show") or "all"
    sort = request.GET.get("sort") or "revenue"
    return (
        show if show in report.SHOW else "all",
        sort if sort in report.SORTS else "revenue",
    )


@work_required
def winback(request):
    workspace = request.workspace
    show, sort = _choices(request)
    # The stored figures of the day, read a page at a time (report.read).
    found = report.read(workspace, show=show, sort=sort)
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


@work_required
def export(request):
    workspace = request.workspace
    show, sort = _choices(request)
    found = report.read(workspace, show=show, sort=sort)
    rows = list(found.rows)
    report.fill_contacts(workspace, rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # The slug is [a-z0-9-] only: safe in the header as it is.
    filename = f"winback-{workspace.slug}-{show}-{found.on.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    report.write_csv(rows, response)
    return response


def _step_form(request, item, data=None):
    """The form of a recovery item's next step (None: a button is enough)."""
    step = item.recovery[1]
    if step == Step.PLAN_FIX:
        return FixForm(data, workspace=request.workspace)
    if step == Step.FIX:
        return ResolveForm(data)
    if step == Step.CONFIRM:
        return NotFixedForm(data)
    return None


@work_form_required
@require_http_methods(["GET", "POST"])
def recover(request, pk):
    """The next step of a service recovery, from its agenda item: its form
    (GET), then the step recorded (POST)."""
    item = get_item(request, pk)
    if not item.recovery:
        raise Http404("This item is not a recovery.")
    template = "winback/recover.html"
    if request.method != "POST":
        form = _step_form(request, item)
        if form is None:
            raise Http404("This step needs no form.")
        return item_form(request, item, template, form)
    issue = get_in_workspace(
        Issue.objects.select_related("contact"), request.workspace, pk=item.recovery[0]
    )
    today = request.workspace.today()
    step = request.POST.get("step")
    if step == "acknowledge":
        clients.acknowledge_issue(issue, on=today)
        message = "Apology recorded. Next: plan the fix."
    elif step == "confirm":
        clients.confirm_issue(issue, on=today)
        message = f"Confirmed. Asks resume after {request.workspace.recovery_wait_days} days."
    elif step in ("plan", "resolve", "reopen"):
        form = {"plan": FixForm, "resolve": ResolveForm, "reopen": NotFixedForm}[step]
        form = (
            form(request.POST, workspace=request.workspace)
            if step == "plan"
            else form(request.POST)
        )
        if not form.is_valid():
            return item_form(request, item, template, form, status=422)
        data = form.cleaned_data
        if step == "plan":
            clients.plan_fix(
                issue, owner=data["owner"], due=data["due"], plan=data["plan"], on=today
            )
            message = f"Fix planned for {data['due']}."
        elif step == "resolve":
            clients.resolve_issue(issue, on=today, resolution=data["resolution"])
            message = "Resolved. Next: ask them whether it is fixed for them."
        else:
            clients.reopen_issue(issue, words=data["words"])
            message = "Reopened: it is not fixed yet."
    else:
        raise Http404("Unknown step.")
    return item_response(request, item, message)


@work_form_required
@require_http_methods(["GET", "POST"])
def reactivation(request, pk):
    """What came of a win-back call, from its agenda item: the form (GET),
    then the outcome in one step (POST)."""
    item = get_item(request, pk)
    if item.action != Action.REACTIVATE:
        raise Http404("This item is not a win-back call.")
    template = "winback/reactivation.html"
    today = request.workspace.today()
    if request.method != "POST":
        return item_form(request, item, template, ReactivationForm(today=today))
    form = ReactivationForm(request.POST, today=today)
    if not form.is_valid():
        return item_form(request, item, template, form, status=422)
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
