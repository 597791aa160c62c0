"""Settings from `FLEETGRAPH_*` environment variables and a `.env` file, validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "FLEETGRAPH_"


class SettingsError(Exception):
    """A bad setting: its message names the variable, one line per problem."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./fleetgraph.db"
    broadcast_url: str = "memory://"
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path(".fleetgraph")
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=7, ge=1, le=365)
    impersonation_minutes: int = Field(default=15, ge=1, le=240)
    admin_email: str = "admin@fleetgraph.local"
    admin_password: SecretStr | None = None
    introspection: bool = True
    graphiql: bool = True
    rest_rate_limits: bool = Field(default=True, description="the source documents' per-IP limits on REST paths")
    rest_v1_dialect: Literal["kubilitics", "qassure", "provisioner"] = Field(
        default="kubilitics", description="which source document answers a path under /api/v1 that several have"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_query_depth: int = Field(default=12, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=1, le=1000)
    max_tokens: int = Field(default=3000, ge=10, le=100_000)
    max_directives: int = Field(default=20, ge=0, le=1000)
    max_query_cost: int = Field(default=20_000, ge=10)
    tenant_cost_budget: int = Field(default=1_000_000, ge=100, description="cost points per window")
    tenant_cost_window_seconds: int = Field(default=60, ge=1)
    principal_cost_budget: int = Field(default=250_000, ge=100, description="per user or API token, per window")
    rate_limit_url: str | None = Field(
        default=None, pattern=r"^(memory|redis|rediss)://", description="default: broadcast_url if redis, else memory"
    )
    redis_url: str | None = Field(default=None, description="a Redis shared by replicas, for the REST rate limits")
    max_fragment_spreads: int = Field(default=100, ge=1, le=10_000, description="fragment spreads in one document")
    max_expanded_fields: int = Field(default=10_000, ge=10, description="fields of a document, fragments expanded")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest request body")
    max_string_length: int = Field(default=10_000, ge=10, description="any string argument or input field")
    max_document_length: int = Field(default=524_288, ge=1000, description="manifests, kubeconfigs and private keys")
    max_list_length: int = Field(default=1000, ge=1, description="items of any list argument or input field")
    k8s_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    k8s_qps: float = Field(default=5.0, gt=0, le=10_000)
    k8s_burst: int = Field(default=10, ge=1, le=10_000)
    k8s_max_concurrency: int = Field(default=16, ge=1, le=1000)
    k8s_breaker_threshold: int = Field(default=5, ge=1, le=1000)
    k8s_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    k8s_impersonate: bool = True
    k8s_cache_idle_seconds: float = Field(default=300.0, gt=0)
    k8s_cache_max_objects: int = Field(default=50_000, ge=100)
    cluster_health_seconds: float = Field(default=30.0, ge=0, description="0 turns the health check off")
    subscription_queue_size: int = Field(default=1000, ge=10, le=100_000)
    subscription_recheck_seconds: float = Field(default=30.0, gt=0, description="how often streams recheck the session")
    watch_ownership_seconds: float = Field(default=3.0, gt=0, le=60, description="replicas' watch lock round")
    max_subscriptions_per_tenant: int = Field(default=2000, ge=1, description="open streams per tenant, per process")
    operation_workers: int = Field(default=2, ge=0, le=64, description="operations run at once per process; 0: none")
    operation_lease_seconds: float = Field(default=15.0, ge=0.5, le=600, description="a runner's claim on an operation")
    operation_poll_seconds: float = Field(default=1.0, gt=0, le=60, description="how often idle runners look for work")
    operation_max_interruptions: int = Field(default=3, ge=1, description="lost claims before an operation fails")
    simulator_url: str | None = Field(default=None, description="kubesim control API for the simulated provider")
    simulated_phase_seconds: float = Field(default=2.0, ge=0, le=600, description="time each simulated phase takes")
    simulated_faults: str = Field(default="", description="simulated phases that fail on a first attempt")
    max_subscriptions_per_connection: int = Field(default=100, ge=1, le=10_000)
    topology_snapshots_per_tenant: int = Field(default=500, ge=1, description="saved topology snapshots a tenant keeps")
    topology_snapshots_per_user: int = Field(default=50, ge=1, description="saved topology snapshots one user keeps")
    cluster_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list, description="private or loopback CIDRs tenants' clusters and machines may be in"
    )
    outbound_deadline_seconds: float = Field(default=15.0, gt=0, le=300, description="per request, all calls")
    outbound_max_targets: int = Field(default=20, ge=1, le=1000, description="addresses one request may contact")
    metrics_backend: Literal["embedded", "prometheus"] = Field(
        default="embedded", description="where metrics history comes from: samples in the database, or Prometheus"
    )
    metrics_interval_seconds: float = Field(
        default=15.0, ge=0, le=3600, description="how often the embedded backend samples each cluster; 0: never"
    )
    metrics_raw_retention_hours: float = Field(default=6.0, gt=0, le=24 * 30, description="raw samples kept")
    metrics_rollup_retention_days: float = Field(default=30.0, gt=0, le=3650, description="5-minute roll-ups kept")
    prometheus_url: str | None = Field(
        default=None, pattern=r"^https?://", description="the Prometheus that scrapes the clusters (prometheus backend)"
    )
    alertmanager_url: str | None = Field(
        default=None, pattern=r"^https?://", description="an Alertmanager alerts are also forwarded to, if set"
    )
    alert_evaluation: bool = Field(default=True, description="false: this replica evaluates no alert rules")
    alert_rule_for: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, description="built-in rules' `for`, as Code=seconds pairs: PodCrashLooping=300,..."
    )
    alert_evaluation_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="how often tenant rules and pending alerts are looked at"
    )
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = Field(default="json", description="the demo logs in console format")
    metrics_token: SecretStr | None = Field(default=None, description="a bearer token /metrics asks for, if set")
    otel_endpoint: str | None = Field(default=None, description="an OTLP/HTTP collector: traces go there when set")
    otel_resolver_cost: int = Field(default=50, ge=1, description="resolvers of fields this costly get a span")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("broadcast_url")
    @classmethod
    def _known_broadcast(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "postgres://", "postgresql://")):
            raise ValueError("must start with memory://, redis:// or postgres://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("cors_origins", "cluster_allowed_networks", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("alert_rule_for", mode="before")
    @classmethod
    def _rule_durations(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs = [pair.split("=", 1) for pair in value.split(",") if pair.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("must be Code=seconds pairs separated by commas, e.g. PodCrashLooping=300")
        return {code.strip(): seconds.strip() for code, seconds in pairs}

    @field_validator("alert_rule_for")
    @classmethod
    def _known_rules(cls, value: dict[str, int]) -> dict[str, int]:
        from app.alerts.rules import RULES

        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(f"no built-in rule {', '.join(unknown)}; they are {', '.join(RULES)}")
        if any(seconds < 0 for seconds in value.values()):
            raise ValueError("durations are whole seconds, 0 or more")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret(self) -> str:
        if self.secret_key is None:
            raise SettingsError(f"{ENV_PREFIX}SECRET_KEY: required (at least 32 characters)")
        return self.secret_key.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one line per variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("\n".join(lines)) from None
