"""The public side of advocacy: the wall, the JSON feed, the widget and its
iframe, published photos, review links; the client's testimonial page, the
references page for prospects and the reference's answer page.

The feed, widget, iframe, photos and wall set no cookie and read no session;
only the feed answers CORS. They may be cached for PUBLIC_MAX_AGE seconds —
with the widget's refresh that bounds a withdrawal's reach to a minute.
Token pages follow the client-page rules (outreach.public_views): a GET
changes nothing, no referrer, nothing from elsewhere, POSTs rate limited.
"""

import functools
import json
import threading
import time

from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from rapport.advocacy import references, testimonials
from rapport.advocacy.models import (
    ReferenceRequest,
    ReferenceShare,
    ReviewSite,
    Testimonial,
    TestimonialLink,
)
from rapport.advocacy.testimonial_forms import (
    ClientConsentForm,
    ReferenceAnswerForm,
    ReferenceRequestForm,
)
from rapport.outreach import ratelimit
from rapport.outreach.public_views import client_page, csrf_protect_null_origin, problem_page
from rapport.workspaces.models import Workspace

FEED_LIMIT = 50
WALL_LIMIT = 200
# The iframe may sit on any site (its whole point); nothing else here may be framed.
EMBED_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors *"
)
WALL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# Prospects' requests: per IP a burst of 5 then one every 2 minutes; per link 20 a day.
REQUEST_PER_IP = (5, 1 / 120)
REQUEST_PER_TOKEN = (20, 20 / 86400)
PAGE_PER_IP = (20, 1 / 3)
PAGE_PER_TOKEN = (10, 1 / 60)


def _workspace(slug: str) -> Workspace:
    return get_object_or_404(Workspace, slug=slug)


def public(view):
    """Cacheable public responses, for a short while (see testimonials.py).
    They never touch the session or the CSRF token, so no cookie is set and
    no `Vary: Cookie` splits the caches: templates render without the
    request's context processors (`_page`)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = f"public, max-age={testimonials.public_max_age()}"
        response.cookieless = True  # rapport.middleware.PublicResponseMiddleware
        return response

    return wrapper


def _options(request) -> dict:
    featured = request.GET.get("featured") in ("1", "true", "yes")
    tag = request.GET.get("tag", "").strip()[:40]
    try:
        limit = max(1, min(int(request.GET.get("limit", FEED_LIMIT)), FEED_LIMIT))
    except ValueError:
        limit = FEED_LIMIT
    return {"featured": featured, "tag": tag, "limit": limit}


# The columns a public page reads: no moderation dates, no consent history.
PUBLIC_FIELDS = [
    "id",
    "workspace_id",
    "text",
    "edited_text",
    "rating",
    "display_name",
    "photo",
    "consent_photo",
    "received_on",
    "featured",
    "material_connection",
    "connection_note",
]


def published(workspace, *, featured=False, tag="", limit=WALL_LIMIT) -> list[Testimonial]:
    """The testimonials a page may show, featured first, newest next: one query."""
    rows = Testimonial.objects.published().filter(workspace=workspace).only(*PUBLIC_FIELDS)
    if featured:
        rows = rows.filter(featured=True)
    if tag:
        rows = rows.filter(tags__name__iexact=tag)
    return list(rows.order_by("-featured", "-received_on", "-id")[:limit])


def _photo_url(request, workspace, testimonial) -> str | None:
    if not (testimonial.photo and testimonial.consent_photo):
        return None
    path = reverse("advocacy:public_photo", args=[workspace.slug, testimonial.pk])
    return request.build_absolute_uri(path)


def feed_item(request, workspace, testimonial) -> dict:
    return {
        "id": testimonial.pk,
        "text": testimonial.public_text,
        "rating": testimonial.rating,
        "name": testimonial.public_name,
        "photo": _photo_url(request, workspace, testimonial),
        "date": testimonial.received_on.isoformat(),
        "disclosure": testimonials.disclosure(testimonial, workspace.name),
        "featured": testimonial.featured,
    }


class ShortCache:
    """Response bodies kept a few seconds in each web process: under a burst
    the database answers once per period, not once per request. Its period
    counts in the minute a withdrawal may take (see testimonials.py)."""

    MAX_ITEMS = 2000

    def __init__(self):
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, build, *, now: float, seconds: float):
        if seconds <= 0:
            return build()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = build()
        with self._lock:
            if len(self._items) >= self.MAX_ITEMS:
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + seconds, value)
        return value


feed_cache = ShortCache()


def _feed_body(request, slug, options) -> bytes | None:
    workspace = Workspace.objects.filter(slug=slug).only("id", "slug", "name").first()
    if workspace is None:
        return None
    items = [
        feed_item(request, workspace, t)
        for t in published(
            workspace, featured=options["featured"], tag=options["tag"], limit=options["limit"]
        )
    ]
    payload = {
        "workspace": workspace.slug,
        "business": workspace.name,
        "wall": request.build_absolute_uri(reverse("advocacy:wall", args=[workspace.slug])),
        "testimonials": items,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


@require_GET
@public
def feed(request, slug):
    options = _options(request)
    key = (request.get_host(), request.scheme, slug, tuple(sorted(options.items())))
    body = feed_cache.get(
        key,
        lambda: _feed_body(request, slug, options),
        now=time.monotonic(),
        seconds=testimonials.server_cache_seconds(),
    )
    if body is None:
        raise Http404("No such workspace.")
    response = HttpResponse(body, content_type="application/json")
    # The feed alone answers other origins: the widget reads it from any site.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@public
def widget_js(request, slug):
    workspace = _workspace(slug)
    base = request.build_absolute_uri("/").rstrip("/")
    context = {
        "slug": workspace.slug,
        # JSON string literals: valid JavaScript, whatever the host name holds.
        "feed_url": json.dumps(base + reverse("advocacy:feed", args=[workspace.slug])),
        "embed_url": json.dumps(base + reverse("advocacy:embed", args=[workspace.slug])),
        "refresh_ms": testimonials.WIDGET_REFRESH_SECONDS * 1000,
    }
    script = render_to_string("advocacy/widget.js", context)
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _page(template: str, context: dict) -> HttpResponse:
    return HttpResponse(render_to_string(template, context))


def _wall_context(request, workspace, **options):
    items = published(workspace, **options)
    for t in items:
        t.photo_url = _photo_url(request, workspace, t)
        t.disclosure = testimonials.disclosure(t, workspace.name)
    return {"workspace": workspace, "testimonials": items}


@require_GET
@public
def wall(request, slug):
    workspace = _workspace(slug)
    options = _options(request)
    context = _wall_context(
        request, workspace, featured=options["featured"], tag=options["tag"], limit=WALL_LIMIT
    )
    context["tag"] = options["tag"]
    context["review_sites"] = [
        (site, reverse("advocacy:review_go", args=[workspace.slug, site.pk]) + "?from=wall")
        for site in testimonials.review_offer(workspace)
    ]
    response = _page("advocacy/public/wall.html", context)
    response["Content-Security-Policy"] = WALL_CSP
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@require_GET
@xframe_options_exempt
@public
def embed(request, slug):
    """The iframe fallback of the widget: the same testimonials, server-rendered."""
    workspace = _workspace(slug)
    options = _options(request)
    context = _wall_context(request, workspace, **options)
    context["wall_url"] = request.build_absolute_uri(reverse("advocacy:wall", args=[slug]))
    response = _page("advocacy/public/embed.html", context)
    response["Content-Security-Policy"] = EMBED_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@public
def public_photo(request, slug, pk):
    """A photo, only while its testimonial is published with photo consent."""
    workspace = _workspace(slug)
    testimonial = (
        Testimonial.objects.published()
        .filter(workspace=workspace, pk=pk, consent_photo=True)
        .exclude(photo="")
        .first()
    )
    if testimonial is None:
        raise Http404("No photo.")
    response = FileResponse(testimonial.photo.open("rb"), content_type="image/jpeg")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def review_go(request, slug, pk):
    """Count the click (one insert) and go to the stored address — only ever
    the stored address, whatever the query says: no open redirect."""
    workspace = _workspace(slug)
    site = get_object_or_404(ReviewSite, workspace=workspace, pk=pk, active=True)
    ask = None
    if request.GET.get("ask"):
        ask = testimonials.ask_from_reference(request.GET["ask"], workspace)
    testimonials.record_review_click(site, request.GET.get("from", "other"), ask=ask)
    response = HttpResponseRedirect(site.url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


# -- the client's testimonial page ---------------------------------------------


def _open_link(request, model, token, expired_text):
    row = model.objects.by_token(token)
    if row is None:
        return None, problem_page(
            request,
            None,
            "This link is not valid",
            "Please check that you copied the whole link, or ask us for a new one.",
            404,
        )
    if row.expired():
        return None, problem_page(
            request, row.workspace, "This link has expired", expired_text, 410
        )
    return row, None


def _display_choices(contact, current: str):
    from rapport.outreach.forms import DISPLAY_CHOICES, display_name

    choices = []
    for key, label in DISPLAY_CHOICES:
        shown = display_name(key, contact.first_name, contact.last_name)
        choices.append((shown, f"{label}: {shown}" if key != "anonymous" else label))
    if current and current not in [value for value, _ in choices]:
        choices.insert(0, (current, f"As now: {current}"))
    return choices


@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=PAGE_PER_IP, per_token=PAGE_PER_TOKEN)
def client_testimonial(request, token):
    link, refused = _open_link(
        request,
        TestimonialLink,
        token,
        "Write to us and we will change or remove your words straight away.",
    )
    if refused:
        return refused
    testimonial = (
        Testimonial.objects.select_related("contact", "workspace")
        .filter(pk=link.testimonial_id)
        .first()
    )
    if testimonial is None or testimonial.contact.erased_at:
        return problem_page(
            request, link.workspace, "Nothing here", "These words were removed.", 404
        )
    workspace, contact = testimonial.workspace, testimonial.contact
    current = testimonial.display_name or "Anonymous"
    form = ClientConsentForm(
        request.POST if request.POST.get("action") == "consents" else None,
        initial={
            "publish": testimonial.consent_publish,
            "display": current,
            "photo": testimonial.consent_photo,
            "reference": testimonial.consent_reference,
        },
        choices=_display_choices(contact, current),
        business=workspace.name,
        has_photo=bool(testimonial.photo),
    )
    done: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("approve_edit", "decline_edit"):
                testimonials.answer_edit(testimonial, accept=action == "approve_edit")
                done = [
                    "Thank you: your words are shown with the change."
                    if action == "approve_edit"
                    else "We kept your own words; nothing changes without your say."
                ]
            elif action == "withdraw":
                withdrawn = testimonials.withdraw(testimonial)
                done = ["Done: your words are no longer shown anywhere." if withdrawn else ""]
            elif action == "consents" and form.is_valid():
                data = form.cleaned_data
                done = testimonials.update_consents(
                    testimonial,
                    publish=data["publish"],
                    name=data["display"],
                    photo=data.get("photo", False),
                    reference=data["reference"],
                ) or ["Nothing changed."]
            elif action == "consents":
                status = 422
            else:
                status = 400
        except testimonials.ModerationError as error:
            done, status = [str(error)], 409
        testimonial.refresh_from_db()
        if done and status == 200:
            form = ClientConsentForm(
                initial={
                    "publish": testimonial.consent_publish,
                    "display": testimonial.display_name or "Anonymous",
                    "photo": testimonial.consent_photo,
                    "reference": testimonial.consent_reference,
                },
                choices=_display_choices(contact, testimonial.display_name),
                business=workspace.name,
                has_photo=bool(testimonial.photo),
            )
    context = {
        "workspace": workspace,
        "contact": contact,
        "testimonial": testimonial,
        "form": form,
        "done": [line for line in done if line],
        "disclosure": testimonials.disclosure(testimonial, workspace.name),
        "wall_url": reverse("advocacy:wall", args=[workspace.slug]),
    }
    return TemplateResponse(
        request, "advocacy/public/client_testimonial.html", context, status=status
    )


# -- references ---------------------------------------------------------------------


@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=REQUEST_PER_IP, per_token=REQUEST_PER_TOKEN)
def references_public(request, token):
    """For prospects: who is willing to talk to them, by industry and need."""
    share = ReferenceShare.objects.by_token(token)
    if share is None or share.revoked_at:
        return problem_page(
            request,
            None,
            "This link is not valid",
            "Please ask the business for a new link.",
            404,
        )
    workspace = share.workspace
    if share.expired():
        return problem_page(
            request, workspace, "This link has expired", "Please ask us for a new link.", 410
        )
    form = ReferenceRequestForm(request.POST or None)
    sent = None
    error = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            reference = references.references(workspace).filter(pk=data["reference"]).first()
            try:
                if reference is None:
                    raise references.ReferenceError("This reference is no longer available.")
                references.request_reference(
                    reference,
                    share=share,
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    company=data["company"],
                    message=data["message"],
                )
                sent = references.public_label(reference)
                form = ReferenceRequestForm()
            except references.ReferenceError as refused:
                error, status = str(refused), 409
        else:
            status = 422
    rows = references.listed(workspace)
    for ref in rows:
        ref.label = references.public_label(ref)
    context = {
        "workspace": workspace,
        "references": rows,
        "form": form,
        "sent": sent,
        "error": error,
        "chosen": str(request.POST.get("reference", "")) if status != 200 else "",
    }
    return TemplateResponse(request, "advocacy/public/references.html", context, status=status)


@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=PAGE_PER_IP, per_token=PAGE_PER_TOKEN)
def reference_answer(request, token):
    """The reference's page: yes (choosing what to share) or no."""
    ref_request, refused = _open_link(
        request,
        ReferenceRequest,
        token,
        "This request is closed. If you would still like to help, just reply to our email.",
    )
    if refused:
        return refused
    ref_request = ReferenceRequest.objects.select_related("reference__contact", "workspace").get(
        pk=ref_request.pk
    )
    contact = ref_request.reference.contact
    if contact.erased_at:
        raise Http404("No such request.")
    form = ReferenceAnswerForm(request.POST or None, contact=contact)
    error = ""
    status = 200
    if ref_request.status != ReferenceRequest.Status.PENDING:
        form = None
    elif request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                references.answer_request(
                    ref_request,
                    accept=data["answer"] == "yes",
                    share_email=data.get("share_email", False),
                    share_phone=data.get("share_phone", False),
                )
                ref_request.refresh_from_db()
                form = None
            except references.ReferenceError as problem:
                error, status = str(problem), 422
        else:
            status = 422
    context = {
        "workspace": ref_request.workspace,
        "contact": contact,
        "request_": ref_request,
        "form": form,
        "error": error,
        "now": timezone.now(),
    }
    return TemplateResponse(
        request, "advocacy/public/reference_answer.html", context, status=status
    )
