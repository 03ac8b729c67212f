import datetime as dt
import zoneinfo

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.text import slugify

from rapport.lib import phones
from rapport.workspaces.models import (
    DEFAULT_MOMENT_WINDOWS,
    DEFAULT_TOUCH_CADENCE,
    Membership,
    Role,
    Workspace,
)

User = get_user_model()

TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
# The regions of the IANA database, each an <optgroup> of the picker; the
# old aliases (US/Eastern, GB, EST5EDT, Etc/GMT+5) go last, under "Other".
TIME_ZONE_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def _zone_label(zone: str) -> str:
    return zone.split("/", 1)[-1].replace("/", " / ").replace("_", " ")


def time_zone_choices() -> list:
    """Grouped by region, sorted by place within it: "Europe" → "London"."""
    groups: dict[str, list] = {region: [] for region in TIME_ZONE_REGIONS}
    other = []
    for zone in TIME_ZONES:
        region = zone.split("/", 1)[0]
        if region in groups and "/" in zone:
            groups[region].append((zone, _zone_label(zone)))
        elif zone != "UTC":
            other.append((zone, zone.replace("_", " ")))
    return [
        ("Universal", [("UTC", "UTC")]),
        *[(region, sorted(zones, key=lambda c: c[1])) for region, zones in groups.items()],
        ("Other", other),
    ]


TIME_ZONE_CHOICES = time_zone_choices()


class TimeZoneSelect(forms.Select):
    """A <select> grouped by region — it works without JavaScript, and a
    browser's select jumps to what one types — plus a filter box, shown by
    rapport.js only, that narrows the list to the zones matching the words
    typed ("york", "buenos", "kolkata")."""

    template_name = "workspaces/widgets/time_zone.html"


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class WorkspaceFields(forms.Form):
    workspace_name = forms.CharField(label="Business name", max_length=120)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC", widget=TimeZoneSelect)


class SignupForm(WorkspaceFields):
    """The first step of sign-up. No password yet: it is chosen from the
    link in the confirmation email, so an account exists only for someone
    who reads that inbox, and the page answers the same whether or not the
    address already has an account."""

    first_name = forms.CharField(label="Your first name", max_length=150)
    email = forms.EmailField(label="Email")
    field_order = ["first_name", "email", "workspace_name", "time_zone"]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class ChoosePasswordForm(forms.Form):
    """The last step of sign-up, from the emailed link."""

    password = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def __init__(self, *args, email: str, first_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = User(username=email, email=email, first_name=first_name)

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, self.user)
        return password


class LoginForm(AuthenticationForm):
    """Django's form with the address normalised as sign-up stores it, so
    `Alice@Example.com` signs in, and is counted by the throttle, as
    `alice@example.com`."""

    username = forms.CharField(
        label="Email", max_length=254, widget=forms.TextInput(attrs={"autofocus": True})
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class WorkspaceSettingsForm(forms.ModelForm):
    """The workspace's own rules: threshold, cooldowns, windows, touch plan."""

    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, widget=TimeZoneSelect)
    phone_region = forms.ChoiceField(
        label="Phone numbers are in",
        required=False,
        help_text="Numbers typed without + and a country code are read as numbers of this "
        "country, and shown in its format.",
    )

    class Meta:
        model = Workspace
        fields = [
            "name",
            "time_zone",
            "phone_region",
            "postal_address",
            "brand_colour",
            "logo",
            "readiness_threshold",
            "ask_cooldown_days",
            "decline_holdback_days",
            "recall_interval_days",
            "agenda_refresh_hour",
            "recovery_confirm_days",
            "recovery_wait_days",
            "daily_email_limit",
        ]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        workspace = self.instance
        self.fields["phone_region"].choices = phones.region_choices()
        for kind, default in DEFAULT_MOMENT_WINDOWS.items():
            self.fields[f"window_{kind}"] = forms.IntegerField(
                label=kind.replace("_", " ").capitalize(),
                min_value=0,
                max_value=365,
                initial=workspace.moment_windows.get(kind, default),
                help_text=f"days (default {default})",
            )
        for stage, default in DEFAULT_TOUCH_CADENCE.items():
            self.fields[f"cadence_{stage}"] = forms.IntegerField(
                label=stage.replace("_", " ").capitalize(),
                min_value=0,
                max_value=730,
                initial=workspace.touch_cadence.get(stage, default),
                help_text=f"days between touches (default {default}; 0 = none)",
            )

    BRAND = ["name", "time_zone", "phone_region", "postal_address", "brand_colour", "logo"]

    def clean_phone_region(self):
        # Left out (an older form, a script): the workspace keeps its own.
        return self.cleaned_data.get("phone_region") or self.instance.phone_region

    RESPECT = [
        "readiness_threshold",
        "ask_cooldown_days",
        "decline_holdback_days",
        "recall_interval_days",
        "agenda_refresh_hour",
        "recovery_confirm_days",
        "recovery_wait_days",
        "daily_email_limit",
    ]

    def brand_fields(self):
        return [self[name] for name in self.BRAND]

    def respect_fields(self):
        return [self[name] for name in self.RESPECT]

    def clean_logo(self):
        """Re-encoded as a small PNG: only a real image is kept, and client
        pages stay light."""
        logo = self.cleaned_data.get("logo")
        if not logo or not hasattr(logo, "content_type"):
            return logo  # unchanged or cleared
        import io

        from django.core.files.uploadedfile import InMemoryUploadedFile
        from PIL import Image, UnidentifiedImageError

        if logo.size > 4 * 1024 * 1024:
            raise forms.ValidationError("The logo is larger than 4 MB.")
        try:
            with Image.open(logo) as image:
                image.load()
                picture = image.convert("RGBA")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise forms.ValidationError("This file is not an image we can read.") from None
        picture.thumbnail((320, 120))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", optimize=True)
        size = buffer.tell()
        buffer.seek(0)
        return InMemoryUploadedFile(buffer, "logo", "logo.png", "image/png", size, None)

    def window_fields(self):
        return [self[f"window_{kind}"] for kind in DEFAULT_MOMENT_WINDOWS]

    def cadence_fields(self):
        return [self[f"cadence_{stage}"] for stage in DEFAULT_TOUCH_CADENCE]

    def save(self, commit=True):
        workspace = super().save(commit=False)
        workspace.moment_windows = {
            kind: self.cleaned_data[f"window_{kind}"]
            for kind, default in DEFAULT_MOMENT_WINDOWS.items()
            if self.cleaned_data[f"window_{kind}"] != default
        }
        workspace.touch_cadence = {
            stage: self.cleaned_data[f"cadence_{stage}"]
            for stage, default in DEFAULT_TOUCH_CADENCE.items()
            if self.cleaned_data[f"cadence_{stage}"] != default
        }
        if commit:
            workspace.save()
        return workspace


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if Membership.objects.filter(
            workspace=self.workspace, user__username__iexact=email
        ).exists():
            raise forms.ValidationError("This person is already a member.")
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label="Event")
    person = forms.ModelChoiceField(queryset=None, required=False, label="By")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, workspace, **kwargs):
        from rapport.workspaces.models import AuditKind

        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["kind"].choices = [("", "All events"), *AuditKind.choices]
        self.fields["person"].queryset = User.objects.filter(
            memberships__workspace=workspace
        ).order_by("first_name", "email")
        self.fields["person"].label_from_instance = lambda u: u.get_full_name() or u.email

    def filter(self, events):
        data = self.cleaned_data
        if data.get("kind"):
            events = events.filter(kind=data["kind"])
        if data.get("person"):
            events = events.filter(actor_id=data["person"].pk)
        tz = self.workspace.tzinfo
        if data.get("since"):
            start = dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz)
            events = events.filter(at__gte=start)
        if data.get("until"):
            end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            events = events.filter(at__lt=end)
        return events
