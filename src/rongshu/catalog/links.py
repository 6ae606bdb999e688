"""Links other areas add to the console's catalog resource page (its "related pages" panel).

The catalog knows nothing of the areas built on it; an area that has a page about a resource
(its loads and versions, its data quality, ...) registers a link here when its pages load, and
the resource page lists the links the signed-in person may follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from rongshu.catalog.schemas import ResourcePublic
from rongshu.core.identity.schemas import Actor

#: Whether a person sees a link on a resource's page (default: every console user does).
Shows = Callable[[Actor, ResourcePublic], bool]


@dataclass(frozen=True)
class ResourceLink:
    """A link an area adds: its text's message key, its address with ``{code}``, its place."""

    key: str
    url_template: str
    order: int
    shows: Shows | None = None


@dataclass(frozen=True)
class ShownLink:
    """A link as one resource's page shows it; ``key`` is translated with ``name`` and
    ``code`` (the resource's), so an area may reuse a message such as "{name}: versions"."""

    key: str
    url: str


_LINKS: list[ResourceLink] = []


def register_resource_link(
    key: str, url_template: str, *, order: int, shows: Shows | None = None
) -> None:
    """Add a link to every resource's console page (idempotent per address template)."""
    if any(link.url_template == url_template for link in _LINKS):
        return
    _LINKS.append(ResourceLink(key, url_template, order, shows))
    _LINKS.sort(key=lambda link: link.order)


def resource_links(resource: ResourcePublic, actor: Actor) -> list[ShownLink]:
    """The links ``actor`` sees on ``resource``'s page, in their order."""
    return [
        ShownLink(link.key, link.url_template.format(code=quote(resource.code, safe="")))
        for link in _LINKS
        if link.shows is None or link.shows(actor, resource)
    ]
