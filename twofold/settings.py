"""Django settings, derived from ``twofold.config.CONFIG`` (the one place settings are read)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from twofold.config import CONFIG

BASE_DIR = CONFIG.data_dir
SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
TWOFOLD_BASE_URL = CONFIG.base_url
# The installation's SIEM destinations for audit events (twofold/audit/forwarding.py).
TWOFOLD_SYSLOG_URL = CONFIG.syslog_url
TWOFOLD_SYSLOG_CA_FILE = CONFIG.syslog_ca_file
TWOFOLD_WEBHOOK_URL = CONFIG.webhook_url
TWOFOLD_WEBHOOK_SECRET = CONFIG.webhook_secret
TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES = CONFIG.siem_to_private_addresses

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "twofold.core",
    "twofold.web",
    "twofold.organisations",
    "twofold.accounts",
    "twofold.audit",
    "twofold.delivery",
    "twofold.methods",
    "twofold.methods.phone",
    "twofold.methods.authenticator",
    "twofold.methods.app_passwords",
    "twofold.methods.oath",
    "twofold.methods.passkeys",
    "twofold.methods.recovery",
    "twofold.signin",
    "twofold.selfservice",
    "twofold.adminportal",
    "twofold.directory",
    # OpenID Connect provider: django-oauth-toolkit with twofold's Application model.
    "oauth2_provider",
    "twofold.oidc",
    "twofold.api",
    "twofold.radius",
]

MIDDLEWARE = [
    "twofold.core.middleware.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "twofold.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "twofold.core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "twofold.accounts.middleware.UserLanguageMiddleware",
    "twofold.accounts.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "twofold.core.middleware.RequestLogMiddleware",
]

ROOT_URLCONF = "twofold.urls"
WSGI_APPLICATION = "twofold.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "twofold.web.context_processors.twofold",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's threads read while one writes; a busy timeout instead of errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file too (in-memory SQLite can't make a second writer wait for a lock),
    # one per process so that test runs side by side never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(CONFIG.data_dir / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if CONFIG.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis_url,
            "KEY_PREFIX": "twofold",
            # A Redis that is down or frozen fails a request within about a second (503),
            # rather than holding it until a proxy gives up (docs/security.md 35).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Sessions live in the database (shared by every server); Redis only speeds reads.
    SESSION_ENGINE = "twofold.core.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A per-process cache must never hold sessions: a sign-out would not reach other workers.
    SESSION_ENGINE = "twofold.core.db_sessions"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["twofold.accounts.backends.PasswordBackend"]
LOGIN_URL = "signin"
LOGIN_REDIRECT_URL = "my-account"
PASSWORD_HASHERS = ["twofold.core.hashers.Argon2idHasher"]
PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600  # one-time set-password links (imports, resets)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "twofold.accounts.validators.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
USE_I18N = True
# One catalogue for the whole project (twofold/locale); its .mo files are built, not committed.
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
# Served by WhiteNoise straight from the packages: no collectstatic step, no STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Cookies and transport. On https every cookie is __Host- prefixed: the browser then takes
# it only if Secure, with Path=/ and no Domain, so neither a sibling subdomain nor a plain
# http page can plant or shadow a session, CSRF or language cookie (docs/security.md 19).
# Browsers refuse the prefix without https, so the local http demo keeps Django's names.
if CONFIG.https:
    SESSION_COOKIE_NAME = "__Host-twofold-session"
    CSRF_COOKIE_NAME = "__Host-twofold-csrf"
    LANGUAGE_COOKIE_NAME = "__Host-twofold-language"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONFIG.https
SESSION_COOKIE_AGE = 12 * 60 * 60  # the absolute session lifetime by default
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = CONFIG.https
CSRF_TRUSTED_ORIGINS = [CONFIG.base_url]
CSRF_FAILURE_VIEW = "twofold.web.views.csrf_failure"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60  # the sign-in page's switch is remembered a year
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = CONFIG.https
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if CONFIG.https:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Submitting a domain to the browsers' HSTS preload list is the operator's decision.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# JSON lines on standard output; with TWOFOLD_LOG_FILE, every line goes to that file and
# standard output keeps only warnings and errors (the demo's terminal stays readable).
_LOG_HANDLERS = {
    "stdout": {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "formatter": "json",
        "filters": ["correlation"],
        "level": "WARNING" if CONFIG.log_file else "NOTSET",
    }
}
if CONFIG.log_file:
    _LOG_HANDLERS["file"] = {
        "class": "logging.handlers.WatchedFileHandler",  # reopened after logrotate moves it
        "filename": str(CONFIG.log_file),
        "formatter": "json",
        "filters": ["correlation"],
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "twofold.core.logging.CorrelationIdFilter"}},
    "formatters": {"json": {"()": "twofold.core.logging.JsonFormatter"}},
    "handlers": _LOG_HANDLERS,
    "root": {"handlers": list(_LOG_HANDLERS), "level": CONFIG.log_level},
    "loggers": {
        # Our request log replaces Django's, which would print the raw path.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

TWOFOLD = {
    "signin_attempts_per_user": CONFIG.signin_attempts_per_user,
    "signin_attempts_per_address": CONFIG.signin_attempts_per_address,
    "signin_window_seconds": CONFIG.signin_window_seconds,
    "mfa_failures_per_address": CONFIG.mfa_failures_per_address,
    "mfa_failures_window_seconds": CONFIG.mfa_failures_window_seconds,
    "failures_per_api_client": CONFIG.failures_per_api_client,
    "trusted_proxies": CONFIG.trusted_proxies,
    "encryption_keys": CONFIG.encryption_keys,
    "argon2": (CONFIG.argon2_time_cost, CONFIG.argon2_memory_kib, CONFIG.argon2_parallelism),
    "dev_outbox": CONFIG.dev_outbox,
    "pushes_per_user_per_hour": CONFIG.pushes_per_user_per_hour,
    "gateway": CONFIG.gateway,
    "log_file": CONFIG.log_file,
    "twilio": {
        "account_sid": CONFIG.twilio_account_sid,
        "auth_token": CONFIG.twilio_auth_token,
        "from_number": CONFIG.twilio_from_number,
        "api_base": CONFIG.twilio_api_base,
    },
    "texts_per_user_per_hour": CONFIG.texts_per_user_per_hour,
    "texts_per_number_per_hour": CONFIG.texts_per_number_per_hour,
    "texts_per_country_per_hour": CONFIG.texts_per_country_per_hour,
    "resend_cooldown_seconds": CONFIG.resend_cooldown_seconds,
    # A change on the settings page needs a second factor verified this recently.
    "step_up_seconds": 10 * 60,
    "metrics_token": CONFIG.metrics_token,
    "metrics_allowed": CONFIG.metrics_allowed,
}

# --- OpenID Connect provider (django-oauth-toolkit) ----------------------------------------
# twofold.oidc.models.Application adds the organisation and the allowed scopes. It is set
# before oauth2_provider's first migration (twofold/oidc/migrations/0001 runs before it);
# changing it once that migration has run on a database is not supported.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"  # named: oidc.Authentication points at it
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    # The issuer is the public address; discovery, JWKS and the endpoints hang off it.
    "OIDC_ISS_ENDPOINT": CONFIG.base_url,
    # RS256 with keys from configuration: the first signs, the rest stay in the JWKS.
    "OIDC_RSA_PRIVATE_KEY": CONFIG.oidc_keys[0],
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": list(CONFIG.oidc_keys[1:]),
    "OAUTH2_VALIDATOR_CLASS": "twofold.oidc.validators.TwofoldValidator",
    # The authorization code flow and refresh tokens only: no password, client credentials,
    # implicit, hybrid or device grant is wired at all (twofold/oidc/server.py).
    "OAUTH2_SERVER_CLASS": "twofold.oidc.server.Server",
    "OIDC_SERVER_CLASS": "twofold.oidc.server.Server",
    # No client registers itself from a metadata document: applications are registered
    # by their organisation's administrator.
    "CIMD_ENABLED": False,
    "SCOPES_BACKEND_CLASS": "twofold.oidc.scopes.ApplicationScopes",
    "SCOPES": {
        "openid": "Sign you in (your user ID and organisation)",
        "profile": "Your name and user name",
        "email": "Your e-mail address",
    },
    "DEFAULT_SCOPES": ["openid"],
    # Authorization code flow only, with PKCE (S256; the validator requires it from public
    # clients, confidential ones may add it).
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "PKCE_REQUIRED": True,
    # Redirect URIs are https; the Application model also allows http to loopback
    # addresses only (RFC 8252, and local development).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "ID_TOKEN_EXPIRE_SECONDS": 15 * 60,
    # A refresh token dies this long after its last access token (so it slides while used).
    "REFRESH_TOKEN_EXPIRE_SECONDS": 12 * 60 * 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # RP-initiated logout; no confirmation page when the id_token_hint is this session's user.
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    # RFC 9700 (OAuth 2.0 Security BCP): every behaviour gate on; tokens kept only as hashes.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# --- End of the OpenID Connect provider ----------------------------------------------------
