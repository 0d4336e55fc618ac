"""Helpers the journeys share: signing in, and the accessibility checks every page gets."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, Route

PASSWORD = "correct-horse-battery-9"

# Every visible form control with no accessible name: a <label>, aria-label or aria-labelledby with text.
_UNLABELLED_FIELDS = """
() => [...document.querySelectorAll('input, select, textarea')].filter((el) => {
  if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) return false;
  if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') return false;
  if ([...(el.labels || [])].some((label) => label.textContent.trim())) return false;
  if ((el.getAttribute('aria-label') || '').trim()) return false;
  const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
  return !ids.some((id) => (document.getElementById(id)?.textContent || '').trim());
}).map((el) => el.outerHTML.slice(0, 200))
"""

# aria-describedby / aria-labelledby / label[for] naming an element that is not on the page.
_DANGLING_REFERENCES = """
() => {
  const missing = [];
  for (const el of document.querySelectorAll('[aria-describedby], [aria-labelledby], label[for]')) {
    const ids = el.tagName === 'LABEL' ? [el.htmlFor]
      : `${el.getAttribute('aria-describedby') || ''} ${el.getAttribute('aria-labelledby') || ''}`.split(/\\s+/);
    for (const id of ids.filter(Boolean)) {
      if (!document.getElementById(id)) missing.push(`${id} (from ${el.outerHTML.slice(0, 120)})`);
    }
  }
  return missing;
}
"""

# Ids used twice: a label or aria reference to one of them can land on the wrong element.
_DUPLICATE_IDS = """
() => {
  const seen = new Map();
  for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([id, count]) => `${id} (${count} times)`);
}
"""

_FOCUS_RING = """
(el) => {
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return outline || (style.boxShadow && style.boxShadow !== 'none');
}
"""


def sign_in(page: Page, *, username: str, password: str = PASSWORD, next_path: str = "/") -> None:
    """Sign in through the login form, as a person does, and wait for the page it leads to."""
    page.goto(f"/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def unlabelled_fields(page: Page) -> list[str]:
    return page.evaluate(_UNLABELLED_FIELDS)


def dangling_references(page: Page) -> list[str]:
    return page.evaluate(_DANGLING_REFERENCES)


def duplicate_ids(page: Page) -> list[str]:
    return page.evaluate(_DUPLICATE_IDS)


def assert_accessible_basics(page: Page) -> None:
    """One h1, every field labelled, ids unique, no label or description pointing at nothing."""
    assert page.locator("h1").count() == 1, f"{page.url} has {page.locator('h1').count()} h1 headings"
    assert unlabelled_fields(page) == [], f"{page.url} has fields without a label"
    assert duplicate_ids(page) == [], f"{page.url} uses an id twice"
    assert dangling_references(page) == [], f"{page.url} refers to ids that are not on the page"


def tab_to(page: Page, target: Locator, *, max_tabs: int = 80) -> bool:
    """Press Tab from the top of the page until `target` has the focus; False when it never gets it."""
    page.locator("body").evaluate("(body) => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    handle = target.element_handle()
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", handle):
            return True
    return False


def focus_is_visible(target: Locator) -> bool:
    """The focused element draws a ring (outline or box-shadow) that a keyboard user can see."""
    return target.evaluate(_FOCUS_RING)


def mark_document(page: Page) -> None:
    """Leave a marker on the current document; a full page load (a new document) loses it."""
    page.evaluate("window.__legerMarker = 'still here'")


def same_document(page: Page) -> bool:
    """True while the page has only been updated in place since mark_document()."""
    return page.evaluate("window.__legerMarker === 'still here'")


def record_html(page: Page) -> list[tuple[str, str]]:
    """Every HTML answer (page or htmx fragment) the page receives from now on, as (url, body).

    Bodies are read as they pass through, since a browser drops them once it navigates away.
    """
    received: list[tuple[str, str]] = []

    def keep(route: Route) -> None:
        response = route.fetch()
        if "text/html" in response.headers.get("content-type", ""):
            received.append((route.request.url, response.text()))
        route.fulfill(response=response)

    page.route("**/*", keep)
    return received
