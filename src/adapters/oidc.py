"""Bearer tokens issued by a company's identity provider (APP_AUTH_MODE=oidc): verified against
the issuer's published keys, fetched from its JWKS and cached, refetched on an unknown kid."""

import asyncio

import jwt

from adapters.tokens import Audience, decode, principal_of, unverified_kid
from domain.errors import Unauthenticated
from domain.principals import Principal
from service.identity import AbstractTokenVerifier

# Asymmetric algorithms only: an HS256 token "signed" with a public key must never verify.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]


class OidcVerifier(AbstractTokenVerifier):
    def __init__(
        self,
        jwks_url: str,
        audience: Audience,
        roles_claim: str = "roles",
        *,
        refetch_after_seconds: float = 10.0,
        timeout_seconds: float = 3.0,
        cache_seconds: float = 300.0,
    ) -> None:
        # The key set is cached for `cache_seconds`, and no key outlives it: PyJWKClient's
        # per-kid cache (cache_keys) never expires, so a key the issuer withdrew (say, leaked)
        # would go on verifying until the process restarts.
        self._keys = jwt.PyJWKClient(
            jwks_url,
            cache_keys=False,
            lifespan=cache_seconds,
            timeout=timeout_seconds,
            cooldown_duration=refetch_after_seconds,
        )
        self._audience = audience
        self._roles_claim = roles_claim

    async def principal(self, token: str) -> Principal:
        kid = unverified_kid(token)
        try:
            # The fetch is blocking (urllib): off the event loop.
            key = await asyncio.to_thread(self._keys.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated("the identity provider's keys cannot be fetched now") from None
        except jwt.PyJWTError:
            raise Unauthenticated(
                "the token is signed by a key its issuer does not publish"
            ) from None
        if key.algorithm_name not in ALGORITHMS:
            raise Unauthenticated("the token's key is not of an accepted algorithm")
        # OIDC lets `aud` be a list (several audiences): ours must be among them.
        claims = decode(token, key.key, [key.algorithm_name], self._audience, audience_list=True)
        return principal_of(claims, self._roles_claim)
