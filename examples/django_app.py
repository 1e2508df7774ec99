"""Kruimel in a Django project served over ASGI (one file, so it runs as it is).

Run:  uvicorn examples.django_app:application

In a real project the last lines go into ``myproject/asgi.py``:
``application = ConsentMiddleware(get_asgi_application(), config=..., log=...)``.
Under WSGI (``runserver``, ``gunicorn myproject.wsgi``) the middleware does not run: see
README "Django".
"""

from __future__ import annotations

import os
import secrets

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32),
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    # Django compresses inside ConsentMiddleware (which wraps the whole ASGI app); Kruimel
    # decodes gzip pages to add the banner and encodes them again.
    MIDDLEWARE=["django.middleware.gzip.GZipMiddleware"],
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings)
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from consent import ConsentLog, ConsentMiddleware  # noqa: E402
from consent.state import ConsentState  # noqa: E402
from examples.common import PAGE, config, store_url  # noqa: E402


def home(request: HttpRequest) -> HttpResponse:
    consent: ConsentState = request.scope["consent"]  # type: ignore[attr-defined]
    greeting = "Welcome back!" if consent.allows("marketing") else "Welcome."
    return HttpResponse(PAGE.format(greeting=greeting))


urlpatterns = [path("", home)]

application = ConsentMiddleware(
    get_asgi_application(), config=config(), log=ConsentLog.open(store_url())
)
