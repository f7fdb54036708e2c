"""The web dashboard: a static single-page app at ``/``, its files under ``/assets``.

The app (``static/``) is plain ES modules on vendored Preact + htm, with no build
step. It signs in with an API key (kept in the tab's ``sessionStorage``) and
talks only to the ``/v1`` REST API, so it can do nothing that key may not do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.responses import FileResponse, Response

STATIC_DIR = Path(__file__).parent / "static"
# everything comes from this origin: no inline scripts, no third-party code
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets at ``/assets`` (not in the OpenAPI schema).

    Every response says ``no-cache``: browsers revalidate (a cheap 304 by ETag), so
    after an upgrade the page and its modules never mix versions.
    """
    from starlette.responses import FileResponse
    from starlette.staticfiles import StaticFiles

    index = STATIC_DIR / "index.html"

    class Assets(StaticFiles):
        def file_response(self, *args: Any, **kwargs: Any) -> Response:
            response = super().file_response(*args, **kwargs)
            response.headers.update(SECURITY_HEADERS)
            return response

    async def dashboard() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers=SECURITY_HEADERS)

    app.add_api_route("/", dashboard, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/assets", Assets(directory=STATIC_DIR / "assets"), name="dashboard-assets")
