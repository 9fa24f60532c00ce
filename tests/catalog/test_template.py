"""The copy-me template works: its generator's output matches its schema, and the test template passes
against it once registered (what a new event type goes through)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from simulator.generation import catalog, schemas
from simulator.generation.catalog import _template
from simulator.resources import schemas_dir
from tests.catalog.helpers import factory

TEMPLATE_SCHEMA = schemas_dir() / "_template.schema.json"


def template_validator() -> Draft202012Validator:
    doc = json.loads(TEMPLATE_SCHEMA.read_text(encoding="utf-8"))
    return Draft202012Validator(doc, registry=schemas._registry())


def test_template_generator_matches_template_schema() -> None:
    v = template_validator()
    f = factory(3)
    for _ in range(30):
        env = f.wrap(_template.EVENT_TYPE, _template.generate(f.context()), now=f.clock.now())
        assert [schemas.describe(e) for e in v.iter_errors(env)] == []
    env["event"]["note"] = ""
    assert list(v.iter_errors(env))


def test_the_template_is_not_registered() -> None:
    assert _template.EVENT_TYPE not in catalog.event_types()
    assert _template.SPEC.sdk_register is None


@pytest.fixture
def registered_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Register the template as if it were copied in, its schema saved under its event type's name (in a
    copy of the schema directory, so the repository is not touched)."""
    import shutil

    import simulator.generation.schemas as schemas_mod

    catalog.event_types()  # load the real catalogue first
    monkeypatch.setitem(catalog._REGISTRY, _template.EVENT_TYPE, _template.SPEC)
    shutil.copytree(schemas_dir(), tmp_path, dirs_exist_ok=True)
    doc = json.loads(TEMPLATE_SCHEMA.read_text(encoding="utf-8"))
    doc["$id"] = doc["$id"].replace("_template", _template.EVENT_TYPE)
    (tmp_path / f"{_template.EVENT_TYPE}.schema.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setattr(schemas_mod, "schemas_dir", lambda: tmp_path)
    schemas_mod.validator.cache_clear()
    schemas_mod._registry.cache_clear()
    schemas_mod._index.cache_clear()
    yield
    monkeypatch.undo()
    schemas_mod.validator.cache_clear()
    schemas_mod._registry.cache_clear()
    schemas_mod._index.cache_clear()


def test_the_test_template_passes_for_the_registered_template(registered_template: None,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module("tests.catalog._template_tests")
    module.test_seeded_events_are_valid_and_coherent()
    module.test_the_schema_rejects_a_wrong_field()
    from simulator.cli import main

    assert main(["generate", "--list"]) == 0
    assert _template.EVENT_TYPE in capsys.readouterr().out
