"""The ckanapi client package, unchanged, against a real server: it lists, searches with
facets, shows a package and pages through the datastore; a conditional dataset's rows need
its API key, sent as ckanapi sends it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import ckanapi
import pytest
import uvicorn

from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.opendata import releases
from rongshu.opendata.schemas import Theme
from rongshu.web.app import create_app

from ..exchange.conftest import make_app
from .conftest import AIR, FIRMS, Portal, grant_firms

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server_url(platform: Platform) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a background thread."""
    port = free_port()
    config = uvicorn.Config(
        create_app(platform.settings, platform=platform),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ckan-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(20)


def test_ckanapi_lists_searches_shows_and_pages_the_datastore(
    portal: Portal, platform: Platform, server_url: str
) -> None:
    rows = portal.air(rows=230)
    air = portal.open(AIR, title="空气质量小时监测数据", tags=["空气质量"], theme=Theme.ENVIRONMENT)
    portal.firms(rows=40)
    firms = portal.open(FIRMS, title="企业登记信息", tags=["企业"], theme=Theme.ECONOMY)
    for name in (air, firms):
        releases.release(platform, name, actor=SYSTEM)

    ckan = ckanapi.RemoteCKAN(server_url)
    assert ckan.action.package_list() == sorted([air, firms])

    found = ckan.action.package_search(
        q="空气", fq="organization:hb", **{"facet.field": ["organization", "tags"]}
    )
    assert found["count"] == 1 and found["results"][0]["name"] == air
    assert found["facets"]["organization"] == {"hb": 1}
    assert found["facets"]["tags"] == {"空气质量": 1}
    every = ckan.action.package_search(**{"facet.field": ["groups"], "rows": 0})
    assert every["count"] == 2 and every["results"] == []
    assert every["facets"]["groups"] == {"environment": 1, "economy": 1}

    package = ckan.action.package_show(id=air)
    assert package["title"] == "空气质量小时监测数据" and package["organization"]["name"] == "hb"
    resource = next(r for r in package["resources"] if r["datastore_active"])
    assert resource["url"].startswith(server_url)

    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(fq="maintainer:someone")

    read: list[dict[str, object]] = []
    offset, pages = 0, 0
    while True:
        page = ckan.action.datastore_search(resource_id=resource["id"], limit=100, offset=offset)
        pages += 1
        if not page["records"]:
            break
        read.extend(page["records"])
        offset += page["limit"]
    assert pages == 4 and len(read) == page["total"] == 230
    assert [(r["reading_id"], r["station_code"], r["aqi"]) for r in read] == [
        (r["reading_id"], r["station_code"], r["aqi"]) for r in rows
    ]
    assert [r["_id"] for r in read] == list(range(1, 231))

    # A conditional dataset: refused without a key, served with a granted one.
    data_id = next(
        r["id"] for r in ckan.action.package_show(id=firms)["resources"] if r["datastore_active"]
    )
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=data_id)
    app_id, api_key, _ = make_app(platform, department="MZ", name="企业研究")
    grant_firms(platform, app_id)
    keyed = ckanapi.RemoteCKAN(server_url, apikey=api_key)
    assert keyed.action.datastore_search(resource_id=data_id, limit=5)["total"] == 40
