"""Rendering pages: the Jinja2 environment, the shared page context, navigation slots.

Every page gets the same context (language, larger-text preference, the signed-in user, CSRF
token, navigation), so areas only pass what is their own. Areas add navigation entries with
``register_nav``; an entry shows only to users whose roles grant its permission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from rongshu.core.i18n import SUPPORTED_LANGUAGES, negotiate, translate
from rongshu.core.identity.roles import ROLE_LABELS, Permission, Role
from rongshu.core.identity.schemas import Actor

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
LANG_COOKIE = "rongshu_lang"
TEXT_COOKIE = "rongshu_text"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class NavSlot:
    """A navigation entry an area registers: message key, URL, who may see it."""

    key: str
    url: str
    permission: Permission | None
    order: int


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    active: bool


_NAV: list[NavSlot] = []
#: Where templates are found: the shell's folder first, then each area's (``register_templates``).
_TEMPLATE_DIRS: list[Path] = [TEMPLATES_DIR]


def register_templates(directory: Path) -> None:
    """Let pages render templates from an area's folder (idempotent).

    Areas keep their templates in a sub-folder named after the area (``catalog/...``), so names
    never clash; the shell's folder is searched first, so an area cannot replace a shell page.
    """
    if directory in _TEMPLATE_DIRS:
        return
    _TEMPLATE_DIRS.append(directory)
    environment.cache_clear()  # the next render builds a loader that knows the new folder


def register_nav(key: str, url: str, *, permission: Permission | None, order: int) -> None:
    """Add a console navigation entry (idempotent per URL)."""
    if any(slot.url == url for slot in _NAV):
        return
    _NAV.append(NavSlot(key, url, permission, order))
    _NAV.sort(key=lambda slot: slot.order)


register_nav("nav.portal", "/", permission=None, order=0)
register_nav("nav.console", "/console", permission=Permission.VIEW_CONSOLE, order=10)
register_nav("nav.audit", "/console/audit", permission=Permission.READ_AUDIT, order=90)


def navigation(actor: Actor | None, lang: str, path: str) -> list[NavItem]:
    items = []
    for slot in _NAV:
        if slot.permission is not None and (actor is None or not actor.can(slot.permission)):
            continue
        # Section entries own their sub-pages; the two home pages match only themselves.
        own_only = slot.url in ("/", "/console")
        active = path == slot.url or (not own_only and path.startswith(slot.url + "/"))
        items.append(NavItem(slot.url, translate(lang, slot.key), active))
    return items


def page_language(request: Request) -> str:
    """The visitor's chosen language, else the platform's (Chinese by default).

    The browser's Accept-Language is deliberately not consulted: a government portal speaks
    its own language first, and the switch on every page is one click away.
    """
    default = request.app.state.platform.settings.language.value
    return negotiate(request.cookies.get(LANG_COOKIE), None, default)


def _local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: int | float) -> str:
    return f"{value:,}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(list(_TEMPLATE_DIRS)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = _local_time
    env.filters["number"] = _number
    env.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    actor: Actor | None = None,
    user: Any = None,
) -> HTMLResponse:
    """Render ``template`` with the shared page context plus ``context``."""
    lang = page_language(request)
    large_text = request.cookies.get(TEXT_COOKIE) == "large"
    path = request.url.path

    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    def pref_url(lang: str | None = None, text: str | None = None) -> str:
        query = {
            "next": str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        }
        if lang is not None:
            query["lang"] = lang
        if text is not None:
            query["text"] = text
        return "/prefs?" + urlencode(query)

    def role_label(role: str) -> str:
        labels = ROLE_LABELS.get(Role(role)) if role in Role.__members__.values() else None
        if labels is None:
            return role
        return labels[0] if lang == "zh-CN" else labels[1]

    full_context: dict[str, Any] = {
        "request": request,
        "t": t,
        "lang": lang,
        "languages": SUPPORTED_LANGUAGES,
        "large_text": large_text,
        "user": user,
        "role_label": role_label,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": navigation(actor, lang, path),
        "static_url": lambda p: f"/static/{p}",
        "pref_url": pref_url,
    }
    full_context.update(context or {})
    html = environment().get_template(template).render(full_context)
    return HTMLResponse(html, status_code=status_code)
