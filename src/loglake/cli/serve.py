"""`loglake serve`: the web page and its JSON API over a lake (see loglake.web.api for the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from loglake.cli.app import LakeOption, app, console, console_err, default_lake
from loglake.web.readonly import DEFAULT_TIMEOUT


@app.command("serve")
def serve_command(
    lake: LakeOption = None,  # type: ignore[assignment]
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; other machines need the token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
    query_timeout: Annotated[
        float, typer.Option("--query-timeout", min=0.1, help="Stop a query after this many seconds.")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Serve the lake's dashboards, alerts, SQL and hunting at http://HOST:PORT/ (read-only SQL)."""
    import uvicorn  # here, not at the top: every other command would pay for importing the web stack

    from loglake.web.api import create_app, require_lake
    from loglake.web.auth import ensure_token, is_loopback, token_path

    lake = lake or default_lake()
    require_lake(lake)
    token, created = ensure_token(lake)
    web_app = create_app(lake, token=token, query_timeout=query_timeout)
    url = f"http://{_url_host(host)}:{port}/"
    if created:  # shown once: afterwards it is in the token file, for whoever may read the lake
        console.print(f"loglake serving {lake} at {url}?token={token}", highlight=False, soft_wrap=True)
    else:
        console.print(f"loglake serving {lake} at {url} (token in {token_path(lake)})", highlight=False, soft_wrap=True)
    if not is_loopback(host) and host != "localhost":
        console_err.print("note: plain HTTP; other machines need the token, and it crosses the network as is")
    # no access log: a page load with ?token= would write the token into it
    uvicorn.run(web_app, host=host, port=port, access_log=False, log_level="warning")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"  # listening everywhere: this machine reaches it on loopback
    return f"[{host}]" if ":" in host else host
