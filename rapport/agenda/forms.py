import datetime as dt

from django import forms

from rapport.agenda.scripts import MERGE_FIELDS, unknown_fields
from rapport.kinds import Channel
from rapport.outreach.models import Outcome


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (Outcome.YES, "Said yes"),
            (Outcome.GAVE_NAMES, "Gave names"),
            (Outcome.LATER, "Ask me after…"),
            (Outcome.DECLINED, "Declined"),
            (Outcome.PENDING, "Asked, waiting"),
            (Outcome.NO_ANSWER, "No answer"),
        ]
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    ask_after = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # Up to five people given at once, each name with a way to reach them.
        self.people_rows = []
        for n in range(1, 6):
            self.fields[f"name_{n}"] = forms.CharField(
                required=False, max_length=200, label=f"Name {n}"
            )
            self.fields[f"reach_{n}"] = forms.CharField(
                required=False, max_length=200, label=f"Email or phone {n}"
            )
            self.people_rows.append((f"name_{n}", f"reach_{n}"))

    @property
    def people_fields(self):
        """The (name, reach) bound fields, for a template to re-show what was typed."""
        return [(self[name], self[reach]) for name, reach in self.people_rows]

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Outcome.LATER:
            ask_after = data.get("ask_after")
            if not ask_after:
                self.add_error("ask_after", "On which date may we ask again?")
            elif ask_after <= self.today:
                self.add_error("ask_after", "Choose a date after today.")
        people = []
        for name_field, reach_field in self.people_rows:
            name = (data.get(name_field) or "").strip()
            reach = (data.get(reach_field) or "").strip()
            if not name and not reach:
                continue
            if not name:
                self.add_error(name_field, "A name is needed with this email or phone.")
                continue
            first, _, last = name.partition(" ")
            person = {"first_name": first, "last_name": last}
            if "@" in reach:
                try:
                    forms.EmailField().clean(reach)
                except forms.ValidationError:
                    self.add_error(reach_field, "This is not a valid email address.")
                    continue
                person["email"] = reach.lower()
            else:
                person["phone"] = reach
            people.append(person)
        if data.get("outcome") == Outcome.GAVE_NAMES and not people and not self.errors:
            self.add_error(None, "Enter the names they gave.")
        data["people"] = people
        return data


class SnoozeForm(forms.Form):
    until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError("Snooze until a day after today.")
        return until


class ScriptForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=5000)

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = unknown_fields(body)
        if unknown:
            known = ", ".join("{" + name + "}" for name in MERGE_FIELDS)
            raise forms.ValidationError(
                f"Unknown merge field {', '.join('{' + u + '}' for u in unknown)}. Known: {known}."
            )
        return body
