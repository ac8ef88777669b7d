"""Django settings for Accord.

Everything an operator may change comes from environment variables; see
``docs/configuration.md``. Defaults give a working single-machine install:
SQLite under ``var/``, e-mail written to ``var/mail/``, 2FA required for
coordinators and representatives.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("ACCORD_VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def load_secret_key() -> str:
    """Use ACCORD_SECRET_KEY, or a key generated once into var/ (never committed)."""
    if key := os.environ.get("ACCORD_SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = load_secret_key()


def load_anonymity_key() -> bytes:
    """The key that links an anonymous report to its organisation. It lives outside
    the database (ACCORD_ANONYMITY_KEY or a file in var/), so that a database dump
    alone cannot tell who filed what. See docs/anonymity.md."""
    if key := os.environ.get("ACCORD_ANONYMITY_KEY"):
        return key.encode()
    key_file = VAR_DIR / "anonymity_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip().encode()


ANONYMITY_KEY = load_anonymity_key()
DEBUG = env_bool("ACCORD_DEBUG", False)
ALLOWED_HOSTS = env_list("ACCORD_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("ACCORD_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("ACCORD_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
NETWORK_NAME = os.environ.get("ACCORD_NETWORK_NAME", "Accord")
# The country this installation stands for (ISO 3166-1 alpha-2): it appears in STIX
# identities and tells peers where material came from.
ACCORD_COUNTRY = os.environ.get("ACCORD_COUNTRY", "").upper()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_htmx",
    "django_countries",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "accord.core",
    "accord.audit",
    "accord.accounts",
    "accord.membership",
    "accord.rules",
    "accord.workgroups",
    "accord.sharing",
    "accord.exchange",
    "accord.contacts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accord.core.middleware.RejectNulCharactersMiddleware",
    "accord.core.middleware.SecurityHeadersMiddleware",
    "accord.core.middleware.UserTimezoneMiddleware",
    "accord.core.middleware.PolicyExceptionMiddleware",
    "accord.core.middleware.ApiJsonErrorsMiddleware",
    "accord.accounts.middleware.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "accord.urls"
WSGI_APPLICATION = "accord.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "accord.core.context_processors.accord",
            ],
        },
    },
]

# --- Storage -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'accord.sqlite3'}",
        conn_max_age=int(os.environ.get("ACCORD_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and the task worker read while the other writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # The feed's short, index-driven queries pay JIT compile time and gain nothing.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("ACCORD_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- Authentication ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "core:home"

# Who must use TOTP: "privileged" (coordinators and representatives), "all" or "none".
ACCORD_2FA_POLICY = os.environ.get("ACCORD_2FA_POLICY", "privileged")
ACCORD_DEMO_PASSWORD = os.environ.get("ACCORD_DEMO_PASSWORD", "accord-demo-2026")
ACCORD_INVITATION_DAYS = int(os.environ.get("ACCORD_INVITATION_DAYS", "7"))
ACCORD_TOKEN_MAX_DAYS = int(os.environ.get("ACCORD_TOKEN_MAX_DAYS", "365"))
OTP_TOTP_ISSUER = NETWORK_NAME

# Lock-out after repeated failed sign-ins (django-axes).
AXES_FAILURE_LIMIT = int(os.environ.get("ACCORD_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("ACCORD_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address", "user_agent"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLED = env_bool("ACCORD_LOCKOUT_ENABLED", True)

# Sessions expire after a period of inactivity and, at the latest, at browser close.
SESSION_COOKIE_AGE = int(os.environ.get("ACCORD_SESSION_IDLE_MINUTES", "120")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool(
    "ACCORD_SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Security headers ----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = int(os.environ.get("ACCORD_HSTS_SECONDS", "0"))
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("ACCORD_BEHIND_TLS_PROXY", False) else None
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- E-mail --------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "ACCORD_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = os.environ.get("ACCORD_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("ACCORD_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("ACCORD_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ACCORD_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ACCORD_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("ACCORD_EMAIL_FROM", "accord@localhost")

# --- Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
ACCORD_DEFAULT_TIMEZONE = os.environ.get("ACCORD_DEFAULT_TIMEZONE", "UTC")

# --- Static files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing root
STATICFILES_DIRS = [BASE_DIR / "static"]  # accord/static belongs to no app
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

NINJA_PAGINATION_PER_PAGE = 50

# --- Trusted sharing -----------------------------------------------------------------
# Attachments live outside the web root and are served only through the access policy.
ATTACHMENT_DIR = Path(os.environ.get("ACCORD_ATTACHMENT_DIR", VAR_DIR / "attachments"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ACCORD_ATTACHMENT_MAX_MB", "10")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # JSON and form bodies; files are separate
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
ACCESS_LOG = env_bool("ACCORD_ACCESS_LOG", False)
DIGEST_HOUR_UTC = int(os.environ.get("ACCORD_DIGEST_HOUR_UTC", "6"))
# --- TAXII 2.1 server (docs/taxii.md) ---
TAXII_API_ROOT = os.environ.get("ACCORD_TAXII_API_ROOT", "accord")
TAXII_MAX_CONTENT_LENGTH = int(os.environ.get("ACCORD_TAXII_MAX_CONTENT_MB", "100")) * 1024 * 1024
TAXII_MAX_PAGE_SIZE = int(os.environ.get("ACCORD_TAXII_PAGE_SIZE", "1000"))
TAXII_STATUS_RETENTION_HOURS = int(os.environ.get("ACCORD_TAXII_STATUS_HOURS", "24"))

# Points of contact: how long an acknowledgement link stays valid after a check's
# deadline, and how often `accord serve` queues the checks (sending, escalation).
ACCORD_CONTACT_LINK_GRACE_DAYS = int(os.environ.get("ACCORD_CONTACT_LINK_GRACE_DAYS", "7"))
ACCORD_CONTACT_CHECK_POLL_MINUTES = int(os.environ.get("ACCORD_CONTACT_CHECK_POLL_MINUTES", "15"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ACCORD_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
