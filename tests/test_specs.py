"""Source specs: one spec per source, in its layer's module, and nothing else naming a source."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from pathlib import Path

import pytest

import geo
from geo.provenance import Provenance
from geo.schema import SCHEMAS
from geo.sources.catalog import LAYERS, SPECS, describe
from geo.sources.files import FILE_KINDS
from geo.sources.protocols import PROTOCOLS
from geo.sources.spec import Endpoint

PACKAGE = Path(geo.__file__).parent
#: Modules that run every source: none of them may name one.
LOOPS = ("refresh.py", "sources/offline.py", "sources/files.py", "sources/protocols.py", "sources/registry.py",
         "sources/catalog.py", "sources/combine.py", "cli/refresh.py", "cli/layers.py")


@pytest.mark.parametrize("source_id", ["census_aiannh", "ne_interstates", "topology_zoo_pops"])
def test_the_newest_sources_are_each_one_spec_in_their_layers_module(source_id):
    specs = [s for entry in LAYERS.values() for s in entry.sources if s.id == source_id]
    assert len(specs) == 1
    spec = specs[0]
    module = PACKAGE / "sources" / "layers" / f"{spec.layer}.py"
    assert spec.normalize.__module__ == f"geo.sources.layers.{spec.layer}"
    assert module.read_text().count(f'id="{source_id}"') == 1
    assert spec.endpoint is not None and spec.files is not None


def test_every_spec_sits_in_its_layers_module_and_layers_are_in_schema_order():
    assert list(LAYERS) == [name for name in SCHEMAS if name in LAYERS]
    for spec in SPECS.values():
        assert spec.normalize.__module__ == f"geo.sources.layers.{spec.layer}", spec.id
        assert spec.endpoint is not None or spec.files is not None, spec.id
    assert len(SPECS) == sum(len(entry.sources) for entry in LAYERS.values())  # ids are unique


def test_no_module_that_loops_over_sources_names_one():
    for name in LOOPS:
        text = (PACKAGE / name).read_text()
        named = [i for i in SPECS if re.search(rf"[\"']{i}[\"']", text)]
        assert named == [], f"{name} names {named}"


def test_every_protocol_of_an_endpoint_has_a_row_in_the_table():
    protocols = typing.get_args(Endpoint.model_fields["protocol"].annotation)
    assert set(protocols) == set(PROTOCOLS)


def test_file_kinds_have_unique_keys():
    keys = [kind.key for spec in SPECS.values() for kind in spec.file_kinds()]
    assert set(keys) == set(FILE_KINDS)
    shared = {k for k in keys if keys.count(k) > 1}
    assert shared == {"usgs_water_use"}  # the county table is read by two sources, defined once


@pytest.mark.parametrize("source_id", sorted(SPECS))
def test_every_proxy_partial_or_coarse_source_has_a_caveat(source_id):
    spec = SPECS[source_id]
    fields = describe({"notes": [], "states": ["NV"]}, spec.source())
    record = Provenance(layer=spec.layer, retrieved_at=datetime.now(UTC), sha256="0" * 64, feature_count=1,
                        **{k: v for k, v in fields.items() if k != "url"}, url=spec.url)
    if spec.proxy_for or spec.partial or spec.coarse:
        assert record.caveat, source_id
    assert record.source == spec.title and record.license == spec.license and record.vintage == spec.vintage


def test_sources_modules_stay_small():
    modules = [*PACKAGE.joinpath("sources").rglob("*.py"), PACKAGE / "refresh.py"]
    long = {p.name: n for p in modules if (n := len(p.read_text().splitlines())) > 450}
    assert long == {}
