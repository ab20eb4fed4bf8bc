"""The bench's requests to the app that are not load: JSON in and out, signing in."""

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from tools.bench.apps import App

BENCH_EMAIL, BENCH_PASSWORD = "bench@example.org", "the bench signs in with this"
TOKEN_REUSE_SECONDS = 600.0  # access tokens last 15 minutes


def post(
    url: str,
    body: dict[str, object],
    authorization: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json",
        "Authorization": authorization,
        **(headers or {}),
    }
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201, answer.read()
        found: dict[str, Any] = json.loads(answer.read())
        return found


def get(url: str, authorization: str = "") -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    with urllib.request.urlopen(request, timeout=60) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def token(url: str, email: str, password: str = BENCH_PASSWORD) -> str:
    """A new access token of `email`'s, as an Authorization header's value."""
    form = urllib.parse.urlencode({"username": email, "password": password})
    with urllib.request.urlopen(f"{url}/auth/token", form.encode(), timeout=30) as answer:
        return f"Bearer {json.loads(answer.read())['access_token']}"


def sign_in(app: App) -> str:
    """Register the bench's person and return its Authorization header's value."""
    post(f"{app.url}/auth/register", {"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    return token(app.url, BENCH_EMAIL)


class SignedIn:
    """A registered person whose token is renewed (signing in again) before it expires."""

    def __init__(self, url: str, email: str, first: Callable[[], object] | None = None) -> None:
        self.url, self.email = url, email
        self._first = first  # what to wait for before the first sign-in (a role granted)
        self._token, self._since = "", 0.0

    @property
    def authorization(self) -> str:
        if self._first is not None:
            self._first()
            self._first = None
        if time.monotonic() - self._since > TOKEN_REUSE_SECONDS or not self._token:
            self._token, self._since = token(self.url, self.email), time.monotonic()
        return self._token
