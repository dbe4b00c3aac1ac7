"""Settings of the API process, read once at start-up (principle 9: typed, checked, passed in).

Values come from the environment (prefix ``CALLBOT_``, e.g. ``CALLBOT_SECRET_KEY``) or an
``.env`` file, then are handed to :func:`api.app.create_app`; nothing below the app reads the
environment. The token signing key has no usable default: an empty key, a known placeholder
("changeme", "secret" ...) or one shorter than 32 characters stops the process at start-up
with a message saying how to make one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings", "InsecureSecret", "MIN_SECRET_LENGTH", "PLACEHOLDER_SECRETS"]

MIN_SECRET_LENGTH: Final = 32
PLACEHOLDER_SECRETS: Final = frozenset({
    "changeme", "change-me", "change_me", "changethis", "secret", "secret-key", "secret_key",
    "password", "default", "test", "dev", "development", "insecure",
})


class InsecureSecret(ValueError):
    """The token signing key is missing, a placeholder or too short."""


class ApiSettings(BaseSettings):
    """Everything the API process is configured with."""

    model_config = SettingsConfigDict(env_prefix="CALLBOT_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore", frozen=True)

    database_url: str = Field(default="sqlite:///callbot.db",
                              description="SQLAlchemy URL: sqlite:///file.db or postgresql://...")
    secret_key: str = Field(default="", repr=False,
                            description="signs the access tokens; at least 32 random characters")
    token_minutes: int = Field(default=8 * 60, ge=1, le=31 * 24 * 60,
                               description="lifetime of an access token")
    token_algorithm: str = Field(default="HS256", pattern=r"^HS(256|384|512)$")
    project_name: str = "callbot CRM API"
    run_dialer: bool = Field(default=False,
                             description="run the campaign dialer inside the API process")
    run_webhooks: bool = Field(default=False,
                               description="deliver queued webhooks from the API process")
    dialer_poll_s: float = Field(default=2.0, gt=0, le=60,
                                 description="how often the dialer looks for running campaigns")
    worker_id: str = Field(default="api", min_length=1, max_length=60,
                           description="the dialer's lease owner name in the store")
    sip_host: str = Field(default="127.0.0.1", description="where the dialer's SIP socket binds")
    sip_port: int = Field(default=0, ge=0, le=65535, description="0: any free port")
    prompt_cache: Path | None = Field(default=None, description="folder for rendered prompts")
    recordings_dir: Path = Field(default=Path("recordings"),
                                 description="folder where record blocks keep callers' audio")
    speech_model: Path | None = Field(default=None, description="Vosk model folder")
    migrate: bool = Field(default=True, description="run the store's migrations at start-up")

    @field_validator("secret_key")
    @classmethod
    def _refuse_default_secret(cls, value: str) -> str:
        hint = ("set CALLBOT_SECRET_KEY to a long random value, e.g. the output of "
                "`python -c \"import secrets; print(secrets.token_urlsafe(48))\"`")
        if not value.strip():
            raise InsecureSecret(f"secret_key is empty: {hint}")
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise InsecureSecret(f"secret_key is the placeholder {value!r}: {hint}")
        if len(value) < MIN_SECRET_LENGTH:
            raise InsecureSecret(f"secret_key has {len(value)} characters, fewer than "
                                 f"{MIN_SECRET_LENGTH}: {hint}")
        return value
