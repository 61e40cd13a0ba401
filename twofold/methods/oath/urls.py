from django.urls import path

from twofold.methods.oath import views

urlpatterns = [
    path("<int:token_id>/activate", views.activate, name="hardware-token-activate"),
]
