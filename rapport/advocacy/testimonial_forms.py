"""Forms for testimonials, review sites, references and the insights period."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from rapport.advocacy.models import MaterialConnection, Reference, ReviewSite, Testimonial

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SuggestEditForm(forms.Form):
    text = forms.CharField(
        label="Suggested words",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=3000,
        help_text="The client sees both versions and decides; nothing is published before.",
    )


class TagsForm(forms.Form):
    tags = forms.CharField(
        label="Tags", required=False, max_length=300, help_text="Separated by commas."
    )


class ConnectionForm(forms.Form):
    material_connection = forms.ChoiceField(
        label="Connection to us", choices=MaterialConnection.choices
    )
    connection_note = forms.CharField(
        label="Disclosure (for another connection)", required=False, max_length=160
    )

    def clean(self):
        data = super().clean()
        if data.get("material_connection") == "other" and not data.get("connection_note", ""):
            self.add_error("connection_note", "Say what the connection is: it is shown as written.")
        return data


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "To moderate"), ("all", "All"), *Testimonial.Status.choices]
    )
    tag = forms.CharField(required=False, max_length=40)


class ClientConsentForm(forms.Form):
    """What the client allows, on their own page."""

    publish = forms.BooleanField(required=False)
    display = forms.ChoiceField(label="Show my name as", widget=forms.RadioSelect)
    photo = forms.BooleanField(required=False)
    reference = forms.BooleanField(required=False)

    def __init__(self, *args, choices, business: str, has_photo: bool, **kwargs):
        super().__init__(*args, **kwargs)
        from rapport.outreach.actions import (
            CONSENT_PHOTO_TEXT,
            CONSENT_PUBLISH_TEXT,
            CONSENT_REFERENCE_TEXT,
        )

        self.fields["display"].choices = choices
        self.fields["publish"].label = CONSENT_PUBLISH_TEXT.format(business=business)
        self.fields["reference"].label = CONSENT_REFERENCE_TEXT.format(business=business)
        if has_photo:
            self.fields["photo"].label = CONSENT_PHOTO_TEXT.format(business=business)
        else:
            del self.fields["photo"]


class ReviewSiteForm(forms.ModelForm):
    url = forms.URLField(label="Address of your review page", max_length=500, assume_scheme="https")

    class Meta:
        model = ReviewSite
        fields = ["platform", "url", "label", "position", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url.lower().startswith("https://"):
            raise ValidationError("Use the page's https:// address.")
        return url


class ReferenceForm(forms.ModelForm):
    class Meta:
        model = Reference
        fields = ["industry", "need", "blurb", "monthly_limit", "active"]

    def clean_monthly_limit(self):
        value = self.cleaned_data["monthly_limit"]
        if not 1 <= value <= 20:
            raise ValidationError("Between 1 and 20 requests a month.")
        return value


class NewReferenceForm(ReferenceForm):
    contact = forms.TypedChoiceField(coerce=int, label="Client")

    class Meta(ReferenceForm.Meta):
        fields = ["contact", "industry", "need", "blurb", "monthly_limit"]

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [(c.pk, c.name) for c in contacts]


class ShareForm(forms.Form):
    label = forms.CharField(label="For", max_length=120, help_text="The prospect or the occasion.")
    days = forms.TypedChoiceField(
        label="Open for",
        coerce=int,
        choices=[(14, "2 weeks"), (30, "30 days"), (60, "60 days"), (180, "6 months")],
        initial=60,
    )


class ReferenceRequestForm(forms.Form):
    reference = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(label="Your name", max_length=120)
    email = forms.EmailField(label="Your email")
    phone = forms.CharField(label="Your phone (optional)", max_length=40, required=False)
    company = forms.CharField(label="Your company (optional)", max_length=120, required=False)
    message = forms.CharField(
        label="What would you like to ask them? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )


class ReferenceAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[("yes", "Yes, I will speak to them"), ("no", "No, not this time")],
        widget=forms.RadioSelect,
        label="Will you speak to them?",
    )
    share_email = forms.BooleanField(required=False, initial=True)
    share_phone = forms.BooleanField(required=False)

    def __init__(self, *args, contact, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["share_email"].label = f"Give them my email ({contact.email})"
        self.fields["share_phone"].label = f"Give them my phone ({contact.phone})"
        if not contact.email:
            del self.fields["share_email"]
        if not contact.phone:
            del self.fields["share_phone"]


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=DATE_INPUT, required=False)
    end = forms.DateField(label="To", widget=DATE_INPUT, required=False)

    MAX_DAYS = 3 * 366
    DEFAULT_DAYS = 365  # referrals come slowly: a year shows which words work

    def __init__(self, *args, today: dt.date, **kwargs):
        kwargs.setdefault(
            "initial", {"start": today - dt.timedelta(days=self.DEFAULT_DAYS - 1), "end": today}
        )
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(days=self.DEFAULT_DAYS - 1)
        if start > end:
            raise ValidationError("The period starts after it ends.")
        if (end - start).days > self.MAX_DAYS:
            raise ValidationError("Choose a period of at most three years.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.today - dt.timedelta(days=self.DEFAULT_DAYS - 1), self.today
