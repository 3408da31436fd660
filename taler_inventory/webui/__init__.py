"""The merchant back-office: static files served at ``[/instances/$I]/webui/``.

The pages are plain HTML, CSS and JavaScript modules shipped in the package (no
build step).  They hold no data and need no credentials: everything they show
comes from the JSON API, with the token the user gets by signing in.
"""
from pathlib import Path

from flask import Blueprint, redirect, request, send_from_directory

STATIC = Path(__file__).parent / "static"

#: The pages may talk to this server only: no CDN, no outside request.  Product
#: images are data: URLs (Taler's format), so img-src allows those.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

bp = Blueprint("webui", __name__)


@bp.get("/webui")
def webui_redirect():
    # Relative, so it works under any prefix a reverse proxy adds.
    return redirect(request.path.rsplit("/", 1)[-1] + "/", code=308)


@bp.get("/webui/", defaults={"name": "index.html"})
@bp.get("/webui/<path:name>")
def webui_file(name):
    response = send_from_directory(STATIC, name, max_age=0)
    response.headers.update(SECURITY_HEADERS)
    return response
