"""The public side of referrals: a referral link's landing page and the
double-opt-in introduction page. No login.

`/r/<code>`: a GET shows the workspace's pitch, a few approved testimonials
and a short form, and counts the click with one atomic UPDATE. Every
unknown or revoked code gets the same plain 404 page, and misses are
rate-limited per address, so enumerating codes finds nothing. Hits are not
limited: a code on a flyer may bring a crowd behind one address.

`/i/<token>/`: the friend's page. A GET changes nothing; the token is stored
hashed, expires, is used once, and its POSTs are rate-limited.
"""

import time

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.advocacy import actions, seal
from rapport.advocacy.forms import AcceptForm, LeadForm
from rapport.advocacy.models import ReferralProgram, Reward, Testimonial
from rapport.advocacy.rewards import rewarded_contact_ids
from rapport.middleware import NullOriginCsrfMiddleware
from rapport.outreach import ratelimit

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Misses per address: a burst of 10, then one every 30 seconds. A person
# mistyping a code a few times is never stopped; a scan is, at once.
MISSES = (10, 1 / 30)
# Lead forms per address and per code.
LEADS_PER_IP = (10, 1 / 60)
LEADS_PER_CODE = (30, 1 / 20)
NOT_FOUND = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title>"
    "<p>This page does not exist.</p></html>"
)

csrf_protect_null_origin = decorator_from_middleware(NullOriginCsrfMiddleware)


def _public(response):
    response["Referrer-Policy"] = "no-referrer"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


def _not_found():
    # One body for unknown, revoked and erased alike: nothing to tell them apart.
    return _public(HttpResponse(NOT_FOUND, status=404, content_type="text/html; charset=utf-8"))


def _too_many():
    response = HttpResponse(
        "Too many requests. Please wait a minute and try again.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "60"
    return _public(response)


# What the landing page shows of a workspace (pitch, testimonials, offer) is
# the same for every visitor: kept per process for a few seconds, so that a
# burst on a flyer's code costs two queries a visit (the code, its click).
SHOWCASE_SECONDS = 10
_showcase: dict[int, tuple[float, dict]] = {}


def _showcase_of(workspace) -> dict:
    now = time.monotonic()
    cached = _showcase.get(workspace.pk)
    if cached and cached[0] > now:
        return cached[1]
    testimonials = list(
        Testimonial.objects.filter(
            workspace=workspace, status=Testimonial.Status.APPROVED, consent_publish=True
        ).order_by("-received_on", "-pk")[:3]
    )
    rewarded = rewarded_contact_ids(workspace, [t.contact_id for t in testimonials])
    for testimonial in testimonials:
        testimonial.disclosed = testimonial.contact_id in rewarded
    friend_rules = [
        rule
        for rule in workspace_rules(workspace)
        if rule.rewards("friend") and rule.trigger == "arrival"
    ]
    showcase = {
        "program": ReferralProgram.for_workspace(workspace),
        "testimonials": testimonials,
        "offer": friend_rules[0] if friend_rules else None,
    }
    _showcase[workspace.pk] = (now + SHOWCASE_SECONDS, showcase)
    return showcase


def _landing_context(code, form):
    return {
        **_showcase_of(code.workspace),
        "workspace": code.workspace,
        "referrer": code.contact.first_name,
        "form": form,
    }


def workspace_rules(workspace):
    from rapport.advocacy.models import RewardRule

    return list(RewardRule.objects.filter(workspace=workspace, active=True))


_owners: dict[str, tuple[float, object]] = {}


def _code_for_visit(request, typed: str):
    """The live code behind a visit. A GET counts the click first, in the one
    UPDATE that also proves the code live; who owns it is then read from a
    few-second cache (owners do not change; revocation is the UPDATE's to see)."""
    if request.method != "GET":
        return actions.live_code(typed)
    if not actions.click(typed):
        return None
    now = time.monotonic()
    cached = _owners.get(typed)
    if cached and cached[0] > now:
        return cached[1]
    found = actions.live_code(typed)
    if found is not None:
        if len(_owners) > 10_000:  # bounded: a process keeps the busy codes only
            _owners.clear()
        _owners[typed] = (now + SHOWCASE_SECONDS, found)
    return found


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect_null_origin
def landing(request, code):
    found = _code_for_visit(request, code)
    if found is None:
        if not ratelimit.take(
            f"ip:referral-miss:{ratelimit.client_ip(request)}",
            capacity=MISSES[0],
            per_second=MISSES[1],
        ):
            return _too_many()
        return _not_found()
    workspace = found.workspace
    form = LeadForm(request.POST or None, business=workspace.name)
    if request.method != "POST":  # a HEAD (a link preview) is not a visit: no click
        return _public(
            TemplateResponse(request, "advocacy/public/landing.html", _landing_context(found, form))
        )
    ip = ratelimit.client_ip(request)
    for key, (capacity, rate) in (
        (f"ip:referral-lead:{ip}", LEADS_PER_IP),
        (f"code:referral-lead:{found.pk}", LEADS_PER_CODE),
    ):
        if not ratelimit.take(key, capacity=capacity, per_second=rate):
            return _too_many()
    if not form.is_valid():
        response = TemplateResponse(
            request, "advocacy/public/landing.html", _landing_context(found, form), status=422
        )
        return _public(response)
    if form.cleaned_data["website"]:
        # A bot filled in the hidden field: thank it and keep nothing.
        return _public(
            TemplateResponse(request, "advocacy/public/lead_thanks.html", {"workspace": workspace})
        )
    try:
        referral = actions.record_lead(found, **form.person(), on=workspace.today())
    except actions.SelfReferral as refused:
        form.add_error(None, str(refused))
        response = TemplateResponse(
            request, "advocacy/public/landing.html", _landing_context(found, form), status=422
        )
        return _public(response)
    reward = referral.rewards.filter(role=Reward.Role.FRIEND).first()
    first_name = form.cleaned_data["first_name"]
    context = {"workspace": workspace, "reward": reward, "first_name": first_name}
    return _public(TemplateResponse(request, "advocacy/public/lead_thanks.html", context))


def _intro_problem(request, workspace, title, text, status):
    context = {"workspace": workspace, "title": title, "text": text}
    return _public(
        TemplateResponse(request, "advocacy/public/problem.html", context, status=status)
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
@csrf_protect_null_origin
@ratelimit.limited(per_ip=(20, 1 / 3), per_token=(5, 1 / 60))
def introduction(request, token):
    intro = actions.introduction_by_token(token)
    if intro is None:
        return _intro_problem(
            request, None, "This link is not valid", "Please check you have the whole link.", 404
        )
    workspace = intro.workspace
    if not intro.pending or intro.answered_at:
        return _intro_problem(
            request,
            workspace,
            "Thank you — we already have your answer",
            "This page has been used.",
            409,
        )
    if intro.expired:
        return _intro_problem(
            request,
            workspace,
            "This link has expired",
            "Introductions stay open for 30 days. Nothing was shared with anyone.",
            410,
        )
    sealed = seal.unseal(intro.sealed)
    form = AcceptForm(request.POST or None, has_sealed=bool(sealed))
    referral = intro.referral
    context = {
        "workspace": workspace,
        "friend": referral.referred.first_name,
        "referrer": referral.referrer.first_name,
        "form": form,
        "masked_email": seal.masked_email(sealed["email"]) if sealed.get("email") else "",
        "masked_phone": seal.masked_phone(sealed["phone"]) if sealed.get("phone") else "",
    }
    if request.method == "POST":
        today = workspace.today()
        try:
            if request.POST.get("answer") == "no":
                actions.decline_introduction(intro, on=today)
                return _intro_problem(
                    request,
                    workspace,
                    "No problem — thank you for letting us know",
                    f"We will not contact you, and we keep nothing but your first name, "
                    f"so that {referral.referrer.first_name} knows you were asked.",
                    200,
                )
            if form.is_valid():
                data = form.cleaned_data
                actions.accept_introduction(
                    intro,
                    email=data["email"],
                    phone=data["phone"],
                    use_sealed=data["use_sealed"],
                    on=today,
                )
                return _intro_problem(
                    request,
                    workspace,
                    f"Thank you, {referral.referred.first_name}",
                    f"{workspace.name} will be in touch soon.",
                    200,
                )
        except actions.AlreadyAnswered:
            return _intro_problem(
                request, workspace, "Thank you — we already have your answer", "", 409
            )
        return _public(
            TemplateResponse(request, "advocacy/public/introduction.html", context, status=422)
        )
    return _public(TemplateResponse(request, "advocacy/public/introduction.html", context))
