"""Texts and calls: the dev outbox (the demo's phone) and the gateways' webhooks."""

from django.urls import path

from twofold.delivery import twilio, views

urlpatterns = [
    path("dev/outbox", views.outbox_page, name="dev-outbox"),
    path(
        "dev/outbox/calls/<int:message_id>/answer",
        views.answer_call,
        name="dev-outbox-answer",
    ),
    path("delivery/twilio/voice/<slug:reference>", twilio.voice, name="twilio-voice"),
    path("delivery/twilio/gather/<slug:reference>", twilio.gather, name="twilio-gather"),
    path("delivery/twilio/status/<slug:reference>", twilio.status, name="twilio-status"),
]
