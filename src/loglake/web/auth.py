"""Who may use the server: loopback clients freely, anyone else with the lake's token.

The token lives in `<lake>/web/token` (mode 0600, made on first start). A client sends it as
`Authorization: Bearer <token>`, or loads a page with `?token=<token>` once: that sets an HttpOnly,
SameSite=Strict cookie and redirects to the same URL without the token (so it leaves the address bar and
the browser history).

Loopback is trusted only when the request also names a loopback host: a web page elsewhere can make the
browser resolve its own domain to 127.0.0.1 (DNS rebinding), and then its requests come from loopback but
carry that domain in `Host`. Likewise a POST whose `Origin` is another site is refused: on loopback no token
stands between a cross-site form and the alert status endpoint.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from loglake.web.jsonout import JSON

COOKIE = "loglake_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def token_path(lake: Path) -> Path:
    return lake / "web" / "token"


def ensure_token(lake: Path) -> tuple[str, bool]:
    """The lake's token, and whether it was just created (the only time it is shown)."""
    path = token_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8").strip():
        path.chmod(0o600)  # a copy restored with looser permissions is tightened, not trusted as is
        return path.read_text(encoding="utf-8").strip(), False
    token = secrets.token_urlsafe(32)
    path.unlink(missing_ok=True)
    # created 0600 from the start: never readable by others, not even for a moment
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _host_name(header: str | None) -> str | None:
    if not header:
        return None
    return urlsplit(f"//{header}").hostname


def _names_loopback(request: Request) -> bool:
    name = _host_name(request.headers.get("host"))
    return name is None or name.lower() in LOOPBACK_NAMES  # HTTP/1.0 sends no Host: nothing to rebind


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


def _matches(given: str | None, token: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), token.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def check(request: Request, token: str) -> Response | None:
    """None when the request may go on; otherwise the response to send instead (401, 403, or the redirect)."""
    if not _same_origin(request):
        return JSON({"error": "cross-site request refused"}, status_code=403)
    given = request.query_params.get("token")
    if given is not None and request.method == "GET" and not request.url.path.startswith("/api/"):
        if not _matches(given, token):
            return JSON({"error": "wrong token: use the one in <lake>/web/token"}, status_code=401)
        return _cookie_redirect(request, token)
    client = request.client.host if request.client else None
    if is_loopback(client) and _names_loopback(request):
        return None
    if _matches(_bearer(request), token) or _matches(request.cookies.get(COOKIE), token):
        return None
    message = "a token is needed from this address: Authorization: Bearer <token> (the token is in <lake>/web/token)"
    return JSON({"error": message}, status_code=401)


def _cookie_redirect(request: Request, token: str) -> Response:
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    target = request.url.path + (f"?{query}" if query else "")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
