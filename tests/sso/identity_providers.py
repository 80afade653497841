"""Real identity providers for the single sign-on tests: a pysaml2 IdP (``saml2.server``,
signing with xmlsec1 under a key made here), in this process."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig, SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

IDP_ENTITY_ID = "https://educonnect.test/idp"
SSO_URL = "https://educonnect.test/sso"
SLO_URL = "https://educonnect.test/slo"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def make_key_pair(folder: Path, name: str) -> tuple[str, str]:
    """A 2048-bit RSA key and a self-signed certificate, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file = folder / f"{name}.key"
    cert_file = folder / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


OTHER_SP = "https://another-ent.test/sp"


def other_sp_metadata(acs_url: str) -> str:
    """Another service provider the IdP knows, whose answers land on Préau's address: an
    answer meant for it must not sign anyone in to Préau (wrong audience)."""
    config = SPConfig()
    config.load(
        {
            "entityid": OTHER_SP,
            "service": {
                "sp": {"endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]}}
            },
        }
    )
    return str(entity_descriptor(config))


def _idp_config(
    key_file: str, cert_file: str, sp_metadata: str | None, lifetime_minutes: int
) -> IdPConfig:
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY_ID,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(SLO_URL, BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": lifetime_minutes},
                            "attribute_restrictions": None,
                        }
                    },
                }
            },
            "key_file": key_file,
            "cert_file": cert_file,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "metadata": (
                {"inline": [sp_metadata, other_sp_metadata("http://testserver/sso/saml/acs")]}
                if sp_metadata
                else {}
            ),
        }
    )
    return config


def idp_metadata(key_file: str, cert_file: str) -> str:
    return str(entity_descriptor(_idp_config(key_file, cert_file, None, 5)))


@dataclass(frozen=True)
class Answer:
    """What the IdP's page posts back to the service provider."""

    acs_url: str
    form: dict[str, str]


class SamlIdentityProvider:
    """An EduConnect stand-in: reads Préau's request, answers with a signed assertion."""

    def __init__(
        self, key_file: str, cert_file: str, sp_metadata: str, *, lifetime_minutes: int = 5
    ) -> None:
        self.server = Server(config=_idp_config(key_file, cert_file, sp_metadata, lifetime_minutes))

    def read_request(self, location: str) -> tuple[Any, str]:
        """The AuthnRequest in a redirect to the IdP, and the RelayState beside it."""
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SSO_URL
        query = parse_qs(parts.query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return request.message, query.get("RelayState", [""])[0]

    def answer(
        self,
        location: str,
        attributes: dict[str, list[str]],
        *,
        name: str = "persistent-1",
        sign_assertion: bool = True,
        sign_response: bool = True,
        audience: str | None = None,
        in_response_to: str | None = "from-request",
        relay_state: str | None = None,
    ) -> Answer:
        message, relay = self.read_request(location)
        args = self.server.response_args(message)
        if audience is not None:
            args["sp_entity_id"] = audience
        if in_response_to != "from-request":
            args["in_response_to"] = in_response_to
        response = self.server.create_authn_response(
            attributes,
            userid=name,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name),
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            authn={"class_ref": PASSWORD_PROTECTED},
            **args,
        )
        return Answer(
            acs_url=str(args["destination"]),
            form={
                "SAMLResponse": base64.b64encode(str(response).encode()).decode(),
                "RelayState": relay if relay_state is None else relay_state,
            },
        )

    def read_logout_request(self, location: str) -> Any:
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SLO_URL
        query = parse_qs(parts.query)
        return self.server.parse_logout_request(
            query["SAMLRequest"][0],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState", [None])[0],
            sigalg=query["SigAlg"][0],
            signature=query["Signature"][0],
        ).message

    def logout_request(self, sls_url: str, name: str) -> str:
        """An IdP-initiated logout: the address of Préau's single logout service with a
        signed LogoutRequest for ``name``."""
        _request_id, request = self.server.create_logout_request(
            sls_url,
            IDP_ENTITY_ID,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name),
            sign=False,
        )
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), sls_url, "/login", sign=True
        )
        return str(dict(info["headers"])["Location"])


__all__ = ["BINDING_HTTP_POST", "Answer", "SamlIdentityProvider", "idp_metadata"]
