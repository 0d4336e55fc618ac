"""Leger's one settings file.

Every real part is switched on by its URL in the environment; with none set,
Leger runs on its embedded default: a SQLite file, tasks in-process and
releases written to a local folder.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from leger.lib.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("LEGER_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)

# Development-only fallback; `manage.py check --deploy` flags it (leger.checks).
DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = envstr("SECRET_KEY", DEV_SECRET_KEY)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "leger",
    "leger.catalog",
    "leger.providers",
    "leger.marketplace",
    "leger.tailnet",
    "leger.releases",
    "leger.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "leger.lib.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# django-axes first, so a locked-out username+address is refused before the
# password is even checked (a right password during the lock is refused too).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "leger.urls"
WSGI_APPLICATION = "leger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "leger" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leger.lib.context_processors.navigation",
            ],
            "string_if_invalid": "",
        },
    },
]

# PostgreSQL in production (DATABASE_URL); a SQLite file when unset.
DATABASE_URL = envstr("DATABASE_URL", "")
if DATABASE_URL:
    # Connections persist for CONN_MAX_AGE seconds; the health check tests a kept connection before a request
    # uses it, so one PostgreSQL closed (a restart, a failover) is replaced instead of failing that request.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("CONN_MAX_AGE", 60), conn_health_checks=True)
    }
    # A database host that does not answer fails a request in seconds (a 503), not at the server's timeout.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # SQLite has no such option
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", envint("DATABASE_CONNECT_TIMEOUT", 5))
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "leger.sqlite3",
            # WAL lets pages read while a write runs; a writer waits up to 20 s for the lock (5 s by default
            # gave a rare "database is locked" 500 under load on a busy 2-core machine).
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
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

# Production-safe when DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The dashboard runs only our own files: no inline scripts, styles or event
# handlers, no eval (htmx's hx-on and its indicator <style> are off, see
# base.html), never framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Brute-force protection on sign-in (pages, admin and POST /api/v1/auth/token/):
# after AXES_FAILURE_LIMIT wrong passwords for one username from one address,
# that pair is refused for AXES_COOLOFF_MINUTES, whatever password it sends.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = envint("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "leger.lib.lockout.lockout_response"
# The failures are in the axes tables; a line per refused sign-in is enough in the log.
AXES_VERBOSE = False
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# REST API
REST_FRAMEWORK = {
    # Token first: DRF answers a missing, wrong or revoked token with the first class's
    # challenge, so a client is told 401 (WWW-Authenticate: Token), not a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "leger.lib.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Leger API",
    "DESCRIPTION": "Configure a self-hosted LLM stack and publish it as releases of Podman Quadlet files.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# Tasks: Celery on Redis when CELERY_BROKER_URL is set, else in-process.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_TASK_DEFAULT_QUEUE", "leger")
# A message a worker took but did not acknowledge (it was killed mid-task: acks_late) goes back to the queue
# after this many seconds. It must exceed the longest publish plus the longest retry countdown (60 s), or a
# publish still running is handed to a second worker; an hour is far above both (a publish stops at its first
# failing upload, which boto3 gives up on within about two minutes). A release whose worker died waits that
# long, or until someone presses Retry (offered once it has made no progress for LEGER_PUBLISH_STALE_SECONDS).
CELERY_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", 3600)
# The web process must answer within seconds when Redis is down or hung: connect and read time out quickly,
# and a publish retries the broker briefly, not the default ~2 minutes of redis-py retries per command.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Look for abandoned messages every few seconds (a cheap sorted-set range), not every 100 s.
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
# Seconds without progress after which a queued or publishing release may be queued again (its message was
# lost, or its worker died and the visibility timeout is still running).
LEGER_PUBLISH_STALE_SECONDS = envint("LEGER_PUBLISH_STALE_SECONDS", 900)
# Seconds before publishing tries a store error again, doubling each try (leger.releases.tasks.retry_delay).
LEGER_PUBLISH_RETRY_BASE_SECONDS = envint("LEGER_PUBLISH_RETRY_BASE_SECONDS", 5)
# How many publish runs of one release may be interrupted (the worker stopped mid-way, e.g. killed when out of
# memory, and the message came back) before the next run marks it failed instead of looping forever.
LEGER_PUBLISH_MAX_ATTEMPTS = envint("LEGER_PUBLISH_MAX_ATTEMPTS", 5)

# Release artifacts: an S3-compatible bucket when LEGER_S3_BUCKET is set,
# else a local folder with the same key layout.
LEGER_S3_BUCKET = envstr("LEGER_S3_BUCKET", "")
LEGER_S3_ENDPOINT_URL = envstr("LEGER_S3_ENDPOINT_URL", "")
LEGER_S3_REGION = envstr("LEGER_S3_REGION", "us-east-1")
LEGER_S3_ACCESS_KEY_ID = envstr("LEGER_S3_ACCESS_KEY_ID", "")
LEGER_S3_SECRET_ACCESS_KEY = envstr("LEGER_S3_SECRET_ACCESS_KEY", "")
LEGER_S3_PUBLIC = envbool("LEGER_S3_PUBLIC", False)
LEGER_RELEASES_DIR = Path(envstr("LEGER_RELEASES_DIR", str(VAR_DIR / "releases")))
# Each owner's published releases as Git repositories (leger.releases.git_source): a cache, rebuilt on demand.
LEGER_GIT_DIR = Path(envstr("LEGER_GIT_DIR", str(VAR_DIR / "git")))
# Where the leger CLI (and anyone) reads published objects with plain GETs: {this}/{owner uuid}/{version}/{file}.
# A bucket with a public-read policy on its objects, or a CDN in front of it; empty when releases are not public.
LEGER_RELEASES_PUBLIC_URL = envstr("LEGER_RELEASES_PUBLIC_URL", "").rstrip("/")

# The leger CLI's sign-in (`leger auth login`, POST /auth/cli): tokens it gets last this many days (revocable on
# /account/); at most LEGER_CLI_SIGNIN_LIMIT attempts per client address (and per Tailscale login) in
# LEGER_CLI_SIGNIN_WINDOW_SECONDS. The signing key is derived from SECRET_KEY unless LEGER_CLI_TOKEN_KEY is set.
LEGER_CLI_TOKEN_DAYS = envint("LEGER_CLI_TOKEN_DAYS", 30)
LEGER_CLI_TOKEN_KEY = envstr("LEGER_CLI_TOKEN_KEY", "")
LEGER_CLI_SIGNIN_LIMIT = envint("LEGER_CLI_SIGNIN_LIMIT", 10)
LEGER_CLI_SIGNIN_WINDOW_SECONDS = envint("LEGER_CLI_SIGNIN_WINDOW_SECONDS", 600)
# Tailscale's API, asked for a tailnet's devices (leger.tailnet.tailscale_api) to verify `leger auth login` and by
# the Test button on /settings, with the API access token each user linked there.
LEGER_TAILSCALE_API_URL = envstr("LEGER_TAILSCALE_API_URL", "https://api.tailscale.com").rstrip("/")

# Provider keys are encrypted with Fernet under these keys (newest first),
# separate from SECRET_KEY. The default is for development only.
DEV_FERNET_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS1kby1ub3QtdXNlLSE="
LEGER_FERNET_KEYS = envlist("LEGER_FERNET_KEYS", [DEV_FERNET_KEY])

# The catalog fixtures `load_catalog` reads.
LEGER_FIXTURES_DIR = Path(envstr("LEGER_FIXTURES_DIR", str(BASE_DIR / "fixtures")))
# LiteLLM's model registry: from this URL, else the installed litellm package; beat syncs it every N hours (0: off).
LEGER_MODEL_REGISTRY_URL = envstr("LEGER_MODEL_REGISTRY_URL", "")
LEGER_MODEL_REGISTRY_SYNC_HOURS = envint("LEGER_MODEL_REGISTRY_SYNC_HOURS", 0)
CELERY_BEAT_SCHEDULE = (
    {
        "sync-model-registry": {
            "task": "leger.catalog.sync_model_registry",
            "schedule": LEGER_MODEL_REGISTRY_SYNC_HOURS * 3600,
        }
    }
    if LEGER_MODEL_REGISTRY_SYNC_HOURS > 0
    else {}
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
