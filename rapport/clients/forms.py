from django import forms

from rapport.clients.models import (
    ActivityKind,
    Contact,
    Deal,
    Direction,
    Organization,
    PermissionKind,
    Signal,
    Stage,
)
from rapport.lib import phones

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ContactForm(forms.ModelForm):
    organization_name = forms.CharField(label="Organization", max_length=200, required=False)
    tag_names = forms.CharField(
        label="Tags", required=False, help_text="Separated by semicolons, e.g. family; hygiene"
    )

    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "organization_name",
            "stage",
            "relationship",
            "source",
            "owner",
            "email_ok",
            "sms_ok",
            "recall_interval_days",
            "tag_names",
            "address",
            "notes",
        ]
        labels = {
            "email_ok": "Agreed to receive emails from us",
            "sms_ok": "Agreed to receive text messages from us",
            "relationship": "Relationship (1–10)",
            "recall_interval_days": "Routine visit every (days)",
            "owner": "Looked after by",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        from django.contrib.auth import get_user_model

        self.fields["owner"].queryset = get_user_model().objects.filter(
            memberships__workspace=workspace
        )
        self.fields["owner"].label_from_instance = lambda u: u.first_name or u.email or u.username
        if self.instance.pk:
            if self.instance.organization:
                self.fields["organization_name"].initial = self.instance.organization.name
            self.fields["tag_names"].initial = "; ".join(t.name for t in self.instance.tags.all())
            # The ladder's history is kept: changes go through change_stage.
            del self.fields["stage"]
            # Stored as E.164, shown back the way people write it at home.
            self.initial["phone"] = phones.display(self.instance.phone, workspace.phone_region)
        self.fields["phone"].help_text = (
            "Without a country code, read as a number of "
            f"{dict(phones.region_choices()).get(workspace.phone_region, workspace.phone_region)}."
        )

    def clean_email(self):
        return self.cleaned_data["email"].lower()

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        try:
            return phones.to_e164(raw, self.workspace.phone_region)
        except phones.InvalidPhone as error:
            raise forms.ValidationError(
                f"{error}. Type it as you would dial it, or with + and the country code."
            ) from None

    def organization(self):
        name = self.cleaned_data.get("organization_name", "").strip()
        if not name:
            return None
        org, _ = Organization.objects.get_or_create(workspace=self.workspace, name=name)
        return org

    def tag_list(self) -> list[str]:
        raw = self.cleaned_data.get("tag_names", "")
        return list(dict.fromkeys(t.strip() for t in raw.split(";") if t.strip()))


class ActivityForm(forms.Form):
    prefix = "activity"

    kind = forms.ChoiceField(choices=ActivityKind.choices, initial=ActivityKind.CALL)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.OUT)
    occurred_on = forms.DateField(label="Date", widget=DATE_INPUT)
    text = forms.CharField(
        label="What happened",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Their words are read for moments"}),
    )
    signals = forms.MultipleChoiceField(
        label="Moments", choices=Signal.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class PurchaseForm(forms.Form):
    prefix = "purchase"

    date = forms.DateField(widget=DATE_INPUT)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    description = forms.CharField(max_length=200, required=False)


class IssueForm(forms.Form):
    prefix = "issue"

    summary = forms.CharField(label="What went wrong", widget=forms.Textarea(attrs={"rows": 2}))
    opened_on = forms.DateField(label="Raised on", widget=DATE_INPUT)


class ResolveIssueForm(forms.Form):
    resolution = forms.CharField(label="How it was put right", required=False, max_length=500)


class PermissionForm(forms.Form):
    prefix = "permission"

    kind = forms.ChoiceField(label="They agreed to be asked for", choices=PermissionKind.choices)
    ask_after = forms.DateField(label="Ask on or after", widget=DATE_INPUT)
    note = forms.CharField(required=False, max_length=300, label="Their words (optional)")

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_ask_after(self):
        ask_after = self.cleaned_data["ask_after"]
        if self.today and ask_after < self.today:
            raise forms.ValidationError("The date must be today or later.")
        return ask_after


class StageForm(forms.Form):
    prefix = "stage"

    stage = forms.ChoiceField(choices=Stage.choices, label="Loyalty ladder")


class RelationshipForm(forms.Form):
    prefix = "rel"

    relationship = forms.TypedChoiceField(
        label="Relationship",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "not rated")] + [(i, f"{i}/10") for i in range(1, 11)],
    )


class DealForm(forms.ModelForm):
    prefix = "deal"

    class Meta:
        model = Deal
        fields = ["title", "stage", "value", "won_on", "completed_on"]
        widgets = {"won_on": DATE_INPUT, "completed_on": DATE_INPUT}

    def clean(self):
        data = super().clean()
        won_on, completed_on = data.get("won_on"), data.get("completed_on")
        if won_on and completed_on and completed_on < won_on:
            self.add_error("completed_on", "A project is completed after it was won.")
        if data.get("stage") == "completed" and not completed_on:
            self.add_error("completed_on", "When was it completed?")
        return data


class ContactFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    readiness = forms.ChoiceField(
        required=False,
        choices=[("", "Any readiness"), ("ready", "Ready to ask"), ("not_ready", "Not ready yet")],
    )
    open_issue = forms.ChoiceField(
        required=False,
        label="Open issue",
        choices=[("", "Any"), ("yes", "Has an open issue"), ("no", "No open issue")],
    )
    moment = forms.ChoiceField(
        required=False, label="Moment", choices=[("", "Any"), ("yes", "Has a fresh moment")]
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("-readiness", "Readiness"), ("-created_at", "Newest")],
    )
