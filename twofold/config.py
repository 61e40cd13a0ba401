"""Every setting twofold reads, taken from the environment once, with safe defaults.

Nothing else in the project reads ``os.environ``: settings.py and the rest import
``CONFIG`` from here. With no variable set, twofold runs on a SQLite file and the
local-memory cache, with its secret key and encryption keys generated into the data
folder on first start.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from twofold.configerrors import ConfigurationError
from twofold.core.crypto import random_token

_TRUE = {"1", "true", "yes", "on"}
_DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(env: dict[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, not {raw!r}")


def _integer(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _list(env: dict[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def _generated_once(path: Path, make: callable) -> str:
    """Read a generated secret from the data folder, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its value
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


# --- Secrets from files (NAME_FILE) -------------------------------------------------------
# The container-secrets convention (Docker and Kubernetes secrets, systemd's LoadCredential
# with $CREDENTIALS_DIRECTORY): each secret may come from a file named by NAME_FILE instead
# of the variable NAME, so it never shows in the process environment. Declaring a variable
# here is all it takes: load() reads every one of them this way before anything else.
SECRET_VARIABLES: tuple[str, ...] = (
    "TWOFOLD_SECRET_KEY",
    "TWOFOLD_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "TWOFOLD_TWILIO_AUTH_TOKEN",
    "TWOFOLD_OIDC_KEYS",
    "TWOFOLD_METRICS_TOKEN",
    "TWOFOLD_WEBHOOK_SECRET",
)


def _read_secret_file(name: str, path: str) -> str:
    """The content of the file that ``NAME_FILE`` names, without its trailing newline.

    Errors name the variable and the file, never what the file holds."""
    variable = f"{name}_FILE"
    if not path.strip():
        raise ConfigurationError(f"{variable} is set but names no file")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{variable}: {path} is not UTF-8 text") from None
    except OSError as error:
        raise ConfigurationError(
            f"{variable}: cannot read {path}: {error.strerror or type(error).__name__}"
        ) from None
    value = content.removesuffix("\n").removesuffix("\r")
    if not value.strip():
        raise ConfigurationError(f"{variable}: {path} is empty")
    return value


def _secrets_from_files(env: dict[str, str]) -> dict[str, str]:
    """``env`` with each declared secret's ``NAME_FILE`` read into ``NAME``; both set is an
    error (which one would win is a guess an operator should not have to make)."""
    env = dict(env)
    for name in SECRET_VARIABLES:
        path = env.pop(f"{name}_FILE", None)
        if path is None:
            continue
        if name in env:
            raise ConfigurationError(f"set {name} or {name}_FILE, not both")
        env[name] = _read_secret_file(name, path)
    return env


# --- End of the secrets from files ---------------------------------------------------------


def _database_url(env: dict[str, str], data_dir: Path) -> str:
    """DATABASE_URL, checked here so that a wrong one is one clear line at start-up. The
    message never repeats the value: it may hold a password."""
    url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'twofold.sqlite3'}"
    try:
        engine = dj_database_url.parse(url)["ENGINE"]
    except (ValueError, KeyError, dj_database_url.UnknownSchemeError):
        engine = ""
    if engine not in _DATABASE_ENGINES:
        raise ConfigurationError(
            "DATABASE_URL must be a postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH URL"
        )
    return url


def _redis_url(env: dict[str, str]) -> str | None:
    """REDIS_URL (None: the local-memory cache); the message never repeats the value."""
    url = env.get("REDIS_URL") or None
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return url


def _log_file(env: dict[str, str], data_dir: Path) -> Path | None:
    """TWOFOLD_LOG_FILE: where log lines go instead of standard output (a path relative to
    the data folder, or absolute); unset or empty: standard output."""
    raw = env.get("TWOFOLD_LOG_FILE", "").strip()
    if not raw:
        return None
    path = (data_dir / raw).resolve()
    if path.is_dir():
        raise ConfigurationError(f"TWOFOLD_LOG_FILE must name a file, not the folder {raw!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(f"TWOFOLD_LOG_FILE: cannot make {path.parent}: {error}") from None
    return path


def _networks(env: dict[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of addresses or CIDR ranges, each checked and normalised."""
    networks = []
    for item in _list(env, name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigurationError(
                f"{name} must be comma-separated addresses or CIDR ranges, not {item!r}"
            ) from None
    return tuple(networks)


METRICS_TOKEN_MIN_LENGTH = 24


def _metrics_token(env: dict[str, str]) -> str:
    """TWOFOLD_METRICS_TOKEN: long enough that it cannot be guessed (unset or empty: none)."""
    token = env.get("TWOFOLD_METRICS_TOKEN", "").strip()
    if token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        raise ConfigurationError(
            f"TWOFOLD_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters"
        )
    return token


# --- OpenID Connect signing keys (TWOFOLD_OIDC_KEYS) ------------------------------------
# ID tokens are signed with RS256. TWOFOLD_OIDC_KEYS holds one or more PEM private keys
# one after the other: the first signs, the others only verify (they stay in the JWKS) so
# that tokens signed before a rotation remain valid. Unset: one key generated once into
# the data folder (oidc-signing-key.pem, 0600).
_PEM_BLOCK = re.compile(
    r"-----BEGIN (?:RSA )?PRIVATE KEY-----.+?-----END (?:RSA )?PRIVATE KEY-----", re.DOTALL
)
OIDC_MIN_KEY_BITS = 2048


def _new_oidc_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=OIDC_MIN_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _oidc_keys(raw: str) -> tuple[str, ...]:
    """Split and check the PEM private keys (literal "\\n" accepted for one-line variables)."""
    keys = tuple(_PEM_BLOCK.findall(raw.replace("\\n", "\n")))
    if not keys:
        raise ConfigurationError("TWOFOLD_OIDC_KEYS must hold one or more PEM private keys")
    for pem in keys:
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "TWOFOLD_OIDC_KEYS holds a key that is not an unencrypted PEM private key"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < OIDC_MIN_KEY_BITS:
            raise ConfigurationError(
                f"TWOFOLD_OIDC_KEYS must be RSA keys of at least {OIDC_MIN_KEY_BITS} bits (RS256)"
            )
    return keys


# --- End of the OpenID Connect signing keys ------------------------------------------------


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    encryption_keys: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    debug: bool
    base_url: str
    dev_outbox: bool
    trusted_proxies: int
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    signin_attempts_per_user: int
    signin_attempts_per_address: int
    signin_window_seconds: int
    mfa_failures_per_address: int
    mfa_failures_window_seconds: int
    failures_per_api_client: int
    log_level: str
    log_file: Path | None  # None: log lines go to standard output
    gateway: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from_number: str
    twilio_api_base: str
    texts_per_user_per_hour: int
    texts_per_number_per_hour: int
    texts_per_country_per_hour: int
    resend_cooldown_seconds: int
    pushes_per_user_per_hour: int
    oidc_keys: tuple[str, ...]  # PEM private keys: the first signs ID tokens, all verify
    metrics_token: str  # /metrics answers a bearer token equal to it ("": no token)
    metrics_allowed: tuple[str, ...]  # /metrics answers these networks without a token
    # Audit events forwarded to a SIEM (twofold forward): empty means not forwarded.
    syslog_url: str = ""  # tcp+tls://host:port, tcp://host:port or udp://host:port
    syslog_ca_file: str = ""  # the CA that signed the syslog server's certificate
    webhook_url: str = ""
    webhook_secret: str = ""
    # Organisations' webhooks and syslog destinations may point at loopback and private
    # addresses (off: SSRF).
    siem_to_private_addresses: bool = False

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")


def load(env: dict[str, str] | None = None) -> Config:
    """Build the configuration from ``env`` (the process environment by default)."""
    env = _secrets_from_files(os.environ if env is None else env)
    data_dir = Path(env.get("TWOFOLD_DATA_DIR") or "data").resolve()

    secret_key = env.get("TWOFOLD_SECRET_KEY") or _generated_once(
        data_dir / "secret.key", lambda: random_token(48)
    )
    raw_keys = env.get("TWOFOLD_ENCRYPTION_KEYS") or _generated_once(
        data_dir / "encryption.keys", lambda: Fernet.generate_key().decode()
    )
    encryption_keys = tuple(key.strip() for key in raw_keys.split(",") if key.strip())
    for key in encryption_keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigurationError(
                "TWOFOLD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)"
            ) from None

    base_url = env.get("TWOFOLD_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"TWOFOLD_BASE_URL must be an http(s) URL, not {base_url!r}")
    allowed_hosts = tuple(_list(env, "TWOFOLD_ALLOWED_HOSTS")) or (
        parts.hostname,
        "127.0.0.1",
        "localhost",
        "[::1]",
    )

    return Config(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        redis_url=_redis_url(env),
        secret_key=secret_key,
        encryption_keys=encryption_keys,
        allowed_hosts=allowed_hosts,
        debug=_flag(env, "TWOFOLD_DEBUG"),
        base_url=base_url,
        dev_outbox=_flag(env, "TWOFOLD_DEV_OUTBOX"),
        trusted_proxies=_integer(env, "TWOFOLD_TRUSTED_PROXIES", 0, 0, 5),
        # OWASP's Argon2id minimum (m=19 MiB, t=2, p=1) unless the operator asks for more.
        argon2_time_cost=_integer(env, "TWOFOLD_ARGON2_TIME_COST", 2, 1, 10),
        argon2_memory_kib=_integer(env, "TWOFOLD_ARGON2_MEMORY_KIB", 19456, 8192, 1048576),
        argon2_parallelism=_integer(env, "TWOFOLD_ARGON2_PARALLELISM", 1, 1, 16),
        signin_attempts_per_user=_integer(env, "TWOFOLD_SIGNIN_ATTEMPTS_PER_USER", 10, 1, 1000),
        signin_attempts_per_address=_integer(
            env, "TWOFOLD_SIGNIN_ATTEMPTS_PER_ADDRESS", 100, 1, 100000
        ),
        signin_window_seconds=_integer(env, "TWOFOLD_SIGNIN_WINDOW_SECONDS", 900, 10, 86400),
        # Wrong second factors from one client address across all users (one code sprayed
        # at many accounts); the per-user lockout is the organisation's own setting.
        mfa_failures_per_address=_integer(env, "TWOFOLD_MFA_FAILURES_PER_ADDRESS", 50, 1, 100000),
        mfa_failures_window_seconds=_integer(
            env, "TWOFOLD_MFA_FAILURES_WINDOW_SECONDS", 900, 10, 86400
        ),
        # Each API client's own ceiling: wrong passwords and wrong codes through it, across
        # all its users, per signin window. Sized for a busy VPN (thousands of people,
        # some typing wrong); right ones never count (docs/security.md 32).
        failures_per_api_client=_integer(env, "TWOFOLD_FAILURES_PER_API_CLIENT", 6000, 1, 1000000),
        log_level=env.get("TWOFOLD_LOG_LEVEL", "INFO").upper(),
        log_file=_log_file(env, data_dir),
        # Texts and calls: the outbox stores them locally unless a real gateway is chosen.
        gateway=env.get("TWOFOLD_GATEWAY", "outbox"),
        twilio_account_sid=env.get("TWOFOLD_TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=env.get("TWOFOLD_TWILIO_AUTH_TOKEN", ""),
        twilio_from_number=env.get("TWOFOLD_TWILIO_FROM_NUMBER", ""),
        # Only tests point this elsewhere (a local stand-in for Twilio's REST API).
        twilio_api_base=env.get("TWOFOLD_TWILIO_API_BASE", ""),
        # Toll-fraud caps: texts and calls together, per user, per number, per country code.
        texts_per_user_per_hour=_integer(env, "TWOFOLD_TEXTS_PER_USER_PER_HOUR", 10, 1, 1000),
        texts_per_number_per_hour=_integer(env, "TWOFOLD_TEXTS_PER_NUMBER_PER_HOUR", 10, 1, 1000),
        texts_per_country_per_hour=_integer(
            env, "TWOFOLD_TEXTS_PER_COUNTRY_PER_HOUR", 1000, 1, 1000000
        ),
        resend_cooldown_seconds=_integer(env, "TWOFOLD_RESEND_COOLDOWN_SECONDS", 30, 0, 600),
        # MFA fatigue: push notifications per user per hour (a success starts the count again).
        pushes_per_user_per_hour=_integer(env, "TWOFOLD_PUSHES_PER_USER_PER_HOUR", 10, 1, 100),
        # OpenID Connect: RS256 signing keys (see _oidc_keys above).
        oidc_keys=_oidc_keys(
            env.get("TWOFOLD_OIDC_KEYS")
            or _generated_once(data_dir / "oidc-signing-key.pem", _new_oidc_key)
        ),
        # Prometheus metrics: /metrics is off (404) unless one of these is set.
        metrics_token=_metrics_token(env),
        metrics_allowed=_networks(env, "TWOFOLD_METRICS_ALLOWED"),
        syslog_url=env.get("TWOFOLD_SYSLOG_URL", ""),
        syslog_ca_file=env.get("TWOFOLD_SYSLOG_CA_FILE", ""),
        webhook_url=env.get("TWOFOLD_WEBHOOK_URL", ""),
        webhook_secret=env.get("TWOFOLD_WEBHOOK_SECRET", ""),
        # TWOFOLD_WEBHOOKS_TO_PRIVATE_ADDRESSES: its name from before syslog joined, still read.
        siem_to_private_addresses=_flag(env, "TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES")
        or _flag(env, "TWOFOLD_WEBHOOKS_TO_PRIVATE_ADDRESSES"),
    )


CONFIG = load()

# prometheus-client's multiprocess mode (twofold/core/metrics.py): `twofold serve` names the
# folder its gunicorn workers share their counters in before it starts them.
METRICS_FOLDER_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_folder() -> str:
    """The folder this server's workers share their metrics in; "" outside `twofold serve`.
    Read when asked, not once at start: `twofold serve` sets it after loading."""
    return os.environ.get(METRICS_FOLDER_ENV, "")


def share_metrics_in(folder: Path) -> None:
    """Give the processes started from here (gunicorn and its workers) ``folder``."""
    os.environ[METRICS_FOLDER_ENV] = str(folder)
