"""Forms of win-back calls and service recovery steps."""

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model

from rapport.kinds import Channel
from rapport.outreach.models import Outcome


class FixForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False)
    due = forms.DateField()
    plan = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(
            memberships__workspace=workspace
        )


class ResolveForm(forms.Form):
    resolution = forms.CharField(required=False, max_length=500, label="How it was put right")


class NotFixedForm(forms.Form):
    words = forms.CharField(max_length=1000, label="Not fixed — in their words")


class ReactivationForm(forms.Form):
    """What came of a win-back call (actions.record_reactivation)."""

    outcome = forms.ChoiceField(
        choices=[
            (Outcome.YES, "Coming back"),
            (Outcome.LATER, "Not now"),
            (Outcome.DECLINED, "Not interested"),
            (Outcome.PROBLEM, "A problem came up"),
        ]
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    booked_on = forms.DateField(required=False)
    until = forms.DateField(required=False)
    words = forms.CharField(required=False, max_length=1000)
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == Outcome.LATER:
            until = data.get("until")
            if not until:
                self.add_error("until", "On which day should we call again?")
            elif until <= self.today:
                self.add_error("until", "Choose a day after today.")
        booked_on = data.get("booked_on")
        if outcome == Outcome.YES and booked_on and booked_on < self.today:
            self.add_error("booked_on", "The booking cannot be in the past.")
        if outcome == Outcome.PROBLEM and not (data.get("words") or "").strip():
            self.add_error("words", "What did they say? Their words open the issue.")
        return data
