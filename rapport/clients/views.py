import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from rapport.clients import actions, hooks, search
from rapport.clients.forms import (
    ActivityForm,
    ContactFilterForm,
    ContactForm,
    DealForm,
    IssueForm,
    PermissionForm,
    PurchaseForm,
    RelationshipForm,
    ResolveIssueForm,
    StageForm,
)
from rapport.clients.models import Contact, Deal, Issue, Tag
from rapport.clients.timeline import timeline
from rapport.workspaces.access import get_in_workspace, work_required

PAGE_SIZE = 50


@work_required
def contact_list(request):
    workspace = request.workspace
    form = ContactFilterForm(request.GET or None)
    contacts = (
        Contact.objects.in_workspace(workspace)
        .active()
        .select_related("organization")
        .annotate(
            has_open_issue=Exists(
                Issue.objects.filter(contact=OuterRef("pk"), status__in=Issue.BLOCKING_STATUSES)
            )
        )
    )
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("q"):
        # Through the search index, not a LIKE scan of every contact.
        contacts = search.search(contacts, workspace, filters["q"])
    if filters.get("stage"):
        contacts = contacts.filter(stage=filters["stage"])
    if filters.get("readiness") == "ready":
        contacts = contacts.filter(readiness__gte=workspace.readiness_threshold)
    elif filters.get("readiness") == "not_ready":
        contacts = contacts.filter(readiness__lt=workspace.readiness_threshold)
    if filters.get("open_issue") == "yes":
        contacts = contacts.filter(has_open_issue=True)
    elif filters.get("open_issue") == "no":
        contacts = contacts.filter(has_open_issue=False)
    today = workspace.today()
    if filters.get("moment") == "yes":
        # Only this filter needs everyone's moments; they come from the rows
        # inside the freshness windows (recent facts), not from all history.
        fresh = hooks.moments(workspace, today)
        contacts = contacts.filter(
            pk__in=[pk for pk, kinds in fresh.items() if any(k != "complaint" for k in kinds)]
        )
    order = {
        "name": ["last_name", "first_name"],
        "-readiness": ["-readiness", "last_name"],
        "-created_at": ["-created_at"],
    }.get(filters.get("sort") or "name")
    page = Paginator(contacts.order_by(*order, "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    # The moments column: for the fifty contacts shown, not the workspace.
    shown = hooks.moments(workspace, today, [c.pk for c in page]) if page else {}
    for contact in page:
        contact.moment_kinds = sorted(set(shown.get(contact.pk, [])))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "nav": "contacts"}
    template = "clients/contact_list.html#results" if request.htmx else "clients/contact_list.html"
    return TemplateResponse(request, template, context)


def _save_contact(form, workspace, by):
    data = {
        k: v for k, v in form.cleaned_data.items() if k not in ("organization_name", "tag_names")
    }
    with actions.changing():
        if form.instance.pk:
            contact = form.save(commit=False)
            contact.organization = form.organization()
            contact.save()
            # Every change of consent, by hand too, goes into the consent log.
            for channel in ("email", "sms"):
                if f"{channel}_ok" in form.changed_data:
                    granted = getattr(contact, f"{channel}_ok")
                    words = actions.CONSENT_SOURCE_WORDS[channel]
                    actions.record_consent(
                        contact,
                        channel,
                        granted,
                        f"{words}: {'ticked' if granted else 'unticked'} by "
                        f"{by.email or by.username}",
                        "app",
                    )
            actions.facts_changed(workspace, [contact.pk])
        else:
            data["organization"] = form.organization()
            contact = actions.create_contact(workspace, by=by, **data)
            if data.get("relationship"):
                actions.set_relationship(contact, data["relationship"], workspace.today())
        tags = [
            Tag.objects.get_or_create(workspace=workspace, name=name)[0] for name in form.tag_list()
        ]
        contact.tags.set(tags)
    return contact


@work_required
def contact_create(request):
    form = ContactForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        contact = _save_contact(form, request.workspace, request.user)
        messages.success(request, f"{contact.name} added.")
        return redirect("clients:detail", pk=contact.pk)
    return TemplateResponse(request, "clients/contact_form.html", {"form": form, "nav": "contacts"})


@work_required
def contact_edit(request, pk):
    contact = get_in_workspace(Contact.objects.active(), request.workspace, pk=pk)
    form = ContactForm(request.POST or None, instance=contact, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        relationship_changed = "relationship" in form.changed_data
        contact = _save_contact(form, request.workspace, request.user)
        if relationship_changed:
            actions.set_relationship(contact, contact.relationship, request.workspace.today())
        messages.success(request, "Saved.")
        return redirect("clients:detail", pk=contact.pk)
    context = {"form": form, "contact": contact, "nav": "contacts"}
    return TemplateResponse(request, "clients/contact_form.html", context)


def render_contact(request, contact, status=200, **forms):
    """The contact page, or just its body for an htmx swap."""
    workspace = request.workspace
    today = workspace.today()
    entries, more = timeline(contact, limit=None if request.GET.get("all") else 60)
    context = {
        "contact": contact,
        "entries": entries,
        "more": more,
        "today": today,
        # Open ones, and fixed ones still waiting for the client's word.
        "open_issues": contact.issues.filter(
            Q(status__in=Issue.BLOCKING_STATUSES)
            | Q(
                status=Issue.Status.RESOLVED,
                resolved_on__gt=today - dt.timedelta(days=workspace.recovery_confirm_days),
            )
        ),
        "permissions": contact.permissions.filter(ask_after__gte=today),
        "deals": contact.deals.all(),
        "activity_form": forms.get("activity_form") or ActivityForm(initial={"occurred_on": today}),
        "purchase_form": forms.get("purchase_form") or PurchaseForm(initial={"date": today}),
        "issue_form": forms.get("issue_form") or IssueForm(initial={"opened_on": today}),
        "permission_form": forms.get("permission_form") or PermissionForm(initial={"kind": "both"}),
        "stage_form": StageForm(initial={"stage": contact.stage}),
        "relationship_form": RelationshipForm(initial={"relationship": contact.relationship}),
        "deal_form": forms.get("deal_form") or DealForm(),
        "resolve_form": ResolveIssueForm(),
        "members": get_user_model().objects.filter(memberships__workspace=workspace),
        "nav": "contacts",
    }
    # The agenda's view of the contact, their asks and testimonials: added by
    # the apps above the record (clients.hooks).
    for section in hooks.contact_sections():
        context.update(section(request, contact, forms))
    template = "clients/contact_detail.html#body" if request.htmx else "clients/contact_detail.html"
    return TemplateResponse(request, template, context, status=status)


@work_required
def contact_detail(request, pk):
    contact = get_in_workspace(
        Contact.objects.active().select_related("organization", "referred_by", "owner"),
        request.workspace,
        pk=pk,
    )
    return render_contact(request, contact)


def contact_done(request, contact, message):
    if message:
        messages.success(request, message)
    if request.htmx:
        contact.refresh_from_db()
        return render_contact(request, contact)
    return redirect("clients:detail", pk=contact.pk)


def contact_post(view):
    """POST-only contact sub-action: fetch the contact in the workspace first."""

    @work_required
    @require_POST
    def wrapper(request, pk):
        contact = get_in_workspace(
            Contact.objects.active().select_related("organization", "referred_by", "owner"),
            request.workspace,
            pk=pk,
        )
        return view(request, contact)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@contact_post
def log_activity(request, contact):
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return render_contact(request, contact, status=422, activity_form=form)
    activity = actions.log_activity(contact, by=request.user, **form.cleaned_data)
    found = activity.moment_kinds
    note = f" Moments: {', '.join(k.replace('_', ' ') for k in found)}." if found else ""
    if activity.complaint:
        note += " It reads like a complaint: consider opening an issue."
    return contact_done(request, contact, f"Activity logged.{note}")


@contact_post
def add_purchase(request, contact):
    form = PurchaseForm(request.POST)
    if not form.is_valid():
        return render_contact(request, contact, status=422, purchase_form=form)
    actions.record_purchase(contact, **form.cleaned_data)
    return contact_done(request, contact, "Purchase recorded.")


@contact_post
def open_issue(request, contact):
    form = IssueForm(request.POST)
    if not form.is_valid():
        return render_contact(request, contact, status=422, issue_form=form)
    source = None
    if request.POST.get("activity"):
        from rapport.clients.models import Activity

        source = Activity.objects.filter(
            workspace=request.workspace, contact=contact, pk=request.POST["activity"]
        ).first()
    actions.open_issue(
        contact,
        form.cleaned_data["summary"],
        opened_on=form.cleaned_data["opened_on"],
        by=request.user,
        source_activity=source,
    )
    return contact_done(request, contact, "Issue opened. Asks wait until it is put right.")


@work_required
@require_POST
def resolve_issue(request, pk):
    issue = get_in_workspace(
        Issue.objects.blocking().select_related("contact"), request.workspace, pk=pk
    )
    form = ResolveIssueForm(request.POST)
    resolution = form.cleaned_data["resolution"] if form.is_valid() else ""
    actions.resolve_issue(issue, on=request.workspace.today(), resolution=resolution)
    return contact_done(request, issue.contact, "Issue resolved.")


@contact_post
def add_permission(request, contact):
    today = request.workspace.today()
    form = PermissionForm(request.POST, today=today)
    if not form.is_valid():
        return render_contact(request, contact, status=422, permission_form=form)
    actions.record_permission(contact, granted_on=today, by=request.user, **form.cleaned_data)
    return contact_done(
        request, contact, f"Permission recorded: due on {form.cleaned_data['ask_after']}."
    )


@contact_post
def change_stage(request, contact):
    form = StageForm(request.POST)
    if form.is_valid():
        actions.change_stage(contact, form.cleaned_data["stage"], by=request.user)
    return contact_done(request, contact, "Ladder updated.")


@contact_post
def set_relationship(request, contact):
    form = RelationshipForm(request.POST)
    if form.is_valid():
        actions.set_relationship(
            contact, form.cleaned_data["relationship"], request.workspace.today()
        )
    return contact_done(request, contact, "Relationship updated.")


@contact_post
def add_deal(request, contact):
    form = DealForm(request.POST, instance=Deal(workspace=request.workspace, contact=contact))
    if not form.is_valid():
        return render_contact(request, contact, status=422, deal_form=form)
    actions.save_deal(form.instance)
    return contact_done(request, contact, "Deal saved.")


@work_required
@require_POST
def update_deal(request, pk):
    deal = get_in_workspace(
        Deal.objects.select_related("contact", "workspace"), request.workspace, pk=pk
    )
    # The inline deal row posts plain field names, without the form's prefix.
    form = DealForm(request.POST, instance=deal, prefix="")
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return contact_done(request, deal.contact, "Deal not changed.")
    actions.save_deal(form.instance)
    return contact_done(request, deal.contact, "Deal updated.")
