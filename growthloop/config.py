"""Settings: defaults, then `<data dir>/growthloop.toml`, then GROWTHLOOP_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("growthloop-data")
SETTINGS_FILE = "growthloop.toml"


class Settings(BaseSettings):
    """Everything a deployment can configure. Field names are the keys of the settings file."""

    model_config = SettingsConfigDict(env_prefix="GROWTHLOOP_", extra="forbid")

    data_dir: Path = DEFAULT_DATA_DIR
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    metadata_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default: SQLite file in the data dir.",
    )
    default_project: str = "default"
    session_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    duckdb_memory_limit: str = Field(
        default="4GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use per event store before it spills to disk.",
    )
    import_memory_limit: str = Field(
        default="33%",
        pattern=r"^([0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)|[1-9][0-9]?%)$",
        description="Memory DuckDB may use while a file import runs, instead of"
        " duckdb_memory_limit: a size, or a share of this machine's memory. An import holds"
        " every typed row until it stores them all; past this limit they spill to disk.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Address of the web app, for links in mail."
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for mailed reports.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "growthloop@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    weekly_report_to: str = Field(
        default="", description="Comma-separated addresses that get the weekly report."
    )
    weekly_report_weekday: int = Field(default=0, ge=0, le=6, description="0 = Monday.")
    weekly_report_time: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    weekly_report_locale: str = Field(default="zh-CN", pattern=r"^(zh-CN|en)$")
    secret_key: str | None = Field(
        default=None, description="Signs session cookies; generated into the data dir if unset."
    )
    collector_max_body_bytes: int = Field(
        default=5 << 20,
        ge=1024,
        description="Collector: a request body over this (sent or decompressed) gets 413.",
    )
    collector_max_spool_bytes: int = Field(
        default=1 << 30,
        ge=1 << 20,
        description="Collector: spooled bytes not yet loaded over this: requests get 503.",
    )
    collector_group_commit_ms: float = Field(
        default=0.0,
        ge=0,
        le=1000,
        description="Collector: how long the spool writer waits for more requests to share an"
        " fsync (0: it syncs as soon as the previous fsync is done).",
    )
    collector_load_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Collector: the loader moves the spool into the event store this often.",
    )
    collector_load_batch_bytes: int = Field(
        default=64 << 20,
        ge=1 << 20,
        description="Collector: spool bytes the loader stores in one transaction at most.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {value!r}")
        return value.upper()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def metadata_database_url(self) -> str:
        if self.metadata_url:
            return self.metadata_url
        return f"sqlite:///{(self.data_dir / 'metadata.sqlite').resolve()}"

    def event_store_path(self, project: str | None = None) -> Path:
        """Where a project's DuckDB event store lives."""
        return self.data_dir / "events" / f"{project or self.default_project}.duckdb"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _settings_file_for(init_settings)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def _settings_file_for(init_settings: PydanticBaseSettingsSource) -> Path:
    given: dict[str, Any] = init_settings()
    data_dir = given.get("data_dir") or os.environ.get("GROWTHLOOP_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(data_dir) / SETTINGS_FILE


def load_settings(data_dir: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings for a data directory (None: GROWTHLOOP_DATA_DIR or ./growthloop-data)."""
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    return Settings(**overrides)


_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40})


def memory_bytes(limit: str) -> int:
    """A memory limit setting (`4GB`, `33%` of this machine's memory) in bytes."""
    text = limit.strip()
    if text.endswith("%"):
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return int(physical * float(text[:-1]) / 100)
    number = text.rstrip("KMGTiB").strip()
    return int(float(number) * _UNITS[text[len(number) :].strip()])


def import_memory_limit(settings: Settings) -> str:
    """The memory limit a file import runs with: import_memory_limit, or duckdb_memory_limit
    when that is larger."""
    limits = (settings.import_memory_limit, settings.duckdb_memory_limit)
    return max(limits, key=memory_bytes)
