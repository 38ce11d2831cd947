"""Application settings: one validated object, read from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-development-only-secret-key"  # noqa: S105 (refused outside development)


class TokenEncryption(StrEnum):
    NONE = "none"  # signed JWT (JWS, HS256)
    JWE = "jwe"  # encrypted JWT, opaque to clients


class SeedDemo(StrEnum):
    AUTO = "auto"  # on first start of a development SQLite database with no users
    TRUE = "true"  # whenever `serve` starts (idempotent)
    FALSE = "false"


class VideoProviderName(StrEnum):
    LOCAL = "local"  # uploads go to the file storage; playback is a signed storage URL
    MUX = "mux"  # direct uploads to Mux; playback through Mux playback ids


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


#: Where `studyhall serve` listens by default.
DEFAULT_PUBLIC_URL = "http://localhost:8000"


MIB = 1024 * 1024
_IMAGES = "image/png,image/jpeg,image/gif,image/webp"
_DOCUMENTS = (
    "application/pdf,text/plain,text/markdown,text/csv,application/rtf,"
    "application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.ms-powerpoint,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
    "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet,"
    "application/vnd.oasis.opendocument.presentation"
)
_ARCHIVES = "application/zip,application/gzip,application/x-tar,application/x-7z-compressed"
ContentTypes = Annotated[list[str], NoDecode]


GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"


@dataclass(frozen=True)
class OAuthProvider:
    """An OpenID Connect provider people may sign in with; endpoints come from discovery."""

    name: str
    discovery_url: str
    client_id: str
    client_secret: str = field(repr=False)


def normalize_database_url(url: str) -> str:
    """Map the URL spellings people paste to the async drivers the app uses."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Settings(BaseSettings):
    """Every setting StudyHall reads. Unprefixed environment variables, e.g. `DATABASE_URL`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    secret_key: str = Field(DEFAULT_SECRET_KEY, repr=False)
    data_dir: Path = Path("./var")
    database_url: str = ""
    database_pool_size: int = Field(10, ge=1)
    database_max_overflow: int = Field(10, ge=0)
    #: Seconds to open a PostgreSQL connection; a busy server can take a while under a burst.
    database_connect_timeout: float = Field(10.0, gt=0)
    database_echo: bool = False
    auto_migrate: bool | None = None
    seed_demo: SeedDemo = SeedDemo.AUTO
    redis_url: str | None = None
    #: How long a cached catalog page or course outline may be served (the most enrollment
    #: counts may lag); 0 turns the cache off. Writes invalidate it at once.
    cache_ttl_seconds: float = Field(5.0, ge=0, le=3600)
    #: Entries of the in-process cache (used when `REDIS_URL` is unset), per process.
    cache_max_entries: int = Field(2000, ge=1)
    #: Seconds between the pings a notification socket sends (and its session is re-checked).
    ws_ping_interval_seconds: float = Field(20.0, gt=0, le=3600)
    #: Seconds a notification socket without `?token=` has to send its auth message.
    ws_auth_timeout_seconds: float = Field(5.0, gt=0, le=300)
    #: Messages a socket may have waiting for its client before it is closed as too slow.
    ws_buffer_messages: int = Field(256, ge=1, le=100_000)
    #: RabbitMQ (`amqp://user:pass@host:5672/vhost`): API processes relay events to it and
    #: `studyhall worker` handles them. Unset: the API processes handle events themselves.
    broker_url: str | None = Field(None, repr=False)
    #: Prefix of the exchange and queues, so several installations can share one broker.
    broker_namespace: str = Field("studyhall", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    #: Unacknowledged messages one worker holds (and handles concurrently) at most.
    broker_prefetch: int = Field(64, ge=1, le=10_000)
    #: Where files live: unset is `DATA_DIR/files`, `file:///path` a folder, `s3://bucket[/prefix]`
    #: an S3-compatible store (with the `S3_*` settings below).
    storage_url: str | None = None
    #: S3 API endpoint of a store other than AWS (MinIO, SeaweedFS, R2): `https://s3.example.com`.
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    #: Unset: boto3's usual credential chain (environment, profile, instance role).
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = Field(None, repr=False)
    #: `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (most non-AWS stores).
    s3_force_path_style: bool = False
    #: Seconds to connect to the store, and to wait for each answer, per attempt (3 attempts).
    s3_timeout: float = Field(10.0, gt=0)
    smtp_url: str | None = Field(None, repr=False)
    #: Uploaded files: how long a presigned upload (PUT) and download URL stay valid.
    file_upload_url_ttl_seconds: int = Field(900, ge=30, le=7 * 86400)
    file_download_url_ttl_seconds: int = Field(300, ge=10, le=7 * 86400)
    #: Uploads never completed are removed (object and row) after this many hours.
    file_pending_ttl_hours: float = Field(24.0, gt=0)
    #: Objects of deleted files are removed after this many days (the row stays).
    file_retention_days: float = Field(30.0, ge=0)
    #: Seconds between two runs of the file cleanup job; 0 turns it off in this process.
    file_cleanup_interval_seconds: float = Field(3600.0, ge=0)
    #: Most bytes one user's files may take (pending and ready ones; deleted ones do not
    #: count); 0: no quota.
    file_quota_bytes: int = Field(0, ge=0)
    #: Per purpose: the largest upload in bytes and the content types accepted (comma
    #: separated; `type/*` accepts a whole family).
    file_max_bytes_avatar: int = Field(5 * MIB, ge=1)
    file_types_avatar: ContentTypes = Field(default_factory=lambda: _IMAGES.split(","))
    file_max_bytes_lesson_material: int = Field(200 * MIB, ge=1)
    file_types_lesson_material: ContentTypes = Field(
        default_factory=lambda: f"{_DOCUMENTS},{_IMAGES},{_ARCHIVES},audio/*".split(",")
    )
    file_max_bytes_submission: int = Field(50 * MIB, ge=1)
    file_types_submission: ContentTypes = Field(
        default_factory=lambda: f"{_DOCUMENTS},{_IMAGES},{_ARCHIVES}".split(",")
    )
    file_max_bytes_certificate_asset: int = Field(5 * MIB, ge=1)
    file_types_certificate_asset: ContentTypes = Field(
        default_factory=lambda: ["image/png", "image/jpeg", "image/webp"]
    )
    file_max_bytes_video: int = Field(5 * 1024 * MIB, ge=1)
    file_types_video: ContentTypes = Field(default_factory=lambda: ["video/*"])
    log_level: str = "INFO"
    log_json: bool = True
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Requests with a larger body are refused (413) while it streams in; uploads go to storage.
    max_request_body_bytes: int = Field(1_048_576, ge=1)
    #: Peers (IPs, CIDR networks, or `*`) trusted to report the client in `X-Forwarded-For`
    #: and the scheme in `X-Forwarded-Proto`. Empty: no proxy is trusted, the peer is the client.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    outbox_poll_interval: float = Field(1.0, gt=0)
    outbox_batch_size: int = Field(50, ge=1, le=1000)
    #: Failures of a handler before its event is dead for it (`OUTBOX_MAX_ATTEMPTS` is the
    #: former name, still read).
    event_max_attempts: int = Field(
        8, ge=1, validation_alias=AliasChoices("event_max_attempts", "outbox_max_attempts")
    )
    #: Retry n waits `EVENT_BACKOFF_INITIAL_SECONDS * OUTBOX_BACKOFF_BASE ** (n - 1)` seconds.
    event_backoff_initial_seconds: float = Field(2.0, gt=0)
    outbox_backoff_base: float = Field(2.0, gt=0)
    outbox_lease_seconds: float = Field(60.0, gt=0)
    outbox_dispatcher_enabled: bool = True
    #: Handled events (done, or relayed to the broker) older than this many days are deleted
    #: with their handlers' processed marks; events with a dead handler or a recent failure
    #: stay. Long enough that no redelivery can come later.
    event_retention_days: int = Field(30, ge=7)
    #: Seconds between two runs of the event retention job; 0 turns it off in this process.
    event_retention_interval_seconds: float = Field(3600.0, ge=0)
    health_check_timeout: float = Field(1.5, gt=0)
    app_url: str = "http://localhost:3000"
    #: This API's external base URL: the local storage's signed URLs start with it, and an unset
    #: `OAUTH_REDIRECT_BASE` follows it when it is set. The default is `studyhall serve`'s own.
    public_url: str = Field(DEFAULT_PUBLIC_URL, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    access_token_ttl_seconds: int = Field(900, ge=30)
    refresh_token_ttl_days: int = Field(30, ge=1)
    token_encryption: TokenEncryption = TokenEncryption.NONE
    password_hash_time_cost: int = Field(3, ge=1)
    password_hash_memory_cost: int = Field(65536, ge=8, description="KiB")
    password_hash_concurrency: int | None = Field(None, ge=1, description="default: CPU cores - 1")
    password_reset_ttl_minutes: int = Field(60, ge=1)
    email_verification_ttl_hours: int = Field(48, ge=1)
    mail_from: str = "StudyHall <no-reply@studyhall.local>"
    rate_limit_enabled: bool = True
    rate_limit_login: str = "10/minute"
    rate_limit_register: str = "5/minute"
    rate_limit_password_reset: str = "5/minute"  # noqa: S105
    rate_limit_email_verification: str = "5/hour"
    #: Public certificate verification, per client IP: enough for people, too few to guess codes.
    rate_limit_certificate_verify: str = "60/minute"
    #: Posts and comments, per user: enough to take part, too few to flood.
    rate_limit_posts: str = "10/minute;100/day"
    rate_limit_comments: str = "30/minute;500/day"
    #: Course chat messages, per user (REST and socket share it).
    rate_limit_chat: str = "30/minute;1000/day"
    #: Public base URL of this API (e.g. `https://api.example.com`); the OAuth redirect URI is
    #: `{OAUTH_REDIRECT_BASE}/api/v1/auth/oauth/{provider}/callback`. Unset: `PUBLIC_URL` when
    #: that is set, else the URL the authorize request arrived at (right unless a proxy
    #: rewrites the host).
    oauth_redirect_base: str | None = None
    oauth_google_client_id: str | None = None
    oauth_google_client_secret: str | None = Field(None, repr=False)
    #: A generic OpenID Connect provider, found through `{issuer}/.well-known/openid-configuration`.
    oauth_oidc_name: str = Field("oidc", pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    oauth_oidc_issuer: str | None = None
    oauth_oidc_client_id: str | None = None
    oauth_oidc_client_secret: str | None = Field(None, repr=False)
    oauth_state_ttl_seconds: int = Field(600, ge=30, le=3600)
    oauth_http_timeout: float = Field(10.0, gt=0)
    #: Where lesson videos go: `local` (the file storage) or `mux` (needs the MUX_TOKEN_* pair).
    video_provider: VideoProviderName = VideoProviderName.LOCAL
    #: How long a playback URL (a signed storage URL, or a Mux playback token) stays valid.
    video_playback_ttl_seconds: int = Field(3600, ge=30, le=7 * 24 * 3600)
    mux_token_id: str | None = None
    mux_token_secret: str | None = Field(None, repr=False)
    #: The signing secret of the Mux webhook (Settings → Webhooks in the Mux dashboard).
    mux_webhook_secret: str | None = Field(None, repr=False)
    #: Webhook deliveries whose `Mux-Signature` timestamp is further from now are refused.
    mux_webhook_tolerance_seconds: int = Field(300, ge=1, le=3600)
    #: A Mux signing key: with it, new videos get a `signed` playback policy and playback
    #: URLs carry a token signed with the private key (base64 PEM, as Mux hands it out).
    mux_signing_key_id: str | None = None
    mux_signing_key_private: str | None = Field(None, repr=False)
    mux_api_url: str = "https://api.mux.com"
    mux_http_timeout: float = Field(10.0, gt=0)
    #: Audit log entries older than this many days are deleted by the retention job.
    audit_retention_days: int = Field(365, ge=1)
    #: Seconds between two runs of the audit retention job; 0 turns it off in this process.
    audit_retention_interval_seconds: float = Field(3600.0, ge=0)
    #: GraphQL introspection (`__schema`, `__type`, what GraphiQL's docs read); unset: on in
    #: development and test, off in production.
    graphql_introspection: bool | None = None
    #: Deepest selection nesting a GraphQL operation may have (refused before it runs).
    graphql_max_depth: int = Field(10, ge=1, le=100)
    #: Largest estimated cost of a GraphQL operation (formula in docs/graphql.md).
    graphql_max_cost: int = Field(100_000, ge=1)
    #: Most aliases, and most tokens, one GraphQL document may have.
    graphql_max_aliases: int = Field(30, ge=1)
    graphql_max_tokens: int = Field(5_000, ge=1)
    #: Activity events (`POST /events`): requests per user, and the largest batch body in
    #: bytes (a batch holds at most 500 events).
    rate_limit_events: str = "120/minute;20000/day"
    analytics_max_batch_bytes: int = Field(512 * 1024, ge=1024)
    #: Months of raw activity events kept; older months are dropped (whole partitions on
    #: PostgreSQL), rollups stay.
    analytics_retention_months: int = Field(13, ge=2, le=240)
    #: Seconds between two runs of the activity store's housekeeping (partitions ahead,
    #: retention); 0 turns it off in this process.
    analytics_maintenance_interval_seconds: float = Field(3600.0, ge=0)
    #: Broker mode: activity batches (messages of up to 500 events) one worker holds
    #: unacknowledged, and the most events it writes in one transaction.
    analytics_prefetch: int = Field(16, ge=1, le=1000)
    analytics_worker_batch_events: int = Field(2000, ge=1, le=50_000)
    #: Broker mode: activity transactions one worker runs at once (each up to the batch
    #: size), so one's database round trips overlap the next one's decoding and encoding.
    analytics_worker_concurrency: int = Field(2, ge=1, le=16)
    #: Broker mode, backpressure: while the activity queue holds more batches than this,
    #: `POST /events` waits for the workers (up to `analytics_backlog_wait_seconds`, then
    #: `503 ingest_unavailable`) instead of queueing ever more; 0 turns it off.
    analytics_max_queued_batches: int = Field(50, ge=0)
    analytics_backlog_wait_seconds: float = Field(10.0, gt=0, le=300)
    #: Course and organisation analytics answers are kept this long (per course or
    #: organisation and range; rollups lag ingestion anyway); 0 computes every request.
    analytics_cache_seconds: float = Field(60.0, ge=0, le=3600)
    #: The built web app served at `/` (`web/dist` of a source checkout when unset).
    web_dist_dir: Path | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [proxy.strip() for proxy in value.split(",") if proxy.strip()]
        return value

    @field_validator(
        "file_types_avatar",
        "file_types_lesson_material",
        "file_types_submission",
        "file_types_certificate_asset",
        "file_types_video",
        mode="before",
    )
    @classmethod
    def _split_content_types(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            if proxy == "*":
                continue
            try:
                ipaddress.ip_network(proxy)  # a network without host bits, as uvicorn reads it
            except ValueError as exc:
                raise ValueError(f"not an IP address, a network or '*': {proxy!r}") from exc
        return value

    @field_validator(
        "rate_limit_login",
        "rate_limit_register",
        "rate_limit_password_reset",
        "rate_limit_email_verification",
        "rate_limit_certificate_verify",
        "rate_limit_posts",
        "rate_limit_comments",
        "rate_limit_chat",
        "rate_limit_events",
    )
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit (e.g. '10/minute'): {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @model_validator(mode="after")
    def _finalize(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'studyhall.db'}"
        self.database_url = normalize_database_url(self.database_url)
        if "public_url" in self.model_fields_set:
            self.public_url = self.public_url.rstrip("/")
            if self.oauth_redirect_base is None:
                self.oauth_redirect_base = self.public_url
        if self.oauth_oidc_issuer and self.oauth_oidc_name == "google":
            raise ValueError("OAUTH_OIDC_NAME must not be 'google' (Google has its own settings)")
        if self.video_provider == VideoProviderName.MUX and not (self.mux_token_id and self.mux_token_secret):
            raise ValueError("VIDEO_PROVIDER=mux needs MUX_TOKEN_ID and MUX_TOKEN_SECRET")
        if bool(self.mux_signing_key_id) != bool(self.mux_signing_key_private):
            raise ValueError("MUX_SIGNING_KEY_ID and MUX_SIGNING_KEY_PRIVATE go together")
        if self.environment != Environment.DEVELOPMENT and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError("SECRET_KEY must be set to a real secret outside development")
        if self.environment == Environment.PRODUCTION and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        """Migrate at start by default only on the embedded SQLite database."""
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def graphql_introspection_enabled(self) -> bool:
        """`GRAPHQL_INTROSPECTION`, defaulting to on everywhere but production."""
        if self.graphql_introspection is None:
            return self.environment != Environment.PRODUCTION
        return self.graphql_introspection

    @property
    def may_seed_demo(self) -> bool:
        """Whether `serve` should make the demo data available (see `seed_demo`)."""
        if self.seed_demo == SeedDemo.AUTO:
            return self.environment == Environment.DEVELOPMENT and self.is_sqlite
        return self.seed_demo == SeedDemo.TRUE

    @cached_property
    def oauth_providers(self) -> dict[str, OAuthProvider]:
        """Sign-in providers that are configured (client id and secret set), by name."""
        providers: dict[str, OAuthProvider] = {}
        if self.oauth_google_client_id and self.oauth_google_client_secret:
            providers["google"] = OAuthProvider(
                name="google",
                discovery_url=GOOGLE_DISCOVERY_URL,
                client_id=self.oauth_google_client_id,
                client_secret=self.oauth_google_client_secret,
            )
        if self.oauth_oidc_issuer and self.oauth_oidc_client_id and self.oauth_oidc_client_secret:
            providers[self.oauth_oidc_name] = OAuthProvider(
                name=self.oauth_oidc_name,
                discovery_url=self.oauth_oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                client_id=self.oauth_oidc_client_id,
                client_secret=self.oauth_oidc_client_secret,
            )
        return providers

    @cached_property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @cached_property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def file_limit(self, purpose: str) -> tuple[int, list[str]]:
        """The largest size and the accepted content types of uploads for `purpose`."""
        max_bytes: int = getattr(self, f"file_max_bytes_{purpose}")
        content_types: list[str] = getattr(self, f"file_types_{purpose}")
        return max_bytes, content_types
