"""Typed settings, read from ``PREAU_*`` environment variables by the composition root.

Only :mod:`preau.bootstrap` and the command line call :func:`Settings.from_environ`;
everything else receives a :class:`Settings` value.
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Mapping
from pathlib import Path

import msgspec

PREFIX = "PREAU_"


class SettingsError(ValueError):
    """A ``PREAU_*`` variable holds a value Préau cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Storage and shared state.
    database_url: str = "sqlite+aiosqlite:///preau.sqlite3"
    database_pool_size: int = 10
    redis_url: str = ""  # empty: in-process shared state (one process only)
    redis_prefix: str = "preau:"
    # Redis behind Sentinels ("host:port,host:port,..."): the client follows failovers
    # to the primary they name ``redis_sentinel_master``; set instead of ``redis_url``.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "preau"
    files_dir: Path = Path("var/files")

    # Classwork files: where they live and what is accepted.
    files_backend: str = "local"  # "local" (under files_dir) or "s3"
    files_max_upload_mb: int = 20  # per file
    video_max_upload_mb: int = 1000  # a video lesson's upload (docs/lessons.md)
    media_worker: bool = True  # transcode video lessons in this process (needs ffmpeg)
    # Types are sniffed from the content, never taken from the client; comma-separated.
    files_allowed_types: str = (
        "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,application/zip,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
        "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet,"
        "application/vnd.oasis.opendocument.presentation,audio/mpeg"
    )
    files_signed_urls: bool = False  # S3 only: answer downloads with a redirect to a signed URL
    s3_endpoint_url: str = ""  # empty: AWS; otherwise any S3-compatible service
    s3_bucket: str = "preau"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""

    # Secrets. Empty means "generate one for this process", which is only right for a
    # single-process development run; ``require_secret`` turns that into an error.
    secret_key: str = ""
    require_secret: bool = False

    # Accounts.
    session_seconds: int = 12 * 3600
    device_days: int = 30
    cookie_secure: bool = False
    login_attempts_per_account: int = 10  # per 15 minutes
    login_attempts_per_address: int = 300  # per 15 minutes: many pupils share one school address
    # argon2id: OWASP's m=7 MiB, t=5, p=1, chosen by measurement (bench/password_hash.py,
    # docs/performance.md: the least CPU per verify of OWASP's equally strong rows, alone and
    # two side by side); hashes made with other parameters are upgraded at the next login.
    # Hashing threads: 0 means one per core. Beyond the threads, ``password_hash_queue``
    # logins may wait; the next are answered 503 with Retry-After.
    password_hash_concurrency: int = 0
    password_hash_queue: int = 64
    argon2_time_cost: int = 5
    argon2_memory_kib: int = 7168
    argon2_parallelism: int = 1

    # Single sign-on (docs/sso.md; connecting ÉduConnect: docs/operations.md). SAML
    # identity providers: ``name|label|entity id|metadata file or https URL|UAIs`` entries
    # separated by ``;``, UAIs comma-separated or ``*`` for every school. Préau's own SAML
    # key and certificate (PEM files) sign its requests and appear in its metadata.
    saml_idps: str = ""
    saml_sp_key_file: str = ""
    saml_sp_cert_file: str = ""
    # The attributes whose value is a person's roster identifier, tried in order.
    saml_identifier_attributes: str = "FrEduCtId,FrEduCtEleveINE,uid"
    # pysaml2 runs in a pool of worker processes of each app process, started on its first
    # SAML request: one by default, since a server runs one app process per core (so as
    # many workers as cores); 0 means one per core. Beyond them, ``saml_queue`` calls may
    # wait; the next sign-ins are answered 503 with Retry-After.
    saml_workers: int = 1
    saml_queue: int = 64
    # OpenID Connect providers: ``name|label|issuer|client id|client secret|UAIs``, ``;``.
    oidc_providers: str = ""
    oidc_identifier_claims: str = "FrEduCtId,sub"
    # Préau as a CAS 3.0 server: each school's allowed service URL prefixes,
    # ``UAI=https://a.example/app https://b.example/;UAI=…`` (``*`` for every school).
    cas_services: str = ""
    cas_ticket_seconds: int = 60  # CAS 3.0 asks for 10 s to 5 minutes

    # Messages: sending limits per person, live updates, email digests over SMTP.
    messages_per_minute: int = 20
    messages_per_day: int = 400
    live_heartbeat_seconds: float = 20.0
    smtp_host: str = ""  # empty: digests are prepared but not sent
    smtp_port: int = 25
    smtp_tls: str = "none"  # "none", "starttls" or "tls" (implicit TLS, usually port 465)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Préau <no-reply@preau.invalid>"
    # Without an SMTP server, mail a person must get (a password reset link) is appended to
    # this file instead (the demo, development); empty: it is not sent, and a warning says so.
    mail_file: str = ""
    # Self-service password resets asked for, per account (username or address) and per
    # client address, per hour; the answer is the same either way (docs/accounts.md).
    password_resets_per_account: int = 3
    password_resets_per_address: int = 30

    # Virtual classes on a pool of Janus nodes (docs/virtual-classes.md). Nodes are
    # comma-separated ``name|janus_url|admin_url|max_participants|max_kbps``, e.g.
    # ``a|http://127.0.0.1:8088/janus|http://127.0.0.1:7088/admin|300|150000``.
    # Empty: virtual classes are shown as unavailable.
    janus_nodes: str = ""
    janus_admin_secret: str = ""  # Admin API secret, the same on every node
    janus_token_secret: str = ""  # Janus's token_auth_secret: Préau signs tokens with it
    janus_room_key: str = ""  # VideoRoom admin_key: only Préau may create rooms
    janus_bind: str = "127.0.0.1"  # what `preau janus-config` binds transports to
    janus_rtp_ports: str = "20000-40000"
    janus_config_dir: Path = Path("var/janus")
    janus_lead_minutes: int = 10  # rooms are created this long before a lesson
    janus_join_early_minutes: int = 5  # the join button shows this long before the start
    janus_room_bitrate: int = 512_000  # the teacher's video, bits/s
    janus_room_cap: int = 40  # tokens issued per class (Janus has no participant limit)
    janus_poll_seconds: float = 2.0  # Admin API health polling
    janus_dead_after: int = 2  # missed polls before a node's rooms move elsewhere
    # TURN (coturn) for pupils behind networks that block UDP: coturn's shared secret
    # (``static-auth-secret``), the comma-separated ``turn:``/``turns:`` URIs handed to
    # browsers, and how long the minted credentials last (docs/operations.md).
    turn_secret: str = ""
    turn_urls: str = ""
    turn_ttl_seconds: int = 3600
    turn_realm: str = "preau"
    # Recordings of virtual classes: the folder Janus writes .mjr files to (shared with
    # the Janus nodes in production), one sub-folder per room.
    janus_recordings_dir: Path = Path("var/recordings")

    # Writes sent with an Idempotency-Key: how long their first answer is kept.
    idempotency_hours: int = 24
    # What a browser may keep for reading offline, per person: pages and their files.
    offline_budget_mb: int = 25
    # TEST ONLY (tests/browser/test_offline_in_browser.py): the process exits, as if killed,
    # right after a keyed write under this path committed and before its answer is kept
    # or sent. Never set it anywhere else; empty (the default) turns it off.
    test_exit_after_commit: str = ""

    # Serving.
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    log_json: bool = True
    # One log line per request. Off behind a proxy that logs them (make cluster's nginx
    # logs each request with the X-Request-Id it passes on); errors are logged either way.
    access_log: bool = True
    # Proxies trusted to say who the client is (X-Forwarded-For, X-Forwarded-Proto): the
    # gate's per-address limits need the real address behind nginx. Comma-separated.
    forwarded_allow_ips: str = "127.0.0.1"
    default_locale: str = "fr"
    # UAIs (comma-separated) whose administrators operate the whole platform: the gate's
    # figures and settings. Empty: nobody (set it; `make run` sets the demo school's).
    operator_uais: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``PREAU_<FIELD>`` variables, with a clear error for bad values."""
        settings = cls(**read_environ(cls, environ, PREFIX))  # type: ignore[arg-type]  # parsed by type above
        if settings.require_secret and len(settings.secret_key) < 32:
            raise SettingsError(
                "PREAU_SECRET_KEY must be set to at least 32 random characters "
                "when PREAU_REQUIRE_SECRET is on (every process must share it)."
            )
        return settings

    def with_secret(self) -> Settings:
        """Settings with a secret key, generating a per-process one when none is configured."""
        if self.secret_key:
            return self
        return msgspec.structs.replace(self, secret_key=secrets.token_urlsafe(48))

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """``redis_sentinels`` as (host, port) pairs."""
        found: list[tuple[str, int]] = []
        for item in self.redis_sentinels.split(","):
            host, _, port = item.strip().rpartition(":")
            if host and port.isdigit():
                found.append((host, int(port)))
        return found

    @property
    def shared_on_redis(self) -> bool:
        return bool(self.redis_url or self.redis_sentinels)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def read_environ(
    struct: type[msgspec.Struct], environ: Mapping[str, str], prefix: str
) -> dict[str, object]:
    """The fields of ``struct`` found as ``<prefix><FIELD>`` variables, parsed by type."""
    values: dict[str, object] = {}
    hints = typing.get_type_hints(struct)
    for field in msgspec.structs.fields(struct):
        variable = prefix + field.name.upper()
        raw = environ.get(variable)
        if raw is not None:
            values[field.name] = _parse(variable, raw, hints[field.name])
    return values


def _parse(variable: str, raw: str, hint: object) -> object:
    if hint is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{variable} must be true or false, not {raw!r}.")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be a whole number, not {raw!r}.") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be a number, not {raw!r}.") from None
    if hint is Path:
        return Path(raw)
    return raw.strip()
