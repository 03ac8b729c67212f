import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from rapport.advocacy.models import (
    GiveOutcome,
    Referral,
    ReferralProgram,
    RewardRule,
    ThankYou,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReferralForm(forms.Form):
    """A referral the contact made: the person they sent our way."""

    prefix = "referral"

    first_name = forms.CharField(max_length=100, label="Their first name")
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=40, required=False)
    date = forms.DateField(widget=DATE_INPUT)
    how = forms.ChoiceField(
        choices=[
            (v, label)
            for v, label in Referral.How.choices
            if v not in (Referral.How.IMPORTED, Referral.How.LINK)
        ],
        initial=Referral.How.NAMES_GIVEN,
    )
    unsolicited = forms.BooleanField(required=False, label="They did it without being asked")
    intro = forms.BooleanField(
        required=False,
        label="Double-opt-in introduction: keep their details sealed until they say yes",
    )
    note = forms.CharField(max_length=500, required=False, label="How they know them")


class ReferralGivenForm(forms.Form):
    prefix = "given"

    description = forms.CharField(
        max_length=200, label="What for", help_text="The need it answered, e.g. a new accountant."
    )
    introduced = forms.CharField(max_length=200, required=False, label="Whom we sent their way")
    given_on = forms.DateField(widget=DATE_INPUT, label="Date")


class GiveOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=GiveOutcome.choices)


class MoveForm(forms.Form):
    """A move on the board (or the contact page): to a step, with a reason
    when lost, and what won it when won."""

    status = forms.ChoiceField(choices=Referral.Status.choices)
    lost_reason = forms.ChoiceField(
        choices=[("", "Why?"), *Referral.LostReason.choices], required=False
    )
    lost_note = forms.CharField(max_length=300, required=False)
    value = forms.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    won_fact = forms.CharField(required=False)  # "deal:12" or "purchase:7"

    def clean(self):
        data = super().clean()
        if data.get("status") == Referral.Status.LOST and not data.get("lost_reason"):
            self.add_error("lost_reason", "Say why it was lost.")
        fact = data.get("won_fact") or ""
        kind, _, pk = fact.partition(":")
        if fact and (kind not in ("deal", "purchase") or not pk.isdigit()):
            self.add_error("won_fact", "Choose a deal or a purchase.")
        return data


AGE_CHOICES = [
    ("", "Any age"),
    ("week", "This week"),
    ("month", "Under a month"),
    ("older", "Older than a month"),
    ("stale", "Untouched for a week"),
]


class BoardFilterForm(forms.Form):
    referrer = forms.CharField(required=False, label="Referred by")
    how = forms.ChoiceField(required=False, choices=[("", "Any source"), *Referral.How.choices])
    age = forms.ChoiceField(required=False, choices=AGE_CHOICES)

    def since(self, today: dt.date):
        age = self.cleaned_data.get("age")
        if age == "week":
            return today - dt.timedelta(days=7), None
        if age == "month":
            return today - dt.timedelta(days=30), None
        if age == "older":
            return None, today - dt.timedelta(days=31)
        return None, None


class ProgramForm(forms.ModelForm):
    class Meta:
        model = ReferralProgram
        fields = ["profile", "headline", "pitch", "currency"]
        widgets = {"pitch": forms.Textarea(attrs={"rows": 4}), "profile": forms.RadioSelect}

    def others(self):
        return [self[name] for name in self.fields if name != "profile"]

    def clean_currency(self):
        value = self.cleaned_data["currency"].strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise ValidationError("Three letters, like USD, GBP or EUR.")
        return value


class RewardRuleForm(forms.ModelForm):
    class Meta:
        model = RewardRule
        fields = [
            "name",
            "wording",
            "recipient",
            "trigger",
            "kind",
            "amount",
            "percent",
            "valid_days",
            "cap_count",
            "cap_period",
            "active",
        ]
        labels = {"cap_count": "Cap", "valid_days": "Valid for (days)"}


class LeadForm(forms.Form):
    """The landing page's short form."""

    first_name = forms.CharField(max_length=100, label="Your first name")
    last_name = forms.CharField(max_length=100, required=False, label="Last name")
    email = forms.EmailField(required=False, label="Email")
    phone = forms.CharField(max_length=40, required=False, label="Phone")
    note = forms.CharField(
        max_length=1000,
        required=False,
        label="Anything we should know? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    email_ok = forms.BooleanField(required=False)
    # A field people never see: bots fill it in.
    website = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, business: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email_ok"].label = f"{business} may email me about getting started."

    def person(self) -> dict:
        """The lead, as `actions.record_lead` takes it."""
        fields = ("first_name", "last_name", "email", "phone", "note", "email_ok")
        return {name: self.cleaned_data[name] for name in fields}

    def clean(self):
        data = super().clean()
        if not (data.get("email") or (data.get("phone") or "").strip()):
            raise ValidationError("Leave an email or a phone number so we can reach you.")
        return data


class DeskLeadForm(LeadForm):
    """The same, typed by staff at the desk for someone who brought a code."""


class AcceptForm(forms.Form):
    use_sealed = forms.BooleanField(required=False)
    email = forms.EmailField(required=False, label="Your email")
    phone = forms.CharField(max_length=40, required=False, label="Or your phone")

    def __init__(self, *args, has_sealed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_sealed = has_sealed

    def clean(self):
        data = super().clean()
        given = data.get("email") or (data.get("phone") or "").strip()
        if not given and not (self.has_sealed and data.get("use_sealed")):
            raise ValidationError("Tell us how to reach you: an email or a phone number.")
        return data


class ThankYouEmailForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 7}), max_length=4000)


class ThankYouKindForm(forms.Form):
    kind = forms.ChoiceField(choices=ThankYou.Kind.choices)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=40, label="Code")


class TestimonialForm(forms.Form):
    prefix = "testimonial"

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Their words")
    rating = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "—")] + [(i, f"{i} of 5") for i in range(1, 6)],
    )
    received_on = forms.DateField(widget=DATE_INPUT, label="Received on")
    unsolicited = forms.BooleanField(required=False, initial=True, label="Sent without being asked")
