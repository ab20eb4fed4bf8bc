"""/auth: register, sign in (OAuth2 password and refresh grants), sign out, who am I; and
/.well-known/jwks.json, the public keys other services verify our tokens with."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidValue
from domain.fields import EMAIL_MAX_LENGTH
from domain.people import PASSWORD_MAX_LENGTH
from entrypoints.dependencies import CredentialsDep, PrincipalDep, unit_of_work
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import identity as use_cases
from service.contexts import IdentityUnitOfWork

UnitOfWorkDep = Annotated[IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork))]
router = APIRouter(tags=["auth"])

REFRESH_TOKEN_MAX_LENGTH = 128  # ours are 43 characters; longer ones cannot be ours


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(min_length=3, max_length=EMAIL_MAX_LENGTH)
    password: str = Field(
        min_length=1, max_length=PASSWORD_MAX_LENGTH, json_schema_extra={"format": "password"}
    )


class PersonOut(BaseModel):
    id: int
    email: str


class TokenForm(BaseModel):
    """The OAuth2 token request (RFC 6749 4.3 and 6): a password grant or a refresh grant."""

    grant_type: Literal["password", "refresh_token"] = "password"
    username: str | None = Field(None, max_length=EMAIL_MAX_LENGTH, description="The email.")
    password: str | None = Field(None, max_length=PASSWORD_MAX_LENGTH)
    refresh_token: str | None = Field(None, max_length=REFRESH_TOKEN_MAX_LENGTH)
    scope: str = ""


class LogoutForm(BaseModel):
    refresh_token: str = Field(max_length=REFRESH_TOKEN_MAX_LENGTH)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class PrincipalOut(BaseModel):
    subject: str
    roles: list[str]


@router.post(
    "/auth/register", status_code=status.HTTP_201_CREATED, responses=problem_responses(409)
)
async def register(
    body: RegistrationIn, uow: UnitOfWorkDep, credentials: CredentialsDep, response: Response
) -> PersonOut:
    """Register with an email and a password (8 to 128 characters, not easy to guess); 409 if
    the email is taken in any letter case."""
    person = await use_cases.register(uow, credentials, body.email, body.password)
    response.headers["Location"] = "/auth/me"
    return PersonOut(id=person.id, email=person.email.text)


@router.post("/auth/token", responses=problem_responses(401, 429))
async def token(
    form: Annotated[TokenForm, Form()],
    uow: UnitOfWorkDep,
    credentials: CredentialsDep,
    request: Request,
    response: Response,
) -> TokenOut:
    """Sign in: `grant_type=password` with `username` (the email) and `password`, or
    `grant_type=refresh_token` with a refresh token, which is used up. 401 for wrong
    credentials, 429 with Retry-After after too many failures."""
    if form.grant_type == "password":
        if form.username is None or form.password is None:
            raise InvalidValue("username", "the password grant needs a username and a password")
        client = request.client.host if request.client else "unknown"
        tokens = await use_cases.sign_in(uow, credentials, form.username, form.password, client)
    else:
        if form.refresh_token is None:
            raise InvalidValue("refresh_token", "the refresh_token grant needs a refresh_token")
        tokens = await use_cases.refresh(uow, credentials, form.refresh_token)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1
    return TokenOut(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(form: Annotated[LogoutForm, Form()], uow: UnitOfWorkDep) -> None:
    """Sign out: the refresh token and every token refreshed from the same sign-in stop
    working. Access tokens already given out work until they expire."""
    await use_cases.sign_out(uow, form.refresh_token)


@router.get("/auth/me", responses=PROTECTED_OPERATION)
async def me(principal: PrincipalDep) -> PrincipalOut:
    """Who the bearer token names, and the roles it carries."""
    return PrincipalOut(subject=principal.subject, roles=sorted(principal.roles))


class JsonWebKey(BaseModel):
    model_config = ConfigDict(extra="allow")
    kty: str
    kid: str


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]


@router.get("/.well-known/jwks.json")
async def jwks(request: Request, response: Response) -> JsonWebKeySet:
    """The public keys that verify this service's access tokens (RFC 7517)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return JsonWebKeySet.model_validate(request.app.state.jwks)
