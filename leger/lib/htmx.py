from __future__ import annotations

from django.http import HttpRequest


def template_for(request: HttpRequest, page: str, partial: str) -> str:
    """Render the whole page, or only its named partial for an htmx request.

    A history-restore request (the user pressed Back after htmx pushed a URL)
    needs the whole page, since htmx swaps it in as the body.
    """
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return f"{page}#{partial}"
    return page
