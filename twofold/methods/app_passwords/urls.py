from django.urls import path

from twofold.methods.app_passwords import views

urlpatterns = [
    path("new", views.create, name="app-password-create"),
    path("created", views.created, name="app-password-created"),
    path("<int:app_password_id>/delete", views.delete, name="app-password-delete"),
]
