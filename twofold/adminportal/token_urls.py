"""The admin portal's hardware tokens, under /admin-portal/hardware-tokens/."""

from django.urls import path

from twofold.adminportal import tokens

urlpatterns = [
    path("", tokens.token_list, name="admin-hardware-tokens"),
    path("upload", tokens.upload, name="admin-hardware-tokens-upload"),
    path("<int:token_id>", tokens.token_detail, name="admin-hardware-token"),
    path("<int:token_id>/assign", tokens.assign, name="admin-hardware-token-assign"),
    path("<int:token_id>/unassign", tokens.unassign, name="admin-hardware-token-unassign"),
    path("<int:token_id>/delete", tokens.delete, name="admin-hardware-token-delete"),
]
