"""Settings pages of outreach: each user's calendar feed and morning digest,
and the workspace's automation rules (owners change them; members see them)."""

import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.outreach import automation, calendar, compose, webhooks
from rapport.workspaces import audit
from rapport.workspaces.access import configure_required, personal_required
from rapport.workspaces.models import Membership, Workspace, hash_token


def _personal(request, feed_url: str | None = None):
    membership = request.membership
    context = {
        "feed_on": bool(membership.feed_token_hash),
        "feed_url": feed_url,
        "webcal_url": feed_url.replace("https://", "webcal://", 1).replace(
            "http://", "webcal://", 1
        )
        if feed_url
        else None,
        "wants_digest": membership.wants_digest,
        "digest_size": 10,
    }
    response = TemplateResponse(request, "outreach/settings_personal.html", context)
    if feed_url:
        # The page shows a secret once: no copy kept by the browser or a proxy.
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
    return response


@personal_required
def personal(request):
    return _personal(request)


@personal_required
@require_POST
def feed_create(request):
    """Make (or replace) the feed link and show it, this once."""
    token = calendar.issue_token(request.membership)
    audit.record(
        audit.Kind.TOKEN_ROTATED,
        workspace=request.workspace,
        target=audit.target(request.membership),
        detail={"token": "calendar feed"},
        request=request,
    )
    return _personal(request, calendar.feed_url(token))


@personal_required
@require_POST
def feed_off(request):
    calendar.turn_off(request.membership)
    audit.record(
        audit.Kind.TOKEN_REVOKED,
        workspace=request.workspace,
        target=audit.target(request.membership),
        detail={"token": "calendar feed"},
        request=request,
    )
    messages.success(request, "Your calendar feed is off: its link no longer works.")
    return redirect("outreach:personal_settings")


@personal_required
@require_POST
def digest_toggle(request):
    wants = request.POST.get("wants_digest") in ("on", "true", "1")
    Membership.objects.filter(pk=request.membership.pk).update(wants_digest=wants)
    messages.success(
        request,
        "The morning digest is on: it comes after the agenda is built each morning."
        if wants
        else "The morning digest is off.",
    )
    return redirect("outreach:personal_settings")


class AutomationForm(forms.Form):
    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        current = automation.rule_settings(workspace)
        for rule in automation.RULES:
            setting = current[rule.name]
            self.fields[f"{rule.name}_enabled"] = forms.BooleanField(
                label="On", required=False, initial=setting.enabled
            )
            self.fields[f"{rule.name}_days"] = forms.IntegerField(
                label=rule.days_label, min_value=1, max_value=rule.max_days, initial=setting.days
            )
        self.current = current

    def rules(self):
        for rule in automation.RULES:
            yield {
                "rule": rule,
                "enabled": self[f"{rule.name}_enabled"],
                "days": self[f"{rule.name}_days"],
                "explanation": rule.explanation.format(days=self.current[rule.name].days),
            }

    def settings(self) -> dict[str, automation.Setting]:
        data = self.cleaned_data
        return {
            rule.name: automation.Setting(
                bool(data[f"{rule.name}_enabled"]), int(data[f"{rule.name}_days"])
            )
            for rule in automation.RULES
        }


@configure_required
def automation_settings(request):
    workspace = request.workspace
    form = AutomationForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        automation.save_settings(workspace, form.settings())
        audit.record(
            audit.Kind.SETTINGS_CHANGED,
            workspace=workspace,
            target="settings:automation",
            detail={"fields": sorted(form.changed_data)},
            request=request,
        )
        messages.success(request, "Automation rules saved.")
        return redirect("outreach:automation")
    return TemplateResponse(request, "outreach/settings_automation.html", {"form": form})


class SuppressForm(forms.Form):
    channel = forms.ChoiceField(choices=[("email", "Email"), ("sms", "SMS")])
    address = forms.CharField(max_length=254, label="Email address or phone number")


def _delivery(request, hook_token: str | None = None, form=None, secret: str | None = None):
    from rapport.outreach.models import DeliveryPause, Suppression

    workspace = request.workspace
    hooks = None
    if hook_token:
        hooks = {
            name: compose.absolute(reverse(f"outreach:{name}", args=[hook_token]))
            for name in ("email_events", "postmark_events", "twilio_inbound", "sms_inbound")
        }
    context = {
        "hooks": hooks,
        "hooks_on": bool(workspace.webhook_token_hash),
        "secret": secret,
        "postmark_user": webhooks.POSTMARK_USER,
        "pauses": DeliveryPause.objects.in_workspace(workspace).active(),
        "suppressions": Suppression.objects.in_workspace(workspace).order_by("-created_at")[:200],
        "form": form or SuppressForm(),
        "email_from": settings.EMAIL_FROM,
        "nav": "settings",
        "section": "delivery",
    }
    response = TemplateResponse(request, "outreach/settings_delivery.html", context)
    if hooks or secret:
        # The page shows a secret: no copy kept by the browser or a proxy.
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
    return response


def _rotated(request, what: str) -> None:
    audit.record(
        audit.Kind.TOKEN_ROTATED,
        workspace=request.workspace,
        target=audit.target(request.workspace),
        detail={"token": what},
        request=request,
    )


def _rotate(workspace, *, addresses: bool) -> str | None:
    """A new signing secret, and new webhook addresses when asked: the old
    ones stop working at once. Returns the new address token, if any."""
    fields = {"webhook_signing_salt": webhooks.new_salt()}
    token = None
    if addresses:
        token = secrets.token_urlsafe(24)
        fields["webhook_token_hash"] = hash_token(token)
    Workspace.objects.filter(pk=workspace.pk).update(**fields)
    for name, value in fields.items():
        setattr(workspace, name, value)
    return token


@configure_required
def delivery_settings(request):
    """Email and SMS: the inbound webhooks and their secret, sending paused
    by the server's fault, and the suppression list."""
    if request.method == "POST":
        workspace = request.workspace
        if "rotate" in request.POST:
            token = _rotate(workspace, addresses=True)
            _rotated(request, "webhooks")
            return _delivery(request, hook_token=token, secret=webhooks.signing_secret(workspace))
        if "rotate_secret" in request.POST:
            _rotate(workspace, addresses=False)
            _rotated(request, "webhook signing secret")
            return _delivery(request, secret=webhooks.signing_secret(workspace))
        if "reveal" in request.POST:
            audit.record(
                audit.Kind.TOKEN_ROTATED,
                workspace=workspace,
                target=audit.target(workspace),
                detail={"token": "webhook signing secret", "revealed": True},
                request=request,
            )
            return _delivery(request, secret=webhooks.signing_secret(workspace))
        if "resume" in request.POST:
            return _resume(request)
        form = SuppressForm(request.POST)
        if form.is_valid():
            from rapport.outreach.actions import suppress
            from rapport.outreach.models import Suppression

            data = form.cleaned_data
            # Recorded as a suppression in the security log, by this person.
            suppress(
                request.workspace,
                data["channel"],
                data["address"],
                Suppression.Reason.MANUAL,
                request=request,
            )
            messages.success(request, f"{data['address']} will get no automated message.")
            return redirect("outreach:delivery")
        return _delivery(request, form=form)
    return _delivery(request)


def _resume(request):
    from rapport.outreach.actions import resume_sending

    channel = request.POST.get("resume")
    if channel not in ("email", "sms"):
        messages.error(request, "Which channel should resume?")
        return redirect("outreach:delivery")
    count = resume_sending(request.workspace, channel, by=request.user)
    what = "Emails" if channel == "email" else "Texts"
    again = f"; {count} that failed meanwhile will be tried again" if count else ""
    messages.success(request, f"{what} to clients are going out again{again}.")
    return redirect("outreach:delivery")
