from django.urls import path

from rapport.advocacy import insights_views, public_views, testimonial_views

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
]
