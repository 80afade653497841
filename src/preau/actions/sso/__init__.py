"""Single sign-on: Préau as a SAML service provider (``saml``) and an OpenID Connect
relying party (``oidc``) for the identity providers of schools, and as a CAS server
(``cas``) for the school's other applications. docs/sso.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from preau.actions.sso.cas import CasServer
from preau.actions.sso.oidc import OidcRelyingParty
from preau.actions.sso.saml import SamlServiceProvider
from preau.domain.sso import offered_to


@dataclass(frozen=True)
class LoginButton:
    """A "Se connecter avec …" button of the login page."""

    label: str
    address: str


@dataclass
class SingleSignOn:
    """What bootstrap built from the settings: each part None when not configured."""

    saml: SamlServiceProvider | None = None
    oidc: dict[str, OidcRelyingParty] = field(default_factory=dict)
    cas: CasServer | None = None

    def buttons(self, school_uai: str | None) -> list[LoginButton]:
        """The providers offered on the login page of one school (or the platform's)."""
        buttons: list[LoginButton] = []
        if self.saml is not None:
            buttons.extend(
                LoginButton(provider.label, f"/sso/saml/{provider.name}/login")
                for provider in self.saml.providers.values()
                if offered_to(provider.uais, school_uai)
            )
        buttons.extend(
            LoginButton(party.provider.label, f"/sso/oidc/{name}/login")
            for name, party in self.oidc.items()
            if offered_to(party.provider.uais, school_uai)
        )
        return buttons

    async def close(self) -> None:
        if self.saml is not None:
            await self.saml.close()
        for party in self.oidc.values():
            await party.close()
