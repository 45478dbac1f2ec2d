"""Helpers for the web UI end-to-end tests (`test_web_*.py`).

A `Browser` is a plain `requests` session that behaves like a browser
without JavaScript: it keeps cookies, does not follow redirects by itself
(tests assert the 303s), and submits forms with the page's hidden
`csrf_token`. `Doc` is a small HTML tree built with the standard library's
parser, enough to find elements by id, tag and attribute and read their text.
"""
from __future__ import annotations

import html.parser
import re
import uuid
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from conftest import Client, HTTPVerbs, Server, start_server

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
# What a correct page shows for them: escaped, never the markup itself.
XSS_RAW_MARKERS = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Element | None"):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    def get(self, name: str, default=None):
        value = self.attrs.get(name, default)
        return "" if value is None and name in self.attrs else value

    def has(self, name: str) -> bool:
        return name in self.attrs

    @property
    def text(self) -> str:
        """The element's text with whitespace collapsed."""
        parts: list[str] = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)
        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list["Element"]:
        """Descendants with `tag` (any when None) whose attributes equal `attrs`
        (`class_` matches one class; a value of True only needs the attribute)."""
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if all(_attr_matches(element, name, value) for name, value in attrs.items()):
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs) -> "Element | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> "Element | None":
        return self.find(id=element_id)

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


def _attr_matches(element: Element, name: str, value) -> bool:
    if name == "class_":
        return value in (element.attrs.get("class") or "").split()
    name = name.replace("_", "-") if name.startswith("data_") else name
    if value is True:
        return name in element.attrs
    return element.get(name) == value


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def doc(response: requests.Response) -> Element:
    assert response.headers.get("Content-Type", "").startswith("text/html"), \
        f"not an HTML page: {response.status_code} {response.headers.get('Content-Type')}: {response.text[:300]}"
    return parse(response.text)


def form_values(form: Element) -> dict[str, str]:
    """What submitting `form` unchanged would send (text inputs, hidden
    inputs, checked boxes, selected options, textareas)."""
    values: dict[str, str] = {}
    for element in form.iter():
        name = element.get("name")
        if not name:
            continue
        if element.tag == "input":
            kind = (element.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if element.has("checked"):
                    values[name] = element.get("value") or "on"
            elif kind not in ("submit", "button"):
                values[name] = element.get("value") or ""
        elif element.tag == "textarea":
            # HTML drops one leading newline of a textarea's content.
            text = "".join(child for child in element.children if isinstance(child, str))
            values[name] = text[1:] if text.startswith("\n") else text
        elif element.tag == "select":
            options = element.find_all("option")
            chosen = [option for option in options if option.has("selected")] or options[:1]
            if chosen:
                values[name] = chosen[0].get("value", chosen[0].text)
    return values


def error_message(response: requests.Response) -> str:
    """The message of an error page."""
    element = doc(response).by_id("error-message")
    assert element is not None, f"no #error-message on the {response.status_code} page: {response.text[:500]}"
    return element.text


def assert_error_page(response: requests.Response, status: int, *words: str) -> str:
    """An HTML error page with `status` whose message contains each of `words`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:800]}"
    message = error_message(response)
    assert f"HTTP {status}" in response.text
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in the error message {message!r}"
    return message


def assert_form_refused(response: requests.Response, status: int, form_id: str, *words: str) -> str:
    """The form page again, with `status`, the form still there and a
    #form-error message containing each of `words`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:800]}"
    page = doc(response)
    assert page.by_id(form_id) is not None, f"#{form_id} is not on the refused page"
    message = page.by_id("form-error").text
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in #form-error {message!r}"
    return message


def assert_no_raw_markup(text: str, where: str = "page") -> None:
    for marker in XSS_RAW_MARKERS:
        assert marker not in text, f"raw markup {marker!r} reflected unescaped in {where}"


class Browser(HTTPVerbs):
    """A browser without JavaScript: cookies, no automatic redirects."""

    def __init__(self, server: Server):
        self.server = server
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, path, **kwargs)

    def page(self, path: str, status: int = 200) -> Element:
        response = self.get(path)
        assert response.status_code == status, f"GET {path}: {response.status_code}: {response.text[:800]}"
        return doc(response)

    def login_form(self, next_path: str | None = None) -> dict[str, str]:
        """Opens the login page; returns the hidden fields of its form."""
        response = self.get("/login", params={"next": next_path} if next_path is not None else None)
        assert response.status_code == 200, response.text
        form = doc(response).by_id("login-form")
        assert form is not None and form.get("method") == "post" and form.get("action") == "/login"
        return form_values(form)

    def login(self, username: str, password: str, next_path: str | None = None) -> requests.Response:
        fields = self.login_form(next_path)
        fields.update(username=username, password=password)
        response = self.post("/login", data=fields)
        assert response.status_code == 303, f"login failed: {response.status_code}: {response.text[:500]}"
        assert self.session.cookies.get("rm_session"), "no rm_session cookie after signing in"
        self.server.remember_secret(self.session.cookies["rm_session"])
        return response

    @property
    def csrf_token(self) -> str:
        """The form token of the current session, read off a page's hidden field."""
        cookie = self.session.cookies.get("rm_session")
        cached = self.__dict__.get("_csrf")
        if cached and cached[0] == cookie:
            return cached[1]
        field = self.page("/tokens").by_id("logout-form").find("input", name="csrf_token")
        assert field is not None and field.get("value"), "no csrf_token on the page"
        self._csrf = (cookie, field.get("value"))
        return self._csrf[1]

    def submit(self, path: str, data=None, csrf: bool | str = True, **kwargs) -> requests.Response:
        """POSTs a form to `path` with the session's csrf_token (or `csrf` itself
        when it is a string, or none when False)."""
        fields = dict(data or {})
        if csrf is True:
            fields["csrf_token"] = self.csrf_token
        elif isinstance(csrf, str):
            fields["csrf_token"] = csrf
        # Like a browser: a form body, with its content type even when empty.
        headers = {"Content-Type": "application/x-www-form-urlencoded", **kwargs.pop("headers", {})}
        return self.post(path, data=urlencode(fields), headers=headers, **kwargs)


def location(response: requests.Response) -> str:
    assert response.status_code in (301, 302, 303, 307, 308), \
        f"not a redirect: {response.status_code}: {response.text[:500]}"
    return response.headers["Location"]


def location_path(response: requests.Response) -> str:
    """The Location of a redirect with any same-server origin removed."""
    target = location(response)
    parts = urlsplit(target)
    return target if not parts.netloc else target[len(f"{parts.scheme}://{parts.netloc}"):]


def new_password() -> str:
    return f"pw-{uuid.uuid4().hex}"


def create_login(api_admin: Client, role: str, username: str | None = None) -> tuple[str, str]:
    """Creates a user through the API; returns (username, password)."""
    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    password = api_admin.server.remember_secret(new_password())
    response = api_admin.post("/api/v1/users", json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    return username, password


def browser_for(server: Server, username: str, password: str) -> Browser:
    browser = Browser(server)
    browser.login(username, password)
    return browser


# ---------------------------------------------------------------------------
# Module-scoped fixtures: one server per test module keeps the suite fast.
# Tests that sign out or otherwise spoil a session make their own Browser.
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("web"), "--agent-offline-after", "3")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_admin(web_server) -> Client:
    """The admin through the JSON API (session cookie + X-CSRF-Token)."""
    return Client(web_server, "admin", web_server.admin_password)


@pytest.fixture(scope="module")
def admin_browser(web_server) -> Browser:
    return browser_for(web_server, "admin", web_server.admin_password)
