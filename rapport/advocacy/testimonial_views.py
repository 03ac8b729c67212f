"""The team's side of testimonials, review sites and references: the
moderation queue (also used from the contact page), the photo, the review
pages of the workspace, and the references with their share links."""

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.advocacy import references, testimonials
from rapport.advocacy.models import (
    Reference,
    ReferenceRequest,
    ReferenceShare,
    ReviewSite,
    Testimonial,
    TestimonialTag,
)
from rapport.advocacy.testimonial_forms import (
    ConnectionForm,
    NewReferenceForm,
    QueueFilterForm,
    ReferenceForm,
    ReviewSiteForm,
    ShareForm,
    SuggestEditForm,
    TagsForm,
)
from rapport.workspaces.access import configure_required, get_in_workspace, work_required
from rapport.workspaces.models import Capability

QUEUE_SIZE = 100
TO_MODERATE = [Testimonial.Status.PENDING, Testimonial.Status.EDIT_SUGGESTED]


def _queue_rows(workspace, status: str, tag: str):
    rows = (
        Testimonial.objects.in_workspace(workspace)
        .filter(contact__erased_at=None)
        .select_related("contact")
        .prefetch_related(Prefetch("tags", queryset=TestimonialTag.objects.order_by("name")))
    )
    if status == "all":
        pass
    elif status in Testimonial.Status.values:
        rows = rows.filter(status=status)
    else:
        rows = rows.filter(status__in=TO_MODERATE)
    if tag:
        rows = rows.filter(tags__name__iexact=tag)
    return rows.order_by("-received_on", "-id")[:QUEUE_SIZE]


@work_required
def queue(request):
    workspace = request.workspace
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    counts = dict(
        Testimonial.objects.in_workspace(workspace)
        .filter(contact__erased_at=None)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    context = {
        "form": form,
        "rows": _queue_rows(workspace, filters.get("status", ""), filters.get("tag", "")),
        "status": filters.get("status", ""),
        "statuses": [
            ("", "To moderate", sum(counts.get(s, 0) for s in TO_MODERATE)),
            *[(v, label, counts.get(v, 0)) for v, label in Testimonial.Status.choices],
            ("all", "All", sum(counts.values())),
        ],
        "connections": ConnectionForm.base_fields["material_connection"].choices,
        "tags": TestimonialTag.objects.in_workspace(workspace),
        "wall_url": request.build_absolute_uri(f"/w/{workspace.slug}/"),
        "widget_url": request.build_absolute_uri(f"/w/{workspace.slug}/widget.js"),
        "embed_url": request.build_absolute_uri(f"/w/{workspace.slug}/embed/"),
        "nav": "testimonials",
    }
    return TemplateResponse(request, "advocacy/queue.html", context)


def _moderate(request, testimonial) -> str:
    """Apply one moderation step; the message to show."""
    action = request.POST.get("action") or request.POST.get("decision", "")
    by = request.user
    if action == "approve":
        testimonials.approve(testimonial, by=by)
        return "Approved: it is on the wall and in the widget."
    if action == "reject":
        testimonials.reject(testimonial, by=by)
        return "Kept private."
    if action == "suggest":
        form = SuggestEditForm(request.POST)
        if not form.is_valid():
            raise testimonials.ModerationError("Write the words you suggest.")
        testimonials.suggest_edit(testimonial, form.cleaned_data["text"], by=by)
        if testimonial.contact.email:
            return "Suggestion sent: it is published when the client approves it on their page."
        return (
            "Suggestion saved. The client has no email address: give them the link to their page "
            "(Send their page) to approve it."
        )
    if action in ("feature", "unfeature"):
        testimonials.set_featured(testimonial, action == "feature", by=by)
        return "Featured." if action == "feature" else "No longer featured."
    if action == "tags":
        form = TagsForm(request.POST)
        form.is_valid()
        testimonials.set_tags(testimonial, testimonials.parse_tags(form.cleaned_data["tags"]))
        return "Tags saved."
    if action == "connection":
        form = ConnectionForm(request.POST)
        if not form.is_valid():
            raise testimonials.ModerationError(
                "; ".join(e for errors in form.errors.values() for e in errors)
            )
        data = form.cleaned_data
        testimonials.set_connection(
            testimonial, data["material_connection"], data["connection_note"], by=by
        )
        return "Connection saved; it is disclosed next to the words."
    if action == "send_link":
        if not testimonial.contact.email:
            raise testimonials.ModerationError(f"{testimonial.contact.name} has no email address.")
        testimonials.send_page_link(testimonial)
        return f"{testimonial.contact.first_name} will get a link to their page."
    raise testimonials.ModerationError("Unknown step.")


@work_required
@require_POST
def moderate(request, pk):
    testimonial = get_in_workspace(
        Testimonial.objects.select_related("contact", "workspace").filter(contact__erased_at=None),
        request.workspace,
        pk=pk,
    )
    try:
        messages.success(request, _moderate(request, testimonial))
    except testimonials.ModerationError as error:
        messages.error(request, str(error))
    if request.POST.get("back") == "contact":
        return redirect("clients:detail", pk=testimonial.contact_id)
    return redirect(f"{_queue_url()}?{request.POST.get('query', '')}".rstrip("?"))


def _queue_url() -> str:
    from django.urls import reverse

    return reverse("advocacy:queue")


@work_required
def photo(request, pk):
    """Photos are private until published: only the workspace's members see them here."""
    testimonial = get_in_workspace(Testimonial.objects.all(), request.workspace, pk=pk)
    if not testimonial.photo:
        raise Http404("No photo.")
    return FileResponse(testimonial.photo.open("rb"), content_type="image/jpeg")


# -- review sites --------------------------------------------------------------------


@configure_required
def review_sites(request):
    workspace = request.workspace
    form = ReviewSiteForm(request.POST or None, instance=ReviewSite(workspace=workspace))
    if request.method == "POST":
        if not request.membership.can(Capability.CONFIGURE):
            messages.error(request, "Only an owner can change the review pages.")
            return redirect("advocacy:review_sites")
        if form.is_valid():
            form.save()
            messages.success(request, f"{form.instance.name} added.")
            return redirect("advocacy:review_sites")
    clicks = testimonials.review_counts(workspace)
    sites = list(ReviewSite.objects.in_workspace(workspace))
    for site in sites:
        site.click_count = clicks.get(site.pk, 0)
    context = {"form": form, "sites": sites, "section": "reviews", "nav": "settings"}
    return TemplateResponse(
        request, "advocacy/review_sites.html", context, status=422 if form.errors else 200
    )


@configure_required
@require_POST
def review_site_edit(request, pk):
    site = get_in_workspace(ReviewSite.objects.all(), request.workspace, pk=pk)
    if not request.membership.can(Capability.CONFIGURE):
        messages.error(request, "Only an owner can change the review pages.")
    elif request.POST.get("delete"):
        site.delete()
        messages.success(request, f"{site.name} removed.")
    else:
        form = ReviewSiteForm(request.POST, instance=site)
        if form.is_valid():
            form.save()
            messages.success(request, f"{site.name} saved.")
        else:
            messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("advocacy:review_sites")


# -- references ------------------------------------------------------------------------


@work_required
def references_page(request):
    workspace = request.workspace
    candidates = list(references.consenting_contacts(workspace)[:500])
    form = NewReferenceForm(request.POST or None, contacts=candidates)
    share_form = ShareForm(prefix="share")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = next(c for c in candidates if c.pk == data["contact"])
        try:
            references.create_reference(
                contact,
                industry=data["industry"],
                need=data["need"],
                blurb=data["blurb"],
                monthly_limit=data["monthly_limit"],
            )
            messages.success(request, f"{contact.name} is on the references page.")
            return redirect("advocacy:references")
        except references.ReferenceError as error:
            messages.error(request, str(error))
    context = {
        "form": form,
        "share_form": share_form,
        "references": list(references.references(workspace)),
        "shares": ReferenceShare.objects.in_workspace(workspace)
        .annotate(n=Count("requests"))
        .filter(Q(revoked_at=None) & Q(expires_at__gt=timezone.now()))[:50],
        "requests": ReferenceRequest.objects.in_workspace(workspace)
        .select_related("reference__contact")
        .order_by("-created_at")[:50],
        "nav": "references",
    }
    status = 422 if form.errors else 200
    return TemplateResponse(request, "advocacy/references.html", context, status=status)


@work_required
@require_POST
def reference_edit(request, pk):
    reference = get_in_workspace(
        Reference.objects.select_related("contact"), request.workspace, pk=pk
    )
    if request.POST.get("delete"):
        reference.delete()
        messages.success(request, f"{reference.contact.name} is no longer a reference.")
        return redirect("advocacy:references")
    form = ReferenceForm(request.POST, instance=reference)
    if form.is_valid():
        form.save()
        messages.success(request, "Saved.")
    else:
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("advocacy:references")


@work_required
@require_POST
def share_create(request):
    form = ShareForm(request.POST, prefix="share")
    if not form.is_valid():
        messages.error(request, "Say who the link is for.")
        return redirect("advocacy:references")
    share, _ = references.new_share(
        request.workspace,
        form.cleaned_data["label"],
        by=request.user,
        days=form.cleaned_data["days"],
    )
    messages.success(request, f"Link for {share.label} made; copy it from the list below.")
    return redirect("advocacy:references")


@work_required
@require_POST
def share_revoke(request, pk):
    share = get_in_workspace(ReferenceShare.objects.all(), request.workspace, pk=pk)
    references.revoke_share(share)
    messages.success(request, f"The link for {share.label} no longer works.")
    return redirect("advocacy:references")
