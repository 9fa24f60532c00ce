"""pytest plugin: Feishu event deliveries as fixtures (registered through the ``pytest11`` entry point).

* ``feishu_sim`` (function scope): a ``simulator.testing.FeishuSim`` configured by
  ``@pytest.mark.feishu(...)`` over the ``feishu_config`` fixture (override it in ``conftest.py`` for
  suite-wide defaults). After the test body it fails the test if a delivery was not acked and not
  expected to be rejected (``@pytest.mark.feishu(check_unacked=False)`` opts out).
* ``feishu_config`` (function scope): suite-wide defaults, a dict with the marker's keywords.
* Virtual time by default (``time_scale=0``): the retry ladder runs instantly.
* ``feishu_platform`` (function scope): the long-connection platform (``simulator.platform_server.PlatformServer``),
  started once per session on a free loopback port (``feishu_platform_server``, configured by the
  overridable session fixture ``feishu_platform_options``) and cleared before each test. Give its
  ``domain`` to ``lark.ws.Client`` and to the bot's API client; push with ``feishu_sim.push(feishu_platform,
  ...)`` (judged, checked at teardown) or its own ``push(...)``; ``feishu_platform.api`` holds the bot's
  OpenAPI calls. With both fixtures, ``feishu_sim`` makes its events in the platform's world (for any target).


A marker with an unknown keyword or a bad value is a pytest usage error at collection, naming the test.
The plugin is an adapter: building, pushing and judging are ``FeishuSim`` and the engine.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from simulator.errors import UsageError
from simulator.fixture_options import OPTIONS, Settings, check_names, settings_from
from simulator.testing import FeishuSim

if TYPE_CHECKING:  # imported when the fixture is first used: protobuf and websockets are not free
    from simulator.platform_server import PlatformServer

MARKER = "feishu"
ENTRY_POINT = "feishu_sim"  # the name in [project.entry-points.pytest11]; -p no:feishu_sim disables the plugin
_SIM_KEY = pytest.StashKey[FeishuSim]()
_CHECKED_KEY = pytest.StashKey[int]()


def _marker_signature() -> str:
    return f"{MARKER}({', '.join(f'{name}=...' for name in OPTIONS)})"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Loaded explicitly (``-p simulator.pytest_plugin``) while also installed: pluggy would refuse to
    register this module a second time under the entry point's name, so that name is blocked instead."""
    if pluginmanager.get_plugin(ENTRY_POINT) is None and not pluginmanager.is_blocked(ENTRY_POINT):
        pluginmanager.set_blocked(ENTRY_POINT)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_marker_signature()}: configure the feishu_sim fixture for this test "
        "(keywords override the feishu_config fixture; see simulator.fixture_options)",
    )


def marker_options(item: pytest.Item) -> dict[str, Any]:
    """The ``feishu`` marker keywords of ``item``; the closest marker (function > class > module) wins."""
    merged: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers(MARKER))):
        if mark.args:
            raise UsageError(f"takes keywords only, got positional {mark.args!r}")
        merged.update(mark.kwargs)
    return merged


def default_seed(nodeid: str) -> int:
    """A per-test seed derived from the test id: stable across runs, different between tests."""
    return zlib.crc32(nodeid.encode("utf-8"))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            continue
        try:
            options = marker_options(item)
            check_names(options)
            settings_from(options, default_seed=0)
        except UsageError as exc:
            problems.append(f"{item.nodeid}: @pytest.mark.{MARKER}: {exc}")
    if problems:
        raise pytest.UsageError("\n".join(problems))


def settings_for(request: pytest.FixtureRequest, defaults: Mapping[str, Any]) -> Settings:
    __tracebackhide__ = True
    node = request.node
    try:
        check_names(defaults)
    except UsageError as exc:
        raise pytest.UsageError(f"{node.nodeid}: feishu_config fixture: {exc}") from None
    options = {**defaults, **marker_options(node)} if isinstance(node, pytest.Item) else dict(defaults)
    try:
        return settings_from(options, default_seed=default_seed(node.nodeid))
    except UsageError as exc:
        raise pytest.UsageError(f"{node.nodeid}: feishu options: {exc}") from None


@pytest.fixture
def feishu_config() -> dict[str, Any]:
    """Suite-wide defaults for ``feishu_sim``: override in ``conftest.py`` to return marker keywords,
    e.g. ``{"encrypt_key": "...", "verification_token": "..."}``."""
    return {}


@pytest.fixture
def feishu_sim(request: pytest.FixtureRequest, feishu_config: Mapping[str, Any]) -> Iterator[FeishuSim]:
    """Pushes Feishu events into the app under test (URL, ASGI or WSGI app) and judges the acks."""
    __tracebackhide__ = True
    if not isinstance(feishu_config, Mapping):
        raise pytest.UsageError(f"{request.node.nodeid}: the feishu_config fixture must return a dict of marker "
                                f"keywords, got {type(feishu_config).__name__}")
    settings = settings_for(request, feishu_config)
    sim = FeishuSim(settings, name=request.node.nodeid)
    request.node.stash[_SIM_KEY] = sim
    try:
        yield sim
        # Deliveries made after the test body (by other fixtures' teardown) are checked here.
        start = request.node.stash.get(_CHECKED_KEY, 0)
        message = sim.report(sim.deliveries[start:]) if settings.check_unacked else None
        if message:
            pytest.fail(message, pytrace=False)
    finally:
        sim.close()


@pytest.fixture(scope="session")
def feishu_platform_options() -> dict[str, Any]:
    """Keyword arguments for the session's ``PlatformServer`` (override in ``conftest.py``): ``app_id``,
    ``app_secret``, ``apps``, ``client_config``, ``ack_budget_s``, ``fragment_size``, ``max_connections``,
    ``seed``, ... Default ``client_config``: short test intervals (``TEST_CLIENT_CONFIG``)."""
    return {}


@pytest.fixture(scope="session")
def feishu_platform_server(feishu_platform_options: Mapping[str, Any]) -> Iterator[PlatformServer]:
    """The long-connection platform, started once per session on a free loopback port."""
    __tracebackhide__ = True
    from simulator.platform_server import TEST_CLIENT_CONFIG, PlatformServer

    options = {"client_config": TEST_CLIENT_CONFIG, **feishu_platform_options}
    try:
        server = PlatformServer(**options)
    except (TypeError, UsageError) as exc:
        raise pytest.UsageError(f"feishu_platform_options fixture: {exc}") from None
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def feishu_platform(request: pytest.FixtureRequest, feishu_platform_server: PlatformServer) -> PlatformServer:
    """The session's long-connection platform, cleared (deliveries, counters, faults, ClientConfig, the
    OpenAPI's record) for this test; connected clients stay connected. When the test uses ``feishu_sim`` too,
    its events come from the platform's world, so a bot's OpenAPI calls about them are valid (docs/bots.md)."""
    feishu_platform_server.clear()
    if "feishu_sim" in request.fixturenames:
        sim: FeishuSim = request.getfixturevalue("feishu_sim")
        sim.share_world(feishu_platform_server)
    return feishu_platform_server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test itself (not its teardown) when a delivery ended unexpectedly."""
    sim = item.stash.get(_SIM_KEY, None)
    try:
        result = yield
    except BaseException:
        if sim is not None:  # the test failed already: report that, not the deliveries on top of it
            item.stash[_CHECKED_KEY] = len(sim.deliveries)
        raise
    if sim is not None:
        item.stash[_CHECKED_KEY] = len(sim.deliveries)
        message = sim.report() if sim.settings.check_unacked else None
        if message:
            pytest.fail(message, pytrace=False)
    return result
