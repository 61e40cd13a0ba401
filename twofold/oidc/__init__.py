"""twofold as an OpenID Connect provider: django-oauth-toolkit glue, claims and step-up."""
