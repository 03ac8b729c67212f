from django.contrib import admin

from rapport.advocacy.models import (
    ContactMerge,
    Introduction,
    Referral,
    ReferralCode,
    ReferralGiven,
    Reward,
    RewardRule,
    Testimonial,
    ThankYou,
)


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["referrer", "referred", "date", "status", "how", "unsolicited", "workspace"]
    list_filter = ["workspace", "status"]
    raw_id_fields = ["referrer", "referred", "won_deal", "won_purchase", "code", "thank_you"]


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    list_display = ["contact", "received_on", "rating", "status", "workspace"]
    list_filter = ["workspace", "status"]
    raw_id_fields = ["contact"]


@admin.register(ReferralGiven)
class ReferralGivenAdmin(admin.ModelAdmin):
    list_display = ["contact", "given_on", "description", "outcome", "workspace"]
    raw_id_fields = ["contact"]


@admin.register(Introduction)
class IntroductionAdmin(admin.ModelAdmin):
    # The sealed details are never shown, not even here (they are not editable).
    list_display = ["referral", "state", "sent_on", "token_expires_at", "workspace"]
    list_filter = ["state"]
    raw_id_fields = ["referral"]
    exclude = ["sealed", "token_salt", "token_hash"]


@admin.register(ReferralCode)
class ReferralCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "contact", "clicks", "revoked_at", "workspace"]
    raw_id_fields = ["contact"]
    search_fields = ["code"]


@admin.register(RewardRule)
class RewardRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "recipient", "trigger", "kind", "active", "workspace"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["code", "contact", "wording", "issued_on", "expires_on", "redeemed_at"]
    raw_id_fields = ["contact", "referral", "rule"]
    search_fields = ["code"]


@admin.register(ThankYou)
class ThankYouAdmin(admin.ModelAdmin):
    list_display = ["contact", "kind", "what_for", "created_on", "done_at"]
    raw_id_fields = ["contact", "testimonial", "activity", "email"]


@admin.register(ContactMerge)
class ContactMergeAdmin(admin.ModelAdmin):
    list_display = ["merged_name", "kept", "merged_at", "undone_at"]
    raw_id_fields = ["kept"]
