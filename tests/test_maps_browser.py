"""The map rendered in headless Chromium with every network request blocked.

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` package
(never a browser playwright downloads); skipped when either is missing.
Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_maps import make_hostile

from geo.api import RunResult
from geo.maps import write_map

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Page:
    """A map opened offline, with what it logged and any dialog it tried to open."""

    def __init__(self, browser: Any, path: Path, size: tuple[int, int] = (1400, 900)) -> None:
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        own = path.resolve().as_uri()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route(own))
        self.page.goto(own, wait_until="load")
        self.page.wait_for_function("window.GEO_MAP !== undefined")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, own: str) -> Any:
        def handle(route: Any) -> None:
            if route.request.url == own:
                route.continue_()
            else:
                self.blocked.append(route.request.url)
                route.abort()
        return handle


@pytest.fixture(scope="module")
def map_path(demo_result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_map(demo_result, tmp_path_factory.mktemp("browser") / "map.html")


def test_map_loads_offline_with_sites_layers_and_popup(browser: Any, map_path: Path,
                                                       demo_result: RunResult) -> None:
    view = Page(browser, map_path)
    page = view.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-offline.png"))
    assert view.errors == []
    assert view.blocked == []  # nothing even tried to reach the network
    sites = demo_result.sites
    assert page.locator(".leaflet-sites-pane path.leaflet-interactive").count() == len(sites)
    layers = page.evaluate("window.GEO_MAP.layers")
    labels = [t.strip() for t in page.locator(".leaflet-control-layers label").all_inner_texts()]
    assert labels[:3] == ["No basemap (works offline)", "OpenStreetMap (needs a network)",
                          "Topographic (needs a network)"]
    assert sorted(labels[3:]) == sorted(layers)
    assert {"Candidate sites (ranked)", "Federal land by managing agency", "Water stress",
            "Transmission lines by voltage", "State outlines"} <= set(layers)
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-measure").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".geo-legend").count() == 1
    # state outlines are vector paths, drawn though no tile loads
    analysis = demo_result.analysis
    assert page.locator("path.geo-state").count() == len(analysis.layers["states"]) > 0
    assert page.locator("path.geo-county").count() == len(analysis.layers["counties"])

    page.locator("path.geo-site-rank-1").click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    first = sites.iloc[0]
    assert f"Rank 1 of {len(sites)}" in text
    assert f"Score {first['score']:.3f}" in text
    assert "Layers used" in text
    page.screenshot(path=str(ARTIFACTS / "map-popup.png"))
    assert view.errors == []
    page.close()


def test_hostile_values_run_no_script(browser: Any, demo_result: RunResult, tmp_path: Path) -> None:
    path = write_map(make_hostile(demo_result), tmp_path / "hostile.html")
    view = Page(browser, path)
    page = view.page
    scripts = page.evaluate("document.scripts.length")
    opened = page.evaluate("""() => {
        let n = 0;
        window.GEO_MAP.map.eachLayer(layer => {
            if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); n++; }
            if (layer.getPopup && layer.getPopup()) { layer.openPopup(); n++; }
        });
        return n;
    }""")
    page.wait_for_timeout(300)
    assert opened > len(demo_result.sites)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.scripts.length") == scripts  # no element was injected
    assert view.dialogs == []
    assert "img src=x" in page.locator(".leaflet-control-layers").inner_text()  # shown as text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-hostile.png"))
    page.close()


def _label_boxes(page: Any) -> list[dict[str, float]]:
    page.wait_for_timeout(300)  # closed labels fade out before they leave the page
    return page.evaluate("""() => Array.from(document.querySelectorAll('.geo-rank-label')).map(el => {
        const r = el.getBoundingClientRect();
        return {text: el.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
    })""")


def _overlapping(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]]


@pytest.mark.parametrize("size", [(1400, 900), (400, 700)], ids=["desktop", "phone"])
def test_site_one_is_clickable_at_the_opening_view(browser: Any, map_path: Path, demo_result: RunResult,
                                                   size: tuple[int, int]) -> None:
    view = Page(browser, map_path, size)
    page = view.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map-opening-{size[0]}.png"))
    page.locator("path.geo-site-rank-1").click(timeout=3000)  # no force: nothing may cover the site
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert f"Rank 1 of {len(demo_result.sites)}" in popup.inner_text()
    assert view.errors == []
    page.close()


def test_legend_collapses_on_a_small_screen_and_opens_on_request(browser: Any, map_path: Path) -> None:
    small = Page(browser, map_path, (400, 700)).page
    details = small.locator(".geo-legend details")
    assert details.get_attribute("open") is None
    assert small.locator(".leaflet-control-layers-expanded").count() == 0  # the layer list is a button too
    legend_box = small.locator(".geo-legend").bounding_box()
    assert legend_box["width"] < 120 and legend_box["height"] < 40
    small.locator(".geo-legend summary").click()
    assert details.get_attribute("open") is not None
    assert small.locator(".geo-legend").bounding_box()["height"] > 100
    small.close()
    large = Page(browser, map_path).page
    assert large.locator(".geo-legend details").get_attribute("open") is not None
    assert large.locator(".leaflet-control-layers-expanded").count() == 1
    large.close()


def test_rank_labels_declutter_by_zoom(browser: Any, map_path: Path, demo_result: RunResult) -> None:
    view = Page(browser, map_path)
    page = view.page
    top_n = demo_result.analysis.config.sites.top_n
    opening = _label_boxes(page)
    assert 0 < len(opening) <= top_n
    assert max(int(b["text"]) for b in opening) <= top_n
    assert _overlapping(opening) == []
    first = demo_result.sites.iloc[0]
    page.evaluate(f"window.GEO_MAP.map.setView([{first['lat']}, {first['lon']}], "
                  "window.GEO_MAP.map.getZoom() + 2, {animate: false})")
    page.wait_for_timeout(200)
    zoomed = _label_boxes(page)
    assert _overlapping(zoomed) == []
    assert max(int(b["text"]) for b in zoomed) > top_n  # more labels as you zoom in
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-zoomed-labels.png"))
    assert view.errors == []
    page.close()


def test_a_site_without_a_label_shows_its_rank_on_hover(browser: Any, map_path: Path,
                                                        demo_result: RunResult) -> None:
    view = Page(browser, map_path)
    page = view.page
    last = int(demo_result.sites["rank"].max())
    tip = page.evaluate(f"""() => {{
        let found = null;
        window.GEO_MAP.map.eachLayer(l => {{
            if (l.feature && l.feature.properties.rank === {last} && l.feature.properties.popup) {{ found = l; }}
        }});
        const tooltip = found.getTooltip();
        return {{permanent: tooltip.options.permanent || false, text: tooltip.getContent()}};
    }}""")
    assert tip["permanent"] is False
    assert tip["text"].startswith(f"Candidate sites (ranked): rank {last}, score ")
    assert view.errors == []
    page.close()
