from django.urls import path

from twofold.methods.recovery import views

urlpatterns = [
    path("new", views.make, name="recovery-codes-make"),
    path("shown", views.shown, name="recovery-codes-shown"),
]
