"""Settings for Rapport, read from the environment.

Everything a deployment changes is an environment variable; there is no local
settings file to forget. `envbool`/`envint` fail loudly on a bad value rather
than silently falling back to a default.
"""

import datetime as dt
import ipaddress
import os
import secrets
from email.utils import formataddr, parseaddr
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


VAR_DIR = Path(os.environ.get("RAPPORT_VAR_DIR", BASE_DIR / "var"))
# SQLite, uploads and the generated key live here: it must exist before any
# command (`rapport migrate` on a fresh box with SECRET_KEY set, too).
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    # A one-box install gets a key generated once and kept under var/, so
    # sessions survive restarts without anyone having to invent a secret.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
DEBUG = envbool("DEBUG", "false")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# A public server is reached over HTTPS at SITE_URL, through a reverse proxy
# (Caddy, nginx) that terminates TLS: an https:// SITE_URL turns on everything
# `check --deploy` asks for (HSTS, secure cookies, the redirect). HTTPS=false
# overrides it; HTTPS=true forces it.
HTTPS = envbool("HTTPS", "true" if SITE_URL.startswith("https://") else "false")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "rapport.workspaces",
    "rapport.clients",
    "rapport.advocacy",
    "rapport.agenda",
    "rapport.outreach",
    "rapport.winback",
    "rapport.dev",
]

MIDDLEWARE = [
    # Off (dropped at start-up) unless `rapport bench pages` asks for it.
    "rapport.middleware.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, which answers static files itself: they get these too.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rapport.middleware.PublicResponseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rapport.workspaces.middleware.WorkspaceMiddleware",
    "rapport.middleware.HtmxMessagesMiddleware",
    # Last: it answers a locked-out sign-in after the login view has run.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "rapport" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.workspaces.context_processors.workspace",
                "rapport.outreach.context_processors.delivery",
            ],
        },
    }
]

# SQLite under var/ unless DATABASE_URL says otherwise. WAL lets the web
# server read while the worker writes; IMMEDIATE transactions take the write
# lock up front so two writers queue on the busy timeout instead of failing
# with "database is locked" halfway through.
_default_sqlite = f"sqlite:///{VAR_DIR / 'rapport.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _default_sqlite, conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
    # Tests use a file too, not shared-cache memory: concurrent requests in
    # the tests then meet SQLite's real locking (busy timeout, WAL).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-rapport.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username or address before any
    # password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "agenda:today"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "30")
# The sending address, on a domain whose SPF, DKIM and DMARC let the mail
# server send for it (README, "Email delivery"). Mail to clients shows the
# workspace's name in front of it; mail to the team shows "Rapport".
EMAIL_FROM = parseaddr(
    os.environ.get("EMAIL_FROM") or os.environ.get("DEFAULT_FROM_EMAIL") or "rapport@localhost"
)[1]
if "@" not in EMAIL_FROM:
    raise ImproperlyConfigured(f"EMAIL_FROM must be an email address, not {EMAIL_FROM!r}")
DEFAULT_FROM_EMAIL = formataddr(("Rapport", EMAIL_FROM))
# The right-hand side of every Message-ID Rapport generates: the sending domain.
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("EMAIL_MESSAGE_ID_DOMAIN") or (
    EMAIL_FROM.rsplit("@", 1)[1] if os.environ.get("EMAIL_FROM") else "rapport.localhost"
)
# A worker's claim on a message: long enough for one SMTP conversation; a
# claim left by a worker that died is taken up again after it.
OUTBOX_LEASE_SECONDS = envint("OUTBOX_LEASE_SECONDS", "120")
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", "6")
# How often the worker's scheduler sweeps the outbox for retries, scheduled
# sends and expired claims.
OUTBOX_SWEEP_SECONDS = envint("OUTBOX_SWEEP_SECONDS", "15")
# SMS (see rapport.outreach.sms): Twilio's Messages API, or a provider's
# plain JSON API; none by default. SMS_PROVIDER picks one when both are set.
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
SMS_PROVIDER_URL = os.environ.get("SMS_PROVIDER_URL", "")
SMS_PROVIDER_TOKEN = os.environ.get("SMS_PROVIDER_TOKEN", "")
SMS_FROM = os.environ.get("SMS_FROM", "")
SMS_PROVIDER = os.environ.get(
    "SMS_PROVIDER", "twilio" if TWILIO_ACCOUNT_SID else "http" if SMS_PROVIDER_URL else ""
)
if SMS_PROVIDER not in ("", "twilio", "http"):
    raise ImproperlyConfigured(f"SMS_PROVIDER must be twilio or http, not {SMS_PROVIDER!r}")
# Signed webhooks (Standard Webhooks) older or newer than this are refused.
WEBHOOK_TOLERANCE_SECONDS = envint("WEBHOOK_TOLERANCE_SECONDS", "300")

# Proxies whose X-Forwarded-For is believed (comma-separated addresses or
# networks). `rapport up` listens on 127.0.0.1 behind a proxy on the same
# machine; any other peer's X-Forwarded-For is ignored, so a client cannot
# reset its rate limits by sending a new one with each request.
TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()
]
try:
    TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network(p, strict=False) for p in TRUSTED_PROXIES]
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None

# Sign-in throttling (django-axes, in the database so every web process sees
# the same count): the 11th failure within an hour, for one email address or
# one client address, is refused — whether or not the account exists.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "10")
AXES_COOLOFF_TIME = dt.timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "rapport.workspaces.throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "rapport.workspaces.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "rapport.workspaces.throttle.locked_out"
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
# Password reset and sign-up: the same limit, per address and per client.
ACCOUNT_ATTEMPT_LIMIT = envint("ACCOUNT_ATTEMPT_LIMIT", "10")

# Content-Security-Policy on every response (django-csp): nothing from other
# sites, no inline script, and never framed — a view meant to be embedded
# says so with rapport.security.allow_framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # htmx and the templates set a few style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "true")

# Every log line passes the redaction filter: secret links (client pages,
# unsubscribe, webhooks, calendar feeds, invitations, password resets) never
# reach a log in the clear. `rapport up` gives gunicorn the same filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "rapport.redaction.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"rapport": {"level": os.environ.get("LOG_LEVEL", "INFO")}},
}

# The testimonial feed, widget and wall: seconds each web process keeps its
# copy of the feed, and the Cache-Control max-age of the public responses.
# Whatever they are set to, a withdrawn testimonial leaves every page within
# a minute (rapport.advocacy.testimonials caps them).
RAPPORT_FEED_CACHE_SECONDS = envint("RAPPORT_FEED_CACHE_SECONDS", "5")
RAPPORT_PUBLIC_MAX_AGE = envint("RAPPORT_PUBLIC_MAX_AGE", "20")

# Signing up creates a workspace; a private install can turn that off.
SIGNUP_OPEN = envbool("SIGNUP_OPEN", "true")

STATICFILES_DIRS = [BASE_DIR / "rapport" / "static"]
