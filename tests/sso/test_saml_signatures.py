"""SAML signatures checked in process (preau.actions.sso.signatures): real answers signed by
the identity provider's ``xmlsec1``, checked by Préau's backend, good ones accepted and
every forged, moved, re-pointed or re-keyed one refused, directly and through the ACS."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import httpx
import pytest
import saml2.sigver
from lxml import etree
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.sigver import SignatureError

from preau.actions.sso.signatures import InProcessCrypto
from preau.cookies import SESSION_COOKIE
from tests.helpers import App, School
from tests.sso.conftest import PUPIL_A, Keys
from tests.sso.identity_providers import (
    PASSWORD_PROTECTED,
    SSO_URL,
    SamlIdentityProvider,
    make_key_pair,
)

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
ASSERTION = f"{SAML}:Assertion"
PUPIL_B = "fr-educonnect-pupil-b"


async def start(client: httpx.AsyncClient) -> str:
    response = await client.get("/sso/saml/educonnect/login", params={"next_path": "/home"})
    assert response.status_code in {302, 303}, response.text
    location = response.headers["location"]
    assert location.startswith(SSO_URL + "?")
    return location


def signed_answer(idp: SamlIdentityProvider, location: str, identifier: str) -> Any:
    """The IdP's answer (only its assertion signed, as pysaml2's IdP may send it), parsed."""
    answer = idp.answer(location, {"FrEduCtId": [identifier]}, sign_response=False)
    return answer, etree.fromstring(base64.b64decode(answer.form["SAMLResponse"]))


def assertion_of(root: Any) -> Any:
    found = root.find(f"{{{SAML}}}Assertion")
    assert found is not None
    return found


def text(root: Any) -> str:
    return str(etree.tostring(root, encoding="unicode"))


def check(xml: str, cert: str, node_id: str | None) -> bool:
    return bool(InProcessCrypto().validate_signature(xml, cert, "pem", ASSERTION, node_id))


async def post(client: httpx.AsyncClient, form: dict[str, str], root: Any) -> httpx.Response:
    form = {**form, "SAMLResponse": base64.b64encode(text(root).encode()).decode()}
    return await client.post("/sso/saml/acs", data=form)


async def test_a_good_signature_is_accepted_and_every_bad_one_refused(
    sso_app: App, idp: SamlIdentityProvider, saml_keys: Keys, tmp_path: Path
) -> None:
    _answer, root = signed_answer(idp, await start(sso_app.client_for()), PUPIL_B)
    assertion = assertion_of(root)
    assertion_id = assertion.get("ID")
    assert check(text(root), saml_keys.idp_cert, assertion_id)
    # Another certificate (Préau's own) does not verify the IdP's signature.
    with pytest.raises(SignatureError, match="signature of"):
        check(text(root), saml_keys.sp_cert, assertion_id)
    # One attribute value changed: the digest no longer matches.
    tampered = text(root).replace(PUPIL_B, PUPIL_A)
    with pytest.raises(SignatureError, match="signature of"):
        check(tampered, saml_keys.idp_cert, assertion_id)
    # Unsigned: nothing to verify.
    unsigned = copy.deepcopy(root)
    signature = assertion_of(unsigned).find(f"{{{DSIG}}}Signature")
    signature.getparent().remove(signature)
    with pytest.raises(SignatureError, match="0 signatures"):
        check(text(unsigned), saml_keys.idp_cert, assertion_id)
    # A node the document does not have.
    with pytest.raises(SignatureError, match=r"0 .* elements"):
        check(text(root), saml_keys.idp_cert, "id-not-there")


async def test_the_key_is_the_certificate_given_never_the_documents(
    sso_app: App, saml_keys: Keys, tmp_path: Path
) -> None:
    """An impostor signs with its own key and puts its certificate in KeyInfo (pysaml2's
    IdP does): checked against the real IdP's certificate, refused."""
    key, cert = make_key_pair(tmp_path, "impostor")
    metadata = (await sso_app.client.get("/sso/saml/metadata")).text
    impostor = SamlIdentityProvider(key, cert, metadata)
    _answer, root = signed_answer(impostor, await start(sso_app.client_for()), PUPIL_A)
    assertion = assertion_of(root)
    assert assertion.find(f".//{{{DSIG}}}X509Certificate") is not None
    with pytest.raises(SignatureError, match="signature of"):
        check(text(root), saml_keys.idp_cert, assertion.get("ID"))
    assert check(text(root), cert, assertion.get("ID"))  # its own key does verify it


@pytest.mark.parametrize(
    "uri",
    ["http://127.0.0.1:9/assertion.xml", "file:///etc/passwd", "#id-of-another-node", ""],
)
async def test_a_reference_to_anything_but_the_node_is_refused(
    sso_app: App, idp: SamlIdentityProvider, saml_keys: Keys, uri: str
) -> None:
    """Refused before libxmlsec reads anything (nothing listens on 127.0.0.1:9); the empty
    URI (the whole document) is only for a signed root."""
    _answer, root = signed_answer(idp, await start(sso_app.client_for()), PUPIL_A)
    assertion = assertion_of(root)
    reference = assertion.find(f"{{{DSIG}}}Signature/{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    reference.set("URI", uri)
    with pytest.raises(SignatureError, match="reference"):
        check(text(root), saml_keys.idp_cert, assertion.get("ID"))


async def test_a_second_reference_is_refused(
    sso_app: App, idp: SamlIdentityProvider, saml_keys: Keys
) -> None:
    _answer, root = signed_answer(idp, await start(sso_app.client_for()), PUPIL_A)
    assertion = assertion_of(root)
    reference = assertion.find(f"{{{DSIG}}}Signature/{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    extra = copy.deepcopy(reference)
    extra.set("URI", "http://127.0.0.1:9/other.xml")
    reference.addnext(extra)
    with pytest.raises(SignatureError, match="2 references"):
        check(text(root), saml_keys.idp_cert, assertion.get("ID"))


async def test_a_document_type_declaration_is_refused(
    sso_app: App, idp: SamlIdentityProvider, saml_keys: Keys
) -> None:
    """A DTD could make another attribute an ID, so that ``#id`` meant another element."""
    _answer, root = signed_answer(idp, await start(sso_app.client_for()), PUPIL_A)
    xml = f"<!DOCTYPE Response [<!ATTLIST Response ID ID #IMPLIED>]>{text(root)}"
    with pytest.raises(SignatureError, match="DTD"):
        check(xml, saml_keys.idp_cert, assertion_of(root).get("ID"))


def wrapped(root: Any, *, same_id: bool) -> Any:
    """Signature wrapping: the signed assertion (for pupil B) hidden in the Response's
    Extensions, and a forged one for pupil A where the service provider reads it, either
    unsigned with an id of its own or carrying the signed one's id and signature."""
    forged_root = copy.deepcopy(root)
    signed = assertion_of(forged_root)
    forged = copy.deepcopy(signed)
    value = forged.find(f".//{{{SAML}}}AttributeValue")
    assert value is not None
    assert value.text == PUPIL_B
    value.text = PUPIL_A
    if not same_id:
        forged.set("ID", "id-forged-assertion")
        forged.remove(forged.find(f"{{{DSIG}}}Signature"))
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    forged_root.find(f"{{{SAML}}}Issuer").addnext(extensions)
    signed.addprevious(forged)
    extensions.append(signed)
    return forged_root


@pytest.mark.parametrize("same_id", [False, True], ids=["unsigned-copy", "copy-with-same-id"])
async def test_signature_wrapping_is_refused(
    sso_app: App,
    sso_world: dict[str, School],
    idp: SamlIdentityProvider,
    saml_keys: Keys,
    same_id: bool,
) -> None:
    client = sso_app.client_for()
    answer, root = signed_answer(idp, await start(client), PUPIL_B)
    attack = wrapped(root, same_id=same_id)
    if same_id:
        with pytest.raises(SignatureError, match=r"2 .* elements"):
            check(text(attack), saml_keys.idp_cert, assertion_of(root).get("ID"))
    refused = await post(client, answer.form, attack)
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text
    assert SESSION_COOKIE not in refused.cookies
    # The same kind of answer, unwrapped, signs pupil B in: the refusal was the wrapping's.
    fresh_client = sso_app.client_for()
    fresh, fresh_root = signed_answer(idp, await start(fresh_client), PUPIL_B)
    accepted = await post(fresh_client, fresh.form, fresh_root)
    assert accepted.status_code in {302, 303}, accepted.text


async def test_no_xmlsec1_process_during_a_sign_in(
    sso_app: App,
    sso_world: dict[str, School],
    idp: SamlIdentityProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The IdP stand-in signs with xmlsec1 (before); Préau's whole sign-in runs no process."""
    client = sso_app.client_for()
    answer, root = signed_answer(idp, await start(client), PUPIL_A)

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(saml2.sigver, "Popen", no_process)
    signed_in = await post(client, answer.form, root)
    assert signed_in.status_code in {302, 303}, signed_in.text
    assert SESSION_COOKIE in signed_in.cookies


async def test_signing_and_decrypting_in_process(
    sso_app: App, idp: SamlIdentityProvider, saml_keys: Keys
) -> None:
    """sign_statement fills a Signature template as xmlsec1 --sign does; decrypt opens an
    assertion the IdP encrypted (with xmlsec1) for Préau's certificate."""
    _answer, root = signed_answer(idp, await start(sso_app.client_for()), PUPIL_A)
    assertion_id = assertion_of(root).get("ID")
    template = copy.deepcopy(root)
    for name in ("DigestValue", "SignatureValue"):
        node = template.find(f".//{{{DSIG}}}{name}")
        node.text = ""
    with pytest.raises(SignatureError):
        check(text(template), saml_keys.idp_cert, assertion_id)
    crypto = InProcessCrypto()
    signed = crypto.sign_statement(text(template), ASSERTION, saml_keys.idp_key, assertion_id)
    assert check(signed, saml_keys.idp_cert, assertion_id)

    location = await start(sso_app.client_for())
    message, _relay = idp.read_request(location)
    args = idp.server.response_args(message)
    pem = Path(saml_keys.sp_cert).read_text()  # noqa: ASYNC240 - a small local file, once
    certificate = "".join(pem.splitlines()[1:-1])
    response = idp.server.create_authn_response(
        {"FrEduCtId": [PUPIL_A]},
        userid="edu-secret",
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="edu-secret"),
        sign_assertion=True,
        sign_response=False,
        encrypt_assertion=True,
        encrypt_cert_assertion=certificate,
        authn={"class_ref": PASSWORD_PROTECTED},
        **args,
    )
    encrypted = str(response)
    assert "EncryptedAssertion" in encrypted
    assert PUPIL_A not in encrypted
    clear = crypto.decrypt(encrypted, saml_keys.sp_key)
    assert PUPIL_A in clear
    with pytest.raises(saml2.sigver.DecryptError):
        crypto.decrypt(encrypted, saml_keys.idp_key)


def test_libxmlsec_reads_no_uri_at_all(saml_keys: Keys, tmp_path: Path) -> None:
    """Behind the checks: once Préau's backend is loaded, libxmlsec has no input callbacks,
    so a Reference to a file (or a URL) cannot be read even by a context built by hand."""
    import xmlsec

    import preau.actions.sso.signatures  # noqa: F401 - loading it removes the callbacks

    outside = tmp_path / "outside.xml"
    outside.write_text("<secret>read me</secret>")
    root = etree.fromstring(b"<root/>")
    signature = xmlsec.template.create(
        root, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256
    )
    root.append(signature)
    xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri=outside.as_uri())
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_file(saml_keys.idp_key, xmlsec.constants.KeyDataFormatPem)
    with pytest.raises(xmlsec.Error):
        context.sign(signature)
