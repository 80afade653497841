"""The pure single sign-on rules (domain/sso.py): providers read from settings, which
buttons a school's login page shows, identifiers, allowed CAS services, safe RelayStates."""

from __future__ import annotations

import pytest

from preau.domain.errors import InvalidInput
from preau.domain.sso import (
    ConfigError,
    identifier_of,
    offered_to,
    parse_cas_services,
    parse_oidc_providers,
    parse_saml_providers,
    safe_relay_state,
    service_allowed,
)


def test_saml_providers_are_read_with_their_schools() -> None:
    (educonnect, academie) = parse_saml_providers(
        "educonnect|ÉduConnect|https://ec.test/idp|/etc/ec.xml|*;"
        " paris|Académie de Paris|https://ac.test/idp|https://ac.test/md|0750001A, 0750002B"
    )
    assert educonnect.uais == ("*",)
    assert academie.uais == ("0750001A", "0750002B")
    assert academie.metadata == "https://ac.test/md"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("educonnect|ÉduConnect|https://ec.test/idp|/etc/ec.xml", "expected 5 fields"),
        ("Edu Connect|x|y|z|*", "lower-case"),
        ("a|x|y|z|0750001", "not a UAI"),
        ("a|x|y|z|*;a|x|y|z|*", "same name"),
    ],
)
def test_bad_saml_settings_say_what_is_wrong(raw: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_saml_providers(raw)


def test_oidc_providers_are_read() -> None:
    (provider,) = parse_oidc_providers("ac|Académie|https://op.test|preau|secret|0750001A")
    assert (provider.issuer, provider.client_id, provider.uais) == (
        "https://op.test",
        "preau",
        ("0750001A",),
    )
    with pytest.raises(ConfigError, match="expected 6 fields"):
        parse_oidc_providers("ac|Académie|https://op.test|preau|0750001A")


def test_buttons_show_for_their_schools_only() -> None:
    assert offered_to(("*",), None)
    assert offered_to(("*",), "0750001A")
    assert offered_to(("0750001A",), "0750001A")
    assert not offered_to(("0750001A",), "0750002B")
    assert not offered_to(("0750001A",), None)


def test_identifiers_come_in_the_configured_order_without_repeats() -> None:
    attributes = {"uid": ["jdupont"], "FrEduCtId": ["F123", " "], "FrEduCtEleveINE": ["F123"]}
    assert identifier_of(attributes) == ["F123", "jdupont"]
    assert identifier_of({"other": ["x"]}) == []
    assert identifier_of({"uid": ["x" * 300]}) == []


def test_cas_services_are_read_and_checked() -> None:
    services = parse_cas_services(
        "0750001A=https://pronote.test/0750001A/ https://cdt.test/app;*=https://all.test/"
    )
    assert services["0750001A"] == ("https://pronote.test/0750001A/", "https://cdt.test/app")
    assert services["*"] == ("https://all.test/",)
    with pytest.raises(ConfigError, match="not an http"):
        parse_cas_services("0750001A=ftp://files.test/")
    with pytest.raises(ConfigError, match="not a UAI"):
        parse_cas_services("school=https://a.test/")


PREFIXES = ("https://cdt.test/app", "https://pronote.test/0750001A/")


@pytest.mark.parametrize(
    "service",
    [
        "https://cdt.test/app",
        "https://cdt.test/app/",
        "https://cdt.test/app/login?next=/x#top",
        "https://pronote.test/0750001A/eleve.html",
        "https://pronote.test/0750001A/",
    ],
)
def test_services_under_a_prefix_are_allowed(service: str) -> None:
    assert service_allowed(service, PREFIXES)


@pytest.mark.parametrize(
    "service",
    [
        "https://cdt.test/application",  # a longer name, not under the path
        "https://cdt.test/app/../admin",
        "http://cdt.test/app",
        "https://cdt.test:444/app",
        "https://cdt.test.evil.test/app",
        "https://evil.test/?https://cdt.test/app",
        "https://user:pw@cdt.test/app",
        "https://cdt.test/app\\..\\admin",
        "https://cdt.test/app /x",
        "//cdt.test/app",
        "javascript:alert(1)",
        "https://cdt.test:notaport/app",
        "",
        "https://cdt.test/app/" + "x" * 2100,
    ],
)
def test_anything_else_is_refused(service: str) -> None:
    assert not service_allowed(service, PREFIXES)


@pytest.mark.parametrize("target", ["/home", "/messages?x=1", ""])
def test_local_relay_states_are_kept(target: str) -> None:
    assert safe_relay_state(target) == (target or "/home")


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test", "/\\evil.test", "/a b", "http:/x"]
)
def test_relay_states_outside_preau_are_refused(target: str) -> None:
    with pytest.raises(InvalidInput):
        safe_relay_state(target)
