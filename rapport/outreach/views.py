"""The team's side of outreach: start an ask by channel, compose and preview
an email or a text, show a QR code at the desk, watch the outbox."""

import datetime as dt
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from rapport.agenda import engine, store
from rapport.agenda.actions import ask_kind_for, mark_asked
from rapport.agenda.forms import OutcomeForm
from rapport.agenda.models import Action, AgendaItem
from rapport.agenda.scripts import bodies_for, render
from rapport.agenda.today import beyond_capacity, in_scope
from rapport.agenda.views import OUTCOME_ACTIONS, get_item, item_form, item_response
from rapport.clients.models import ConsentRecord, Contact
from rapport.kinds import Channel
from rapport.lib import phones
from rapport.outreach import actions, automation, compose, privacy
from rapport.outreach.models import (
    SCRIPT_FOR_KIND,
    Ask,
    AskKind,
    OutboundMessage,
    Outcome,
    Suppression,
)
from rapport.workspaces import audit
from rapport.workspaces.access import (
    erase_required,
    export_required,
    get_in_workspace,
    requires,
    work_form_required,
    work_required,
)
from rapport.workspaces.models import Capability

SUBJECT_FOR_KIND = {
    AskKind.REFERRAL: "A small favour, {first_name}?",
    AskKind.TESTIMONIAL: "Would you share a few words, {first_name}?",
    AskKind.FEEDBACK: "How did we do, {first_name}?",
    AskKind.REACTIVATION: "We miss you, {first_name}",
    AskKind.PERMISSION: "Thank you for choosing {business}",
    AskKind.RECOVERY: "Is it fixed for you, {first_name}?",
    AskKind.REVIEW: "Would you review {business}, {first_name}?",
}


class ComposeForm(forms.Form):
    kind = forms.ChoiceField(choices=AskKind.choices)
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 9}), max_length=4000)
    send_at = forms.DateTimeField(
        label="Send later (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )

    def __init__(self, *args, channel: str, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel, self.tz = channel, tz
        if channel == Channel.EMAIL:
            self.fields["subject"].required = True
        else:
            del self.fields["subject"]
            self.fields["body"].max_length = 480
            self.fields["body"].widget.attrs["rows"] = 4

    def clean_send_at(self):
        value = self.cleaned_data.get("send_at")
        if value is None:
            return None
        if timezone.is_naive(value):
            value = value.replace(tzinfo=self.tz)
        if value < timezone.now() - dt.timedelta(minutes=1):
            raise forms.ValidationError(
                "Choose a time in the future, or leave it empty to send now."
            )
        return value


def _fields(contact: Contact, workspace, user) -> dict[str, str]:
    return {
        "first_name": contact.first_name,
        "name": contact.name,
        "business": workspace.name,
        "me": user.first_name or "the team",
    }


def _issue_for(request, contact, item):
    from rapport.clients.models import Issue

    pk = (
        item.recovery[0]
        if item and item.recovery
        else request.GET.get("issue") or request.POST.get("issue")
    )
    if not pk or not str(pk).isdigit():
        return None
    return Issue.objects.in_workspace(contact.workspace).filter(pk=pk, contact=contact).first()


def _item_for(request, contact):
    pk = request.GET.get("item") or request.POST.get("item")
    if not pk or not str(pk).isdigit():
        return None
    return AgendaItem.objects.in_workspace(request.workspace).filter(pk=pk, contact=contact).first()


def _ask_problem(contact: Contact, kind: str) -> str:
    if kind == AskKind.RECOVERY:
        return ""
    blockers = engine.ask_blockers(contact)
    return f"No ask now — {blockers[0]}." if blockers else ""


def _channel_problem(contact: Contact, channel: str) -> str:
    """Why this contact cannot be sent an ask on this channel now, in words
    for the person about to press Send, or ''."""
    workspace = contact.workspace
    if channel == Channel.EMAIL:
        if not workspace.postal_address.strip():
            return (
                "Emails to clients need the business's postal address (the law asks for it in "
                "every one): add it in Settings, then send."
            )
        if not contact.email:
            return f"{contact.first_name} has no email address."
        if not contact.email_ok:
            return (
                f"{contact.first_name} has not agreed to receive emails; ask in person or by phone."
            )
        if Suppression.objects.covers(workspace, "email", contact.email):
            return f"{contact.email} unsubscribed or bounced; it is on the suppression list."
    if channel == Channel.SMS:
        if not contact.phone:
            return f"{contact.first_name} has no phone number."
        if not phones.is_e164(contact.phone):
            return f"{contact.phone} is not a phone number that can be texted; correct it first."
        if not contact.sms_ok:
            return f"{contact.first_name} has not agreed to receive texts."
        if Suppression.objects.covers(workspace, "sms", contact.phone):
            return f"{contact.first_name} replied STOP; no more texts."
    record = ConsentRecord.objects.latest_for(contact, channel)
    if record is None or not record.granted:
        what = "emails" if channel == Channel.EMAIL else "texts"
        return (
            f"{contact.first_name}'s agreement to {what} is not in the consent log: untick and "
            "tick it again on their record, saying how they agreed, to record it."
        )
    return ""


# The compose page is a form to send with: nothing in it for a read-only role.
@requires(Capability.WORK, reading=Capability.WORK)
def compose_ask(request, pk, channel):
    """Compose an ask by email or SMS from the script: preview, then send now or later."""
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise Http404("Unknown channel.")
    workspace = request.workspace
    contact = get_in_workspace(Contact.objects.active(), workspace, pk=pk)
    item = _item_for(request, contact)
    kind = request.GET.get("kind") or (ask_kind_for(item) if item else AskKind.REFERRAL)
    if kind not in AskKind.values:
        kind = AskKind.REFERRAL
    fields = _fields(contact, workspace, request.user)
    issue = _issue_for(request, contact, item) if kind == AskKind.RECOVERY else None
    if kind == AskKind.RECOVERY and issue is None:
        raise Http404("Which issue is this about?")
    if issue:
        fields["issue"] = issue.summary[:120].rstrip(". ")
    if item:
        engine.fill_scripts(workspace, [item])
        body = item.script
    else:
        body = render(bodies_for(workspace).get(SCRIPT_FOR_KIND[kind], ""), fields)
    initial = {"kind": kind, "body": body, "subject": render(SUBJECT_FOR_KIND[kind], fields)}
    form = ComposeForm(request.POST or None, initial=initial, channel=channel, tz=workspace.tzinfo)
    problem = _ask_problem(contact, kind) or _channel_problem(contact, channel)
    preview = None
    if request.method == "POST" and form.is_valid() and not problem:
        data = form.cleaned_data
        if "preview" in request.POST:
            preview = _preview(workspace, data, channel)
        else:
            ask = actions.start_ask(
                contact,
                kind=data["kind"],
                channel=channel,
                script=data["body"],
                by=request.user,
                issue=issue if data["kind"] == AskKind.RECOVERY else None,
                **_ask_context(item, data["kind"]),
            )
            if channel == Channel.EMAIL:
                compose.ask_email(
                    ask,
                    subject=data["subject"],
                    body=data["body"],
                    send_at=data["send_at"],
                    by=request.user,
                )
            else:
                compose.ask_sms(ask, body=data["body"], send_at=data["send_at"], by=request.user)
            if item:
                mark_asked(item, by=request.user)
            when = "is on its way"
            if data["send_at"]:
                local = timezone.localtime(data["send_at"], workspace.tzinfo)
                when = f"will go out on {local:%-d %b at %H:%M}"
            messages.success(request, f"The {channel} to {contact.first_name} {when}.")
            return redirect("clients:detail", pk=contact.pk)
    context = {
        "contact": contact,
        "form": form,
        "channel": channel,
        "problem": problem,
        "preview": preview,
        "item": item,
        "issue": issue,
        "nav": "today",
    }
    return TemplateResponse(
        request, "outreach/compose.html", context, status=422 if form.errors else 200
    )


def _ask_context(item, kind: str) -> dict[str, str]:
    """The script and moment an ask came from, for the insights."""
    if item is None or ask_kind_for(item) != kind:
        return {"script_key": SCRIPT_FOR_KIND[kind], "moment": ""}
    return {
        "script_key": item.script_key or SCRIPT_FOR_KIND[kind],
        "moment": item.moments[0] if item.moments else "",
    }


def _preview(workspace, data, channel) -> dict:
    sample = "https://…/c/(a private link for this client)"
    if channel == Channel.SMS:
        text = f"{data['body'].strip()}\n{sample}\n{workspace.name}. Reply STOP to opt out."
        return {"text": text}
    text, html = compose.client_email(
        workspace, paragraphs=data["body"].split("\n\n"), button="Open", link=compose.PAGE_LINK
    )
    links = {compose.PAGE_LINK: sample, compose.UNSUBSCRIBE_LINK: "https://…/u/(unsubscribe link)"}
    return {
        "subject": data["subject"],
        "text": compose.fill_links(text, links),
        "html": compose.fill_links(html, links, html=True),
    }


@work_required
@require_POST
def qr_ask(request, pk):
    """The point-of-sale ask: a QR code the client scans at the desk. The
    contact page's Ask form posts here for every channel: email and text go
    on to their compose page (a plain link, no token in it)."""
    contact = get_in_workspace(Contact.objects.active(), request.workspace, pk=pk)
    kind = request.POST.get("kind", AskKind.REFERRAL)
    if kind not in AskKind.values:
        kind = AskKind.REFERRAL
    channel = request.POST.get("channel")
    if channel in (Channel.EMAIL, Channel.SMS):
        url = reverse("outreach:compose", args=[contact.pk, channel])
        return redirect(f"{url}?{urlencode({'kind': kind})}")
    item = _item_for(request, contact)
    issue = _issue_for(request, contact, item) if kind == AskKind.RECOVERY else None
    if kind == AskKind.RECOVERY and issue is None:
        raise Http404("Which issue is this about?")
    problem = _ask_problem(contact, kind)
    if problem:
        messages.error(request, problem)
        return redirect("clients:detail", pk=contact.pk)
    ask = actions.start_ask(contact, kind=kind, channel=Channel.LINK, by=request.user, issue=issue)
    if item:
        mark_asked(item, by=request.user)
    return redirect("outreach:card", pk=ask.pk)


@work_required
def card(request, pk):
    ask = get_in_workspace(Ask.objects.select_related("contact"), request.workspace, pk=pk)
    if not ask.token_salt:
        raise Http404("This ask has no client page.")
    url = compose.page_url(ask)
    qr = segno.make(url, error="m")
    context = {
        "ask": ask,
        "contact": ask.contact,
        "url": url,
        "qr_svg": qr.svg_inline(scale=6, dark="#1b2421", omitsize=True),
        "nav": "today",
    }
    return TemplateResponse(request, "outreach/card.html", context)


@work_required
def outbox(request):
    status = request.GET.get("status", "")
    queryset = OutboundMessage.objects.in_workspace(request.workspace).select_related("contact")
    if status in OutboundMessage.Status.values:
        queryset = queryset.filter(status=status)
    counts = {
        row["status"]: row["n"]
        for row in OutboundMessage.objects.in_workspace(request.workspace)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    }
    context = {
        "messages_page": queryset[:200],
        "status": status,
        "statuses": [(v, label, counts.get(v, 0)) for v, label in OutboundMessage.Status.choices],
        "nav": "outbox",
    }
    return TemplateResponse(request, "outreach/outbox.html", context)


@work_required
@require_POST
def retry(request, pk):
    message = get_in_workspace(OutboundMessage.objects.all(), request.workspace, pk=pk)
    if message.status != OutboundMessage.Status.FAILED:
        messages.error(request, "Only a failed message can be sent again.")
        return redirect("outreach:outbox")
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.FAILED).update(
        status=OutboundMessage.Status.QUEUED, next_attempt_at=timezone.now(), attempts=0, failure=""
    )
    from rapport.outreach.tasks import deliver_message

    deliver_message.enqueue(message.pk)
    messages.success(request, f"The message to {message.to_address} will be tried again.")
    return redirect("outreach:outbox")


@export_required
def export_contact(request, pk):
    contact = get_in_workspace(Contact.objects.active(), request.workspace, pk=pk)
    audit.record(
        audit.Kind.EXPORT,
        workspace=request.workspace,
        target=audit.target(contact),
        detail={"what": "contact data (GDPR export)"},
        request=request,
    )
    response = HttpResponse(privacy.export(contact), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.external_id}.json"'
    return response


@erase_required
def erase_contact(request, pk):
    contact = get_in_workspace(Contact.objects.active(), request.workspace, pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == contact.name:
        name, target = contact.name, audit.target(contact)
        privacy.erase(contact)
        # The id only: the log must hold nothing of the person once erased.
        audit.record(
            audit.Kind.ERASURE, workspace=request.workspace, target=target, request=request
        )
        store.refresh(request.workspace)
        messages.success(request, f"{name} was erased. Only a hashed suppression entry remains.")
        return redirect("clients:list")
    wrong = request.method == "POST"
    return TemplateResponse(
        request, "outreach/erase.html", {"contact": contact, "wrong": wrong, "nav": "contacts"}
    )


def logo(request, workspace_id):
    """Workspace logos are public: they brand the client pages."""
    from rapport.workspaces.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).exclude(logo="").first()
    if workspace is None:
        raise Http404("No logo.")
    response = FileResponse(workspace.logo.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@work_form_required
@require_http_methods(["GET", "POST"])
def item_outcome(request, pk):
    """The outcome of an ask made from an agenda item: the form (GET), then
    the outcome recorded in one step (POST)."""
    item = get_item(request, pk)
    if item.action not in OUTCOME_ACTIONS:
        raise Http404("This item is not an ask.")
    template = "outreach/item_outcome.html"
    if request.method != "POST":
        return item_form(request, item, template, OutcomeForm(today=request.workspace.today()))
    form = OutcomeForm(request.POST, today=request.workspace.today())
    if not form.is_valid():
        return item_form(request, item, template, form, status=422)
    data = form.cleaned_data
    ask = actions.record_item_outcome(
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
    return item_response(request, item, message)


@work_required
@require_POST
def winback_batch(request):
    """Today's win-back calls beyond the day's capacity, sent as emails."""
    capacity = request.membership.daily_capacity
    scope = "all" if request.POST.get("scope") == "all" else "mine"
    items = in_scope(request.workspace, request.user, scope=scope)
    beyond = beyond_capacity(items, capacity, Action.REACTIVATE).select_related("contact")
    sent, skipped = automation.send_winback_batch(request.workspace, beyond, by=request.user)
    message = f"{sent} win-back email{'s' if sent != 1 else ''} on their way."
    if skipped:
        reasons = "; ".join(f"{n} — {why}" for why, n in skipped.most_common(3))
        message += f" Not sent, and still on the list: {reasons}."
    messages.success(request, message)
    return redirect("agenda:today")
