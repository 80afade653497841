"""Préau as a SAML service provider, against a real pysaml2 identity provider: the
metadata, a sign-in from the login page to the home page, and each bad answer refused
with a page that says why."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from preau.cookies import SESSION_COOKIE
from tests.helpers import App, School, login
from tests.sso.conftest import PUPIL_A, Keys
from tests.sso.identity_providers import (
    OTHER_SP,
    SLO_URL,
    SSO_URL,
    Answer,
    SamlIdentityProvider,
)

EDUCONNECT_PUPIL = {
    "FrEduCtId": [PUPIL_A],
    "givenName": ["Pupil"],
    "sn": ["SchoolA"],
    "FrEduCtPersonAffiliation": ["eleve1d"],
}


async def start(client: httpx.AsyncClient, next_path: str = "/home") -> str:
    response = await client.get("/sso/saml/educonnect/login", params={"next_path": next_path})
    assert response.status_code in {302, 303}, response.text
    location = response.headers["location"]
    assert location.startswith(SSO_URL + "?")
    return location


async def post_answer(client: httpx.AsyncClient, answer: Answer) -> httpx.Response:
    assert answer.acs_url == "http://testserver/sso/saml/acs"
    return await client.post("/sso/saml/acs", data=answer.form)


def pem_body(path: str) -> list[str]:
    return Path(path).read_text().splitlines()[1:-1]


async def test_metadata_names_preau_and_its_key(sso_app: App, saml_keys: Keys) -> None:
    response = await sso_app.client.get("/sso/saml/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    body = response.text
    assert 'entityID="http://testserver/sso/saml/metadata"' in body
    assert "http://testserver/sso/saml/acs" in body
    assert "http://testserver/sso/saml/sls" in body
    certificate = "".join(pem_body(saml_keys.sp_cert))
    assert certificate[:60] in body.replace("\n", "")


async def test_login_page_offers_the_schools_providers(sso_app: App) -> None:
    page = await sso_app.client.get("/login", params={"school": "0750001A"})
    assert "Se connecter avec ÉduConnect" in page.text
    assert "/sso/saml/educonnect/login?next_path=%2Fhome" in page.text
    # The platform's page (no school) shows only providers of every school: none here.
    assert "ÉduConnect" not in (await sso_app.client.get("/login")).text
    assert "ÉduConnect" not in (await sso_app.client.get("/login?school=0999999Z")).text


async def test_a_pupil_signs_in_with_educonnect(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    location = await start(client, "/messages")
    request, relay_state = idp.read_request(location)
    assert relay_state == "/messages"
    assert request.issuer.text == "http://testserver/sso/saml/metadata"
    response = await post_answer(client, idp.answer(location, EDUCONNECT_PUPIL))
    assert response.status_code in {302, 303}, response.text
    assert response.headers["location"] == "/messages"
    assert SESSION_COOKIE in response.cookies
    session = sso_app.services.sessions.check(
        response.cookies[SESSION_COOKIE], now=sso_app.services.clock()
    )
    assert session is not None
    assert session.actor.person_id == sso_world["a"].people["pupil"]
    home = await client.get("/home")
    assert home.status_code == 200
    assert "Bonjour Pupil" in home.text  # the home page greets the person signed in


async def test_the_same_answer_twice_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    answer = idp.answer(await start(client), EDUCONNECT_PUPIL)
    assert (await post_answer(client, answer)).status_code in {302, 303}
    replay = await post_answer(sso_app.client_for(), answer)
    assert replay.status_code == 400
    assert "sa réponse a déjà servi" in replay.text
    assert SESSION_COOKIE not in replay.cookies


async def test_an_assertion_id_seen_before_is_refused_even_if_its_request_were_pending(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    """The second lock: were the request's single use ever lost (its marker expired), the
    assertion's own id, kept until the assertion expires, still refuses the replay."""
    client = sso_app.client_for()
    location = await start(client)
    request, _relay = idp.read_request(location)
    answer = idp.answer(location, EDUCONNECT_PUPIL)
    assert (await post_answer(client, answer)).status_code in {302, 303}
    state = sso_app.services.state
    await state.set(
        f"sso:saml:pending:{request.id}", b'{"provider": "educonnect", "next": "/home"}'
    )
    replay = await post_answer(sso_app.client_for(), answer)
    assert replay.status_code == 400
    assert "a déjà été utilisée une fois" in replay.text


async def test_an_unsigned_answer_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    answer = idp.answer(
        await start(client), EDUCONNECT_PUPIL, sign_assertion=False, sign_response=False
    )
    refused = await post_answer(client, answer)
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text
    assert SESSION_COOKIE not in refused.cookies


async def test_an_answer_signed_by_another_key_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider, tmp_path: Path
) -> None:
    from tests.sso.identity_providers import make_key_pair

    key, cert = make_key_pair(tmp_path, "impostor")
    metadata = (await sso_app.client.get("/sso/saml/metadata")).text
    impostor = SamlIdentityProvider(key, cert, metadata)
    client = sso_app.client_for()
    refused = await post_answer(client, impostor.answer(await start(client), EDUCONNECT_PUPIL))
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text


async def test_an_answer_for_another_audience_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    answer = idp.answer(await start(client), EDUCONNECT_PUPIL, audience=OTHER_SP)
    refused = await post_answer(client, answer)
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text


async def test_an_expired_assertion_is_refused(
    sso_app: App, sso_world: dict[str, School], saml_keys: Keys
) -> None:
    metadata = (await sso_app.client.get("/sso/saml/metadata")).text
    late = SamlIdentityProvider(
        saml_keys.idp_key, saml_keys.idp_cert, metadata, lifetime_minutes=-10
    )
    client = sso_app.client_for()
    refused = await post_answer(client, late.answer(await start(client), EDUCONNECT_PUPIL))
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text


async def test_an_answer_to_no_request_of_ours_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    unsolicited = idp.answer(await start(client), EDUCONNECT_PUPIL, in_response_to=None)
    refused = await post_answer(client, unsolicited)
    assert refused.status_code == 400
    assert "ne répond à aucune connexion" in refused.text
    invented = idp.answer(await start(client), EDUCONNECT_PUPIL, in_response_to="id-invented")
    refused = await post_answer(client, invented)
    assert refused.status_code == 400
    assert "trop longtemps" in refused.text


async def test_an_open_redirect_in_relay_state_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    for target in ("https://evil.test/", "//evil.test/", "/\\evil.test"):
        answer = idp.answer(await start(client), EDUCONNECT_PUPIL, relay_state=target)
        refused = await post_answer(client, answer)
        assert refused.status_code == 400, target
        assert "adresse en dehors de Préau" in refused.text
        assert SESSION_COOKIE not in refused.cookies
    started = await client.get(
        "/sso/saml/educonnect/login", params={"next_path": "https://evil.test/"}
    )
    assert started.status_code == 400


async def test_someone_preau_does_not_know_gets_a_clear_page(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    stranger = {"FrEduCtId": ["fr-educonnect-nobody"], "givenName": ["Nobody"]}
    refused = await post_answer(client, idp.answer(await start(client), stranger))
    assert refused.status_code == 403
    assert "personne dans Préau n’a ce compte (fr-educonnect-nobody)" in refused.text
    assert SESSION_COOKIE not in refused.cookies
    no_identifier = await post_answer(
        client, idp.answer(await start(client), {"givenName": ["Nobody"]})
    )
    assert no_identifier.status_code == 403


async def test_single_logout_started_by_preau(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    await post_answer(client, idp.answer(await start(client), EDUCONNECT_PUPIL, name="edu-42"))
    home = await client.get("/home")
    assert home.status_code == 200
    from tests.helpers import csrf_from

    logout = await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert logout.status_code in {302, 303}
    location = logout.headers["location"]
    assert location.startswith(SLO_URL + "?")
    request = idp.read_logout_request(location)  # its signature checked by the IdP
    assert request.name_id.text == "edu-42"
    assert request.issuer.text == "http://testserver/sso/saml/metadata"
    assert (await client.get("/home")).status_code in {302, 303, 401}


async def test_single_logout_started_by_the_identity_provider(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    client = sso_app.client_for()
    signed_in = await post_answer(
        client, idp.answer(await start(client), EDUCONNECT_PUPIL, name="edu-43")
    )
    session_token = signed_in.cookies[SESSION_COOKIE]
    location = idp.logout_request("http://testserver/sso/saml/sls", "edu-43")
    parts = urlsplit(location)
    answered = await sso_app.client_for().get(f"{parts.path}?{parts.query}")
    assert answered.status_code in {302, 303}, answered.text
    assert answered.headers["location"].startswith(SLO_URL + "?")
    assert "SAMLResponse" in parse_qs(urlsplit(answered.headers["location"]).query)
    # The session the IdP ended is refused from now on, in this process and the others.
    other = sso_app.client_for(cookies={SESSION_COOKIE: session_token})
    assert (await other.get("/home")).status_code in {302, 303, 401}


async def test_a_logout_request_not_signed_by_the_idp_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    location = idp.logout_request("http://testserver/sso/saml/sls", "edu-44")
    query = parse_qs(urlsplit(location).query)
    signature = query["Signature"][0]
    query["Signature"] = [("B" if signature[0] == "A" else "A") + signature[1:]]
    refused = await sso_app.client.get(
        "/sso/saml/sls", params={key: values[0] for key, values in query.items()}
    )
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text


async def test_password_login_still_works_beside_sso(
    sso_app: App, sso_world: dict[str, School]
) -> None:
    assert (await login(sso_app.client_for(), "pupil.a")).status_code in {302, 303}


async def test_a_tampered_answer_is_refused(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    """Someone changes whose identifier the signed assertion carries: the signature no
    longer matches."""
    client = sso_app.client_for()
    answer = idp.answer(await start(client), {"FrEduCtId": ["fr-educonnect-pupil-b"]})
    xml = base64.b64decode(answer.form["SAMLResponse"]).decode()
    assert "fr-educonnect-pupil-b" in xml
    tampered = xml.replace("fr-educonnect-pupil-b", PUPIL_A)
    answer.form["SAMLResponse"] = base64.b64encode(tampered.encode()).decode()
    refused = await post_answer(client, answer)
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text
    assert SESSION_COOKIE not in refused.cookies


@pytest.mark.parametrize(
    "saml_response",
    [
        "",
        "not base64 at all!",
        base64.b64encode(b"<not-saml/>").decode(),
        "A" * 300_000,
        base64.b64encode(b'<!DOCTYPE r [<!ENTITY a "id-1">]><r InResponseTo="&a;"/>').decode(),
    ],
)
async def test_unreadable_answers_get_a_sentence(sso_app: App, saml_response: str) -> None:
    refused = await sso_app.client.post(
        "/sso/saml/acs", data={"SAMLResponse": saml_response, "RelayState": "/home"}
    )
    assert refused.status_code == 400
    assert "Connectez-vous de nouveau" in refused.text or "ne répond à aucune" in refused.text


async def test_the_same_person_signing_in_twice_at_once_gets_in_twice(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    """Two devices answered at the same moment for one person: pysaml2's own memory of
    who signed in must not turn the second into an error (it did: a 500)."""
    phone, laptop = sso_app.client_for(), sso_app.client_for()
    answers = [idp.answer(await start(client), EDUCONNECT_PUPIL) for client in (phone, laptop)]
    both = await asyncio.gather(post_answer(phone, answers[0]), post_answer(laptop, answers[1]))
    assert [response.status_code in {302, 303} for response in both] == [True, True], [
        response.text[:300] for response in both
    ]
    for client in (phone, laptop):
        assert (await client.get("/home")).status_code == 200
