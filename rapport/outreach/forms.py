import datetime as dt
import io

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile

from rapport.outreach.actions import (
    CONSENT_PHOTO_TEXT,
    CONSENT_PUBLISH_TEXT,
    CONSENT_REFERENCE_TEXT,
)

NAME_ROWS = 6
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIDE = 1200


class NamesForm(forms.Form):
    """Several people at once: "give all of them to me now"."""

    def __init__(self, *args, business: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for n in range(1, NAME_ROWS + 1):
            self.fields[f"name_{n}"] = forms.CharField(label="Name", max_length=200, required=False)
            self.fields[f"reach_{n}"] = forms.CharField(
                label="Email or phone", max_length=200, required=False
            )
            self.fields[f"how_{n}"] = forms.CharField(
                label="How you know them", max_length=200, required=False
            )
            self.fields[f"mention_{n}"] = forms.BooleanField(
                label="You may tell them I suggested it", required=False
            )
            self.fields[f"intro_{n}"] = forms.BooleanField(
                label=f"I'll introduce them to {business} myself", required=False
            )
            self.rows.append(
                [self[f"{f}_{n}"] for f in ("name", "reach", "how", "mention", "intro")]
            )

    def clean(self):
        data = super().clean()
        people = []
        for n in range(1, NAME_ROWS + 1):
            name = (data.get(f"name_{n}") or "").strip()
            reach = (data.get(f"reach_{n}") or "").strip()
            if not name and not reach:
                continue
            if not name:
                self.add_error(f"name_{n}", "Please add their name.")
                continue
            first, _, last = name.partition(" ")
            person = {
                "first_name": first[:100],
                "last_name": last[:100],
                "note": (data.get(f"how_{n}") or "").strip(),
                "may_mention": bool(data.get(f"mention_{n}")),
                "wants_intro": bool(data.get(f"intro_{n}")),
            }
            if "@" in reach:
                try:
                    forms.EmailField().clean(reach)
                except ValidationError:
                    self.add_error(f"reach_{n}", "This email address does not look right.")
                    continue
                person["email"] = reach.lower()
            else:
                person["phone"] = reach[:40]
            people.append(person)
        if not people and not self.errors:
            raise ValidationError("Add at least one name.")
        data["people"] = people
        return data


DISPLAY_CHOICES = [
    ("full", "My full name"),
    ("first_initial", "My first name and initial"),
    ("initials", "My initials"),
    ("anonymous", "Anonymous"),
]


def display_name(choice: str, first: str, last: str) -> str:
    if choice == "full":
        return f"{first} {last}".strip()
    if choice == "first_initial":
        return f"{first} {last[:1]}.".strip() if last else first
    if choice == "initials":
        return "".join(part[:1] + "." for part in (first, last) if part)
    return "Anonymous"


class TestimonialForm(forms.Form):
    text = forms.CharField(
        label="In your own words", widget=forms.Textarea(attrs={"rows": 5}), max_length=3000
    )
    rating = forms.TypedChoiceField(
        label="Your rating",
        coerce=int,
        choices=[(n, f"{n} of 5") for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
        required=False,
        empty_value=None,
    )
    display = forms.ChoiceField(
        label="Show my name as",
        choices=DISPLAY_CHOICES,
        initial="first_initial",
        widget=forms.RadioSelect,
    )
    consent_publish = forms.BooleanField(required=False)
    consent_reference = forms.BooleanField(required=False)
    photo = forms.FileField(label="A photo (optional)", required=False)
    consent_photo = forms.BooleanField(required=False)

    def __init__(self, *args, business: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent_publish"].label = CONSENT_PUBLISH_TEXT.format(business=business)
        self.fields["consent_reference"].label = CONSENT_REFERENCE_TEXT.format(business=business)
        self.fields["consent_photo"].label = CONSENT_PHOTO_TEXT.format(business=business)

    def clean_photo(self):
        """Validated and re-encoded: only a real image is kept, stripped of its
        metadata (GPS position, camera), at most 1200 px, as JPEG."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        if upload.size > PHOTO_MAX_BYTES:
            raise ValidationError("The photo is larger than 8 MB.")
        from PIL import Image, UnidentifiedImageError

        Image.MAX_IMAGE_PIXELS = PHOTO_MAX_PIXELS
        try:
            with Image.open(upload) as image:
                if image.format not in ("JPEG", "PNG", "WEBP", "GIF"):
                    raise ValidationError("Please choose a JPEG, PNG or WebP photo.")
                image.load()
                picture = image.convert("RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise ValidationError("This file is not a photo we can read.") from None
        picture.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=85)
        buffer.seek(0)
        return InMemoryUploadedFile(
            buffer, "photo", "photo.jpg", "image/jpeg", buffer.getbuffer().nbytes, None
        )


class QuestionnaireForm(forms.Form):
    nps = forms.TypedChoiceField(
        label="How likely are you to recommend us to a friend or colleague?",
        coerce=int,
        choices=[(n, str(n)) for n in range(11)],
        widget=forms.RadioSelect,
    )
    experience = forms.CharField(
        label="How did you experience our service?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=3000,
    )
    improve = forms.CharField(
        label="How could it have been improved?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=3000,
    )
    would_refer = forms.CharField(
        label="What would you need to see from us to be willing to pass our name on?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=3000,
    )


class LaterForm(forms.Form):
    ask_after = forms.DateField(
        label="Ask me again after", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["ask_after"].widget.attrs["min"] = (today + dt.timedelta(days=1)).isoformat()

    def clean_ask_after(self):
        day = self.cleaned_data["ask_after"]
        if day <= self.today:
            raise ValidationError("Please choose a date after today.")
        if day > self.today + dt.timedelta(days=3 * 365):
            raise ValidationError("Please choose a date within the next three years.")
        return day


class FixedForm(forms.Form):
    fixed = forms.TypedChoiceField(
        label="Is it fixed for you?",
        coerce=lambda value: value == "yes",
        choices=[("yes", "Yes, it's fixed"), ("no", "No, not yet")],
        widget=forms.RadioSelect,
    )
    words = forms.CharField(
        label="Anything you would like us to know? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=3000,
    )
