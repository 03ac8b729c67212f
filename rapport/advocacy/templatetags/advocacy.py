"""The referral panel of the contact page, as an inclusion tag: the contact
page (clients) shows it without importing anything from advocacy."""

from django import template
from django.db.models import Prefetch

from rapport.advocacy.facts import referrer_credit
from rapport.advocacy.forms import ReferralForm, ReferralGivenForm
from rapport.advocacy.models import (
    MergeSuggestion,
    Referral,
    ReferralCode,
    ReferralGiven,
    Reward,
    ThankYou,
)

register = template.Library()


@register.inclusion_tag("advocacy/contact_panel.html", takes_context=True)
def referral_panel(context, contact):
    request = context["request"]
    workspace = request.workspace
    today = workspace.today()
    forms = getattr(request, "advocacy_forms", {})
    made = (
        Referral.objects.filter(workspace=workspace, referrer=contact)
        .select_related("referred", "introduction")
        .prefetch_related(Prefetch("rewards", queryset=Reward.objects.order_by("pk")))
    )
    received = (
        Referral.objects.filter(workspace=workspace, referred=contact)
        .select_related("referrer", "introduction")
        .first()
    )
    n, won, value = referrer_credit(workspace, [contact.pk]).get(contact.pk, (0, 0, 0))
    suggestions = MergeSuggestion.objects.filter(
        workspace=workspace, status=MergeSuggestion.Status.OPEN
    ).filter(contact=contact) | MergeSuggestion.objects.filter(
        workspace=workspace, status=MergeSuggestion.Status.OPEN, candidate=contact
    )
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "contact": contact,
        "made": made,
        "received": received,
        "credit": {"n": n, "won": won, "value": value},
        "code": ReferralCode.objects.live().filter(contact=contact).first(),
        "rewards": Reward.objects.filter(workspace=workspace, contact=contact),
        "thank_yous": ThankYou.objects.open().filter(workspace=workspace, contact=contact),
        "gives": ReferralGiven.objects.filter(workspace=workspace, contact=contact)[:10],
        "suggestions": suggestions.select_related("contact", "candidate")[:5],
        "referral_form": forms.get("referral_form") or ReferralForm(initial={"date": today}),
        "given_form": forms.get("given_form") or ReferralGivenForm(initial={"given_on": today}),
        "today": today,
        "statuses": Referral.Status.choices,
        "lost_reasons": Referral.LostReason.choices,
    }
