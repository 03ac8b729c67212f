"""Settings pages of outreach: each user's calendar feed and morning digest,
and the workspace's automation rules (owners change them; members see them)."""

import secrets

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.outreach import automation, calendar, compose
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


def _delivery(request, hook_token: str | None = None, form=None):
    from rapport.outreach.models import Suppression

    workspace = request.workspace
    hooks = None
    if hook_token:
        hooks = {
            "email": compose.absolute(reverse("outreach:email_events", args=[hook_token])),
            "sms": compose.absolute(reverse("outreach:sms_inbound", args=[hook_token])),
        }
    context = {
        "hooks": hooks,
        "hooks_on": bool(workspace.webhook_token_hash),
        "suppressions": Suppression.objects.in_workspace(workspace).order_by("-created_at")[:200],
        "form": form or SuppressForm(),
        "nav": "settings",
        "section": "delivery",
    }
    response = TemplateResponse(request, "outreach/settings_delivery.html", context)
    if hooks:
        response["Cache-Control"] = "no-store"
    return response


@configure_required
def delivery_settings(request):
    """Email and SMS: the inbound webhooks and the suppression list."""
    if request.method == "POST":
        if "rotate" in request.POST:
            token = secrets.token_urlsafe(24)
            Workspace.objects.filter(pk=request.workspace.pk).update(
                webhook_token_hash=hash_token(token)
            )
            audit.record(
                audit.Kind.TOKEN_ROTATED,
                workspace=request.workspace,
                target=audit.target(request.workspace),
                detail={"token": "webhooks"},
                request=request,
            )
            return _delivery(request, hook_token=token)
        form = SuppressForm(request.POST)
        if form.is_valid():
            from rapport.outreach.actions import suppress
            from rapport.outreach.models import Suppression

            data = form.cleaned_data
            suppress(request.workspace, data["channel"], data["address"], Suppression.Reason.MANUAL)
            audit.record(
                audit.Kind.SETTINGS_CHANGED,
                workspace=request.workspace,
                target="settings:suppression",
                detail={"channel": data["channel"], "added": "manual suppression"},
                request=request,
            )
            messages.success(request, f"{data['address']} will get no automated message.")
            return redirect("outreach:delivery")
        return _delivery(request, form=form)
    return _delivery(request)
