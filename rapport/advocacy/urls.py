from django.urls import path

from rapport.advocacy import (
    insights_views,
    landing_views,
    public_views,
    testimonial_views,
    views,
)

app_name = "advocacy"

urlpatterns = [
    # == Testimonials, review sites, references, insights (issue 8) ==
    # The team's side.
    path("testimonials/", testimonial_views.queue, name="queue"),
    path("testimonials/<int:pk>/moderate/", testimonial_views.moderate, name="moderate"),
    path("testimonials/<int:pk>/photo/", testimonial_views.photo, name="testimonial_photo"),
    path("settings/reviews/", testimonial_views.review_sites, name="review_sites"),
    path("settings/reviews/<int:pk>/", testimonial_views.review_site_edit, name="review_site_edit"),
    path("references/", testimonial_views.references_page, name="references"),
    path("references/<int:pk>/", testimonial_views.reference_edit, name="reference_edit"),
    path("references/links/", testimonial_views.share_create, name="share_create"),
    path("references/links/<int:pk>/revoke/", testimonial_views.share_revoke, name="share_revoke"),
    path("insights/", insights_views.insights_page, name="insights"),
    path("insights.csv", insights_views.insights_csv, name="insights_csv"),
    # Public: the wall, the feed, the widget and its iframe (DESIGN: stable).
    path("w/<slug:slug>/", public_views.wall, name="wall"),
    path("w/<slug:slug>/testimonials.json", public_views.feed, name="feed"),
    path("w/<slug:slug>/widget.js", public_views.widget_js, name="widget"),
    path("w/<slug:slug>/embed/", public_views.embed, name="embed"),
    path("w/<slug:slug>/photos/<int:pk>.jpg", public_views.public_photo, name="public_photo"),
    path("w/<slug:slug>/reviews/<int:pk>/", public_views.review_go, name="review_go"),
    # Public, by unguessable token.
    path("t/<str:token>/", public_views.client_testimonial, name="client_testimonial"),
    path("refs/<str:token>/", public_views.references_public, name="references_public"),
    path("ref/<str:token>/", public_views.reference_answer, name="reference_answer"),
    # == Referrals carried to won (issue 7) ==
    path("referrals/", views.board, name="board"),
    path("referrals/codes/", views.codes, name="codes"),
    path("referrals/codes/issue/", views.issue_codes, name="issue_codes"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral"),
    path("referrals/<int:pk>/move/", views.move, name="move"),
    path("referrals/<int:pk>/intro/sent/", views.intro_sent, name="intro_sent"),
    path("referrals/<int:pk>/intro/email/", views.intro_email, name="intro_email"),
    path("referrals/<int:pk>/tell/", views.tell_referrer, name="tell_referrer"),
    path("referrer-updates/<int:pk>/done/", views.call_done, name="call_done"),
    path("contacts/<int:pk>/referrals/", views.add_referral, name="add_referral"),
    path("contacts/<int:pk>/testimonials/", views.add_testimonial, name="add_testimonial"),
    path("contacts/<int:pk>/referrals-given/", views.add_give, name="add_give"),
    path("contacts/<int:pk>/referral-code/", views.issue_code, name="issue_code"),
    path("codes/<int:pk>/revoke/", views.revoke_code, name="revoke_code"),
    path("codes/<int:pk>/card/", views.code_card, name="code_card"),
    path("desk/", views.desk, name="desk"),
    path("desk/rewards/<int:pk>/redeem/", views.redeem, name="redeem"),
    path("desk/codes/<int:pk>/lead/", views.desk_lead, name="desk_lead"),
    path("settings/referrals/", views.program_settings, name="settings"),
    path("settings/referrals/rules/new/", views.rule_edit, name="rule_new"),
    path("settings/referrals/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("thank-yous/", views.thank_yous, name="thank_yous"),
    path("thank-yous/cards/", views.thank_you_cards, name="cards"),
    path("thank-yous/<int:pk>/sent/", views.card_sent, name="card_sent"),
    path("thank-yous/<int:pk>/email/", views.thank_you_email, name="thank_you_email"),
    path("thank-yous/<int:pk>/kind/", views.thank_you_kind, name="thank_you_kind"),
    path("gives/", views.gives, name="gives"),
    path("gives/<int:pk>/outcome/", views.give_outcome, name="give_outcome"),
    path("merges/", views.merges, name="merges"),
    path("merges/suggestions/<int:pk>/merge/", views.merge, name="merge"),
    path("merges/suggestions/<int:pk>/dismiss/", views.dismiss_merge, name="dismiss_merge"),
    path("merges/<int:pk>/", views.merge_record, name="merge_record"),
    path("merges/<int:pk>/undo/", views.undo, name="undo_merge"),
    # The public side: no login.
    path("r/<str:code>", landing_views.landing, name="landing"),
    path("i/<str:token>/", landing_views.introduction, name="introduction"),
    # == end of issue 7 ==
]
