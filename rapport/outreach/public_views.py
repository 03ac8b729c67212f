"""The client's side: pages behind per-ask tokens, unsubscribe, webhooks.

Rules for everything here: a GET never changes anything (link scanners open
every emailed link) — only a POST does; a token is looked up by its hash and
refused when expired or already used; pages load nothing from third parties
and send no referrer; POSTs are rate limited per IP and per token.
"""

import functools
import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.middleware import NullOriginCsrfMiddleware
from rapport.outreach import actions, ratelimit, webhooks
from rapport.outreach.forms import (
    FixedForm,
    LaterForm,
    NamesForm,
    QuestionnaireForm,
    TestimonialForm,
    display_name,
)
from rapport.outreach.models import Ask, OutboundMessage, Suppression, WebhookEvent
from rapport.outreach.tokens import hash_token
from rapport.workspaces import audit
from rapport.workspaces.models import Workspace

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

# Per IP: a burst of 20 POSTs, then one every 3 seconds. Per token: 5, then
# one a minute — a page is answered once; the rest are double taps.
PER_IP = (20, 1 / 3)
PER_TOKEN = (5, 1 / 60)


# The site-wide CSRF middleware steps aside for these views (csrf_exempt) and
# this per-view check, which accepts the null origin, takes its place.
csrf_protect_null_origin = decorator_from_middleware(NullOriginCsrfMiddleware)


def client_page(view):
    """Headers for every public page: no referrer (the token is in the URL),
    nothing from elsewhere, not indexed, not framed."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


def problem_page(request, workspace, title: str, text: str, status: int):
    """The one page a public link answers when it cannot be used (unknown,
    expired, used): its title and words, and the business if known."""
    context = {"workspace": workspace, "title": title, "text": text}
    return TemplateResponse(request, "outreach/public/problem.html", context, status=status)


def _open(request, token: str):
    """The ask behind a token, or the response explaining why not."""
    ask = Ask.objects.by_token(token)
    if ask is None:
        return None, problem_page(
            request,
            None,
            "This link is not valid",
            "Please check that you copied the whole link, or ask us for a new one.",
            404,
        )
    if ask.token_expired:
        return None, problem_page(
            request,
            ask.workspace,
            "This link has expired",
            "Links stay open for 30 days. Just reply to our message and we will send a new one.",
            410,
        )
    return ask, None


def _answered(request, ask):
    return problem_page(
        request,
        ask.workspace,
        "Thank you — we already have your answer",
        "This page has been used. If you would like to add something, simply reply to our message.",
        409,
    )


@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=PER_IP, per_token=PER_TOKEN)
def page(request, token):
    ask, refused = _open(request, token)
    if refused:
        return refused
    if ask.answered_at:
        return _answered(request, ask)
    handler = {
        "names": _names,
        "testimonial": _testimonial,
        "questionnaire": _questionnaire,
        "fixed": _fixed,
        "reviews": _reviews,
    }.get(ask.page)
    if handler is None:
        return redirect("outreach:later", token=token)
    return handler(request, ask, token)


def _render(request, ask, template, form, token, status=200):
    context = {
        "workspace": ask.workspace,
        "ask": ask,
        "contact": ask.contact,
        "form": form,
        "token": token,
    }
    return TemplateResponse(request, template, context, status=status if not form.errors else 422)


def _thanks(request, ask, text, *, reviews=False, testimonial=None):
    """The thank-you page. With `reviews`, the workspace's review sites — the
    same for every client, whatever they answered (no review gating)."""
    from rapport.advocacy import testimonials

    context = {"workspace": ask.workspace, "contact": ask.contact, "text": text}
    if reviews:
        placement = "thanks" if testimonial else "answers"
        context["review_sites"] = [
            (site, testimonials.review_url(site, placement, testimonials.ask_reference(ask)))
            for site in testimonials.review_offer(ask.workspace)
        ]
    if testimonial is not None:
        context["testimonial_url"] = testimonials.page_url(testimonials.new_link(testimonial))
    return TemplateResponse(request, "outreach/public/thanks.html", context)


def _names(request, ask, token):
    form = NamesForm(request.POST or None, business=ask.workspace.name)
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.answer_names(ask, form.cleaned_data["people"])
        except actions.AlreadyAnswered:
            return _answered(request, ask)
        count = len(created)
        return _thanks(
            request,
            ask,
            f"Thank you for thinking of {count} {'person' if count == 1 else 'people'}. "
            "We will look after them with the same care.",
        )
    return _render(request, ask, "outreach/public/names.html", form, token)


def _testimonial(request, ask, token):
    form = TestimonialForm(request.POST or None, request.FILES or None, business=ask.workspace.name)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = ask.contact
        try:
            testimonial = actions.answer_testimonial(
                ask,
                text=data["text"],
                rating=data["rating"],
                display_name=display_name(data["display"], contact.first_name, contact.last_name),
                consent_publish=data["consent_publish"],
                consent_reference=data["consent_reference"],
                photo=data["photo"],
                consent_photo=data["consent_photo"],
            )
        except actions.AlreadyAnswered:
            return _answered(request, ask)
        return _thanks(
            request,
            ask,
            "Thank you for your kind words. They mean a great deal to us.",
            reviews=True,
            testimonial=testimonial,
        )
    return _render(request, ask, "outreach/public/testimonial.html", form, token)


def _questionnaire(request, ask, token):
    form = QuestionnaireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            answer = actions.answer_questionnaire(
                ask,
                nps=data["nps"],
                experience=data["experience"],
                improve=data["improve"],
                would_refer=data["would_refer"],
            )
        except actions.AlreadyAnswered:
            return _answered(request, ask)
        text = (
            "Thank you. We are sorry it was not better — someone will be in touch to put it right."
            if answer.band == "detractor"
            else "Thank you for taking the time; your answers help us do better."
        )
        return _thanks(request, ask, text, reviews=True)
    return _render(request, ask, "outreach/public/questionnaire.html", form, token)


def _reviews(request, ask, token):
    """A review request: the review sites, each link counted when clicked.
    Only a click answers it; opening the page changes nothing."""
    from rapport.advocacy import testimonials

    reference = testimonials.ask_reference(ask)
    context = {
        "workspace": ask.workspace,
        "ask": ask,
        "contact": ask.contact,
        "token": token,
        "review_sites": [
            (site, testimonials.review_url(site, "request", reference))
            for site in testimonials.review_offer(ask.workspace)
        ],
    }
    return TemplateResponse(request, "outreach/public/reviews.html", context)


def _fixed(request, ask, token):
    if ask.issue is None:
        return problem_page(
            request, ask.workspace, "Nothing to confirm", "This issue was removed.", 404
        )
    form = FixedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fixed = form.cleaned_data["fixed"]
        try:
            actions.answer_fixed(ask, fixed=fixed, words=form.cleaned_data["words"])
        except actions.AlreadyAnswered:
            return _answered(request, ask)
        text = (
            "Thank you for letting us know — we are glad it is sorted."
            if fixed
            else "We are sorry it is not right yet. We have reopened it and will be in touch."
        )
        return _thanks(request, ask, text)
    return _render(request, ask, "outreach/public/fixed.html", form, token)


@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=PER_IP, per_token=PER_TOKEN)
def later(request, token):
    ask, refused = _open(request, token)
    if refused:
        return refused
    if ask.answered_at:
        return _answered(request, ask)
    form = LaterForm(request.POST or None, today=ask.workspace.today())
    if request.method == "POST" and form.is_valid():
        try:
            permission = actions.answer_later(ask, form.cleaned_data["ask_after"])
        except actions.AlreadyAnswered:
            return _answered(request, ask)
        return _thanks(
            request,
            ask,
            f"Of course. We will not ask again before {permission.ask_after:%-d %B %Y}.",
        )
    return _render(request, ask, "outreach/public/later.html", form, token)


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no cookie
# and no CSRF token; the unguessable token in the URL is the authentication.
@csrf_exempt
@client_page
@require_http_methods(["GET", "POST"])
@ratelimit.limited(per_ip=PER_IP)
def unsubscribe(request, token):
    message = (
        OutboundMessage.objects.select_related("workspace")
        .filter(unsubscribe_token_hash=hash_token(token))
        .first()
    )
    if message is None:
        return problem_page(
            request,
            None,
            "This link is not valid",
            "Please check that you copied the whole link.",
            404,
        )
    workspace = message.workspace
    done = Suppression.objects.covers(workspace, message.channel, message.to_address)
    if request.method == "POST":
        actions.unsubscribe(message)
        done = True
    context = {"workspace": workspace, "done": done, "token": token, "address": message.to_address}
    return TemplateResponse(request, "outreach/public/unsubscribe.html", context)


def _workspace_for_hook(token: str):
    return (
        Workspace.objects.filter(webhook_token_hash=hash_token(token))
        .exclude(webhook_token_hash="")
        .first()
    )


def _answer(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _hook(view):
    """A provider webhook: POST only, rate limited, the URL's token names the
    workspace (404 otherwise); a Rejected check answers its status, and
    nothing it did is kept (one transaction)."""

    @functools.wraps(view)
    def wrapper(request, token):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        workspace = _workspace_for_hook(token)
        if workspace is None:
            return _answer(404, "unknown webhook")
        try:
            with transaction.atomic():
                return view(request, workspace, timezone.now())
        except webhooks.Rejected as rejected:
            log.warning(
                "webhook %s for %s refused (%s): %s",
                view.__name__,
                workspace.slug,
                rejected.status,
                rejected.reason,
            )
            # After the rollback, so the event survives it. Capped per
            # client (audit.NOISY): anyone can post to a webhook.
            audit.record(
                audit.Kind.WEBHOOK_REJECTED,
                workspace=workspace,
                target=f"webhook:{view.__name__}",
                detail={"status": rejected.status, "reason": rejected.reason[:120]},
                request=request,
            )
            return _answer(rejected.status, rejected.reason)

    return csrf_exempt(ratelimit.limited(per_ip=(120, 2))(wrapper))


def _json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise webhooks.Rejected(400, "the body is not JSON") from None


def _apply(workspace, event: webhooks.EmailEvent) -> str:
    if event.reason:
        actions.suppress(workspace, "email", event.address, event.reason)
        return f"suppressed: {event.detail}"
    return f"ok: {event.detail}"


@_hook
def email_events(request, workspace, now):
    """Bounces and complaints, signed the Standard Webhooks way (see
    rapport.outreach.webhooks): JSON {"type": "bounce" | "complaint",
    "email": "...", "status": "5.1.1", "permanent": true}."""
    signed = webhooks.verify_signed(workspace, request.headers, request.body, now)
    event = webhooks.read_signed_event(_json(request.body))
    webhooks.take_once(workspace, WebhookEvent.Source.SIGNED, signed.event_id, now)
    return _answer(200, _apply(workspace, event))


@_hook
def postmark_events(request, workspace, now):
    """Postmark's bounce, spam-complaint and subscription-change webhooks,
    with Basic credentials rapport:<the workspace's signing secret>."""
    webhooks.verify_postmark(workspace, request.headers.get("Authorization", ""))
    event_id, event = webhooks.read_postmark_event(_json(request.body))
    webhooks.take_once(workspace, WebhookEvent.Source.POSTMARK, event_id, now)
    return _answer(200, _apply(workspace, event))


@_hook
def sms_inbound(request, workspace, now):
    """Replies to texts from the generic provider: From and Body form fields."""
    sender, body = request.POST.get("From", ""), request.POST.get("Body", "")
    if not sender:
        raise webhooks.Rejected(400, "From is required")
    meaning = actions.sms_reply(workspace, sender, body)
    words = {"opt_out": "stopped", "opt_in": "rejoined", "help": "answered"}
    return _answer(200, words.get(meaning, "ok"))


# Twilio's Advanced Opt-Out names the keyword it matched, and has already
# answered it: Rapport records the change and sends no second confirmation.
TWILIO_OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}


@_hook
def twilio_inbound(request, workspace, now):
    """Twilio's incoming-message webhook, signed with X-Twilio-Signature over
    the URL as Twilio called it (SITE_URL and the path)."""
    url = settings.SITE_URL + request.get_full_path()
    webhooks.verify_twilio(url, request.POST, request.headers.get("X-Twilio-Signature", ""))
    sender, body = request.POST.get("From", ""), request.POST.get("Body", "")
    if not sender:
        raise webhooks.Rejected(400, "From is required")
    webhooks.take_once(
        workspace, WebhookEvent.Source.TWILIO, request.POST.get("MessageSid", ""), now
    )
    handled = TWILIO_OPT_OUT_TYPES.get(request.POST.get("OptOutType", "").upper())
    actions.sms_reply(workspace, sender, body, meaning=handled, confirm=handled is None)
    # An empty TwiML answer: any reply goes out through the outbox.
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
    )
