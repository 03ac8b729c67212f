from django.contrib import admin

from rapport.advocacy.models import Referral, ReferralGiven, Testimonial


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["referrer", "referred", "date", "status", "how", "unsolicited", "workspace"]
    list_filter = ["workspace", "status"]
    raw_id_fields = ["referrer", "referred"]


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    list_display = ["contact", "received_on", "rating", "status", "workspace"]
    list_filter = ["workspace", "status"]
    raw_id_fields = ["contact"]


@admin.register(ReferralGiven)
class ReferralGivenAdmin(admin.ModelAdmin):
    list_display = ["contact", "given_on", "description", "workspace"]
    raw_id_fields = ["contact"]
