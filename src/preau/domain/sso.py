"""Single sign-on rules with no I/O: the identity providers a deployment declares, which of
them a school's login page offers, which attribute names a national identifier, and which
service URLs Préau's CAS server may send a ticket to (never an open redirect)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec

from preau.domain.errors import InvalidInput

# The attributes that carry the identifier the roster import stores as a person's
# ``source_id`` (OneRoster sourcedId), tried in this order. EduConnect sends FrEduCtId
# (its own stable identifier of the person) and, for pupils, FrEduCtEleveINE (the INE);
# académie identity providers send uid (the agent's login) or FrEduVecteur.
DEFAULT_IDENTIFIER_ATTRIBUTES = ("FrEduCtId", "FrEduCtEleveINE", "uid")

NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
UAI = re.compile(r"^[0-9]{7}[A-Z]$")
ALL_SCHOOLS = "*"

BAD_PROVIDER = "{variable}: {problem} (in {entry!r})."


class SamlProvider(msgspec.Struct, frozen=True):
    """A SAML identity provider: EduConnect or an académie's."""

    name: str  # in URLs: /sso/saml/<name>/login
    label: str  # on the login button
    entity_id: str
    metadata: str  # a file path or an https URL
    uais: tuple[str, ...]  # the schools it signs people in to; ("*",) for every school


class OidcProvider(msgspec.Struct, frozen=True):
    """An OpenID Connect provider."""

    name: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    uais: tuple[str, ...]


class ConfigError(ValueError):
    """A single sign-on setting Préau cannot use; the message names the variable."""


def _uais(variable: str, raw: str, entry: str) -> tuple[str, ...]:
    uais = tuple(part.strip() for part in raw.split(",") if part.strip()) or (ALL_SCHOOLS,)
    for uai in uais:
        if uai != ALL_SCHOOLS and not UAI.match(uai):
            raise ConfigError(
                BAD_PROVIDER.format(
                    variable=variable,
                    problem=f"{uai!r} is not a UAI (seven digits and a letter) nor *",
                    entry=entry,
                )
            )
    return uais


def _fields(variable: str, entry: str, count: int) -> list[str]:
    fields = [part.strip() for part in entry.split("|")]
    if len(fields) != count:
        raise ConfigError(
            BAD_PROVIDER.format(
                variable=variable,
                problem=f"expected {count} fields separated by |, found {len(fields)}",
                entry=entry,
            )
        )
    if not NAME.match(fields[0]):
        raise ConfigError(
            BAD_PROVIDER.format(
                variable=variable,
                problem="the name is lower-case letters, digits and dashes",
                entry=entry,
            )
        )
    return fields


def parse_saml_providers(raw: str) -> tuple[SamlProvider, ...]:
    """``name|label|entity id|metadata file or URL|UAIs`` entries separated by ``;``."""
    providers = []
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        name, label, entity_id, metadata, uais = _fields("PREAU_SAML_IDPS", entry, 5)
        providers.append(
            SamlProvider(name, label, entity_id, metadata, _uais("PREAU_SAML_IDPS", uais, entry))
        )
    _distinct("PREAU_SAML_IDPS", [provider.name for provider in providers])
    return tuple(providers)


def parse_oidc_providers(raw: str) -> tuple[OidcProvider, ...]:
    """``name|label|issuer|client id|client secret|UAIs`` entries separated by ``;``."""
    providers = []
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        name, label, issuer, client_id, secret, uais = _fields("PREAU_OIDC_PROVIDERS", entry, 6)
        providers.append(
            OidcProvider(
                name, label, issuer, client_id, secret, _uais("PREAU_OIDC_PROVIDERS", uais, entry)
            )
        )
    _distinct("PREAU_OIDC_PROVIDERS", [provider.name for provider in providers])
    return tuple(providers)


def _distinct(variable: str, names: list[str]) -> None:
    if len(set(names)) != len(names):
        raise ConfigError(f"{variable}: two providers have the same name.")


def offered_to(uais: tuple[str, ...], school_uai: str | None) -> bool:
    """Whether a provider's button shows on the login page of ``school_uai`` (None: the
    platform's own login page, which shows only the providers of every school)."""
    return ALL_SCHOOLS in uais or (school_uai is not None and school_uai in uais)


def identifier_of(
    attributes: dict[str, list[str]], names: tuple[str, ...] = DEFAULT_IDENTIFIER_ATTRIBUTES
) -> list[str]:
    """The candidate identifiers an identity provider sent, in the order of ``names``."""
    found = []
    for name in names:
        for raw in attributes.get(name, []):
            value = str(raw).strip()
            if value and len(value) <= 255 and value not in found:
                found.append(value)
    return found


# CAS: the services a school allows to receive its people's tickets.

BAD_SERVICE = "This application is not allowed to use Préau's sign-in: {service}."


def parse_cas_services(raw: str) -> dict[str, tuple[str, ...]]:
    """``UAI=prefix prefix;UAI=prefix``: each school's allowed service URL prefixes."""
    services: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        uai, _, prefixes = entry.partition("=")
        uai = uai.strip()
        if uai != ALL_SCHOOLS and not UAI.match(uai):
            raise ConfigError(f"PREAU_CAS_SERVICES: {uai!r} is not a UAI nor * (in {entry!r}).")
        parsed = tuple(prefixes.split())
        for prefix in parsed:
            parts = urlsplit(prefix)
            if parts.scheme not in {"https", "http"} or not parts.hostname:
                raise ConfigError(
                    f"PREAU_CAS_SERVICES: {prefix!r} is not an http(s) URL (in {entry!r})."
                )
        services[uai] = services.get(uai, ()) + parsed
    return services


def service_allowed(service: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``service`` is under one of ``prefixes``: the same scheme, the same host and
    port exactly, and a path that starts with the prefix's path at a ``/`` boundary. Query
    and fragment of the service are ignored for the match; user info, backslashes and
    control characters refuse the service outright."""
    if len(service) > 2000 or any(ord(char) < 0x21 or char == "\\" for char in service):
        return False
    try:
        parts = urlsplit(service)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in {"https", "http"} or not parts.hostname or "@" in parts.netloc:
        return False
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        if (
            parts.scheme == allowed.scheme
            and parts.hostname == allowed.hostname
            and port == allowed.port
            and _path_under(parts.path or "/", allowed.path or "/")
        ):
            return True
    return False


def _path_under(path: str, prefix: str) -> bool:
    if ".." in path.split("/"):
        return False
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def safe_relay_state(relay_state: str) -> str:
    """A RelayState or ``next`` that comes back from an identity provider: a local path
    only, refused otherwise (an open redirect through Préau's sign-in)."""
    if not relay_state:
        return "/home"
    if (
        relay_state.startswith("/")
        and not relay_state.startswith("//")
        and "\\" not in relay_state
        and len(relay_state) <= 500
        and all(ord(char) > 0x20 for char in relay_state)
    ):
        return relay_state
    raise InvalidInput(
        "The sign-in came back with an address outside Préau. Nothing was done: "
        "go to Préau's home page and sign in again."
    )
