from django.urls import path

from rapport.outreach import calendar, public_views, settings_views, views

app_name = "outreach"

urlpatterns = [
    path("settings/delivery/", settings_views.delivery_settings, name="delivery"),
    # The team's side.
    path("contacts/<int:pk>/ask/<str:channel>/", views.compose_ask, name="compose"),
    path("contacts/<int:pk>/ask-qr/", views.qr_ask, name="qr"),
    path("contacts/<int:pk>/export/", views.export_contact, name="export"),
    path("contacts/<int:pk>/erase/", views.erase_contact, name="erase"),
    path("asks/<int:pk>/card/", views.card, name="card"),
    path("agenda/items/<int:pk>/outcome/", views.item_outcome, name="item_outcome"),
    path("agenda/winback-batch/", views.winback_batch, name="winback_batch"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/retry/", views.retry, name="retry"),
    path("brand/<int:workspace_id>/logo/", views.logo, name="logo"),
    # The client's side: no login, a token each.
    path("c/<str:token>/", public_views.page, name="page"),
    path("c/<str:token>/later/", public_views.later, name="later"),
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("hooks/<str:token>/email/", public_views.email_events, name="email_events"),
    path("hooks/<str:token>/postmark/", public_views.postmark_events, name="postmark_events"),
    path("hooks/<str:token>/sms/", public_views.sms_inbound, name="sms_inbound"),
    path("hooks/<str:token>/twilio/", public_views.twilio_inbound, name="twilio_inbound"),
    # Each user's calendar feed and digest, and the workspace's automation rules.
    path("settings/me/", settings_views.personal, name="personal_settings"),
    path("settings/me/calendar/", settings_views.feed_create, name="feed_create"),
    path("settings/me/calendar/off/", settings_views.feed_off, name="feed_off"),
    path("settings/me/digest/", settings_views.digest_toggle, name="digest_toggle"),
    path("settings/automation/", settings_views.automation_settings, name="automation"),
    # The private calendar feed: no login, an unguessable token.
    path("calendar/<str:token>.ics", calendar.calendar_feed, name="calendar_feed"),
]
