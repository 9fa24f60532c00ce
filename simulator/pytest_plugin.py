"""pytest plugin: Feishu event deliveries as fixtures (registered through the ``pytest11`` entry point).

* ``feishu_sim`` (function scope): a ``simulator.testing.FeishuSim`` configured by
  ``@pytest.mark.feishu(...)`` over the ``feishu_config`` fixture (override it in ``conftest.py`` for
  suite-wide defaults). After the test body it fails the test if a delivery was not acked and not
  expected to be rejected (``@pytest.mark.feishu(check_unacked=False)`` opts out).
* ``feishu_config`` (function scope): suite-wide defaults, a dict with the marker's keywords.
* Virtual time by default (``time_scale=0``): the retry ladder runs instantly.
* ``feishu_platform`` (function scope): the long-connection platform (``simulator.platform_server.PlatformServer``),
  started once per session on a free loopback port (``feishu_platform_server``, configured by the
  overridable session fixture ``feishu_platform_options``) and cleared before each test. Connect the
  official client with ``simulator.lark_client.LarkWsClient`` (or any program with
  ``simulator.harness.ClientProcess``); push with ``feishu_sim.push(feishu_platform, ...)`` or its own
  ``push(...)``: both are checked after the test. ``feishu_sim`` addresses the platform's app unless the
  marker or ``feishu_config`` names another ``app_id``. ``feishu_platform.api`` holds the bot's OpenAPI
  calls; with both fixtures, ``feishu_sim`` makes its events in the platform's world, for any target
  (docs/bots.md).
* Every failing test that pushed gets a report section, ``feishu_sim deliveries``: each delivery with its
  verdict, redeliveries and duplicates named, deliveries lost by the ``drop`` fault marked as such.


A marker with an unknown keyword or a bad value is a pytest usage error at collection, naming the test.
The plugin is an adapter: building, pushing and judging are ``FeishuSim`` and the engine.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from simulator.errors import SimulatorError, UsageError
from simulator.fixture_options import OPTIONS, Settings, check_names, settings_from
from simulator.testing import FeishuSim
from simulator.testing_report import PLATFORM_HINT, check_message, section

if TYPE_CHECKING:  # imported when the fixture is first used: protobuf and websockets are not free
    from simulator.platform_server import PlatformServer

MARKER = "feishu"
ENTRY_POINT = "feishu_sim"  # the name in [project.entry-points.pytest11]; -p no:feishu_sim disables the plugin
_SIM_KEY = pytest.StashKey[FeishuSim]()
_CHECKED_KEY = pytest.StashKey[int]()
_PLATFORM_KEY = pytest.StashKey["tuple[PlatformServer, Settings]"]()
_PLATFORM_CHECKED_KEY = pytest.StashKey[int]()
_REPORTED_KEY = pytest.StashKey[bool]()  # the deliveries were shown already (the check's own failure, a section)
SECTION = "feishu_sim deliveries"


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
            settings_from(options, default_seed=0, whole=False)  # the feishu_config fixture may add to it
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
            request.node.stash[_REPORTED_KEY] = True
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
def feishu_platform(request: pytest.FixtureRequest, feishu_platform_server: PlatformServer,
                    feishu_config: Mapping[str, Any]) -> Iterator[PlatformServer]:
    """The session's long-connection platform, cleared (deliveries, counters, faults, ClientConfig, the
    OpenAPI's record) for this test; connected clients stay connected. Its own pushes are checked after the
    test like ``feishu_sim``'s (``check_unacked``). When the test uses ``feishu_sim`` too, its events come from
    the platform's world, so a bot's OpenAPI calls about them are valid (docs/bots.md)."""
    __tracebackhide__ = True
    settings = settings_for(request, feishu_config if isinstance(feishu_config, Mapping) else {})
    feishu_platform_server.clear()
    if "feishu_sim" in request.fixturenames:
        sim: FeishuSim = request.getfixturevalue("feishu_sim")
        sim.share_world(feishu_platform_server)
    request.node.stash[_PLATFORM_KEY] = (feishu_platform_server, settings)
    yield feishu_platform_server
    # Pushes made after the test body (by other fixtures' teardown) are checked here.
    start = request.node.stash.get(_PLATFORM_CHECKED_KEY, 0)
    message = _platform_report(feishu_platform_server, settings, start)
    if message:
        request.node.stash[_REPORTED_KEY] = True
        pytest.fail(message, pytrace=False)


def _platform_report(server: PlatformServer, settings: Settings, start: int = 0) -> str | None:
    if not settings.check_unacked or server.server.portal is None:
        return None
    return check_message(server.deliveries[start:], seed=server.platform.rand.seed, source="feishu_platform",
                         hint=PLATFORM_HINT)


def _check_after_call(item: pytest.Item) -> str | None:
    """The after-test check of what the test pushed (``feishu_sim`` and ``feishu_platform.push``)."""
    messages = []
    sim = item.stash.get(_SIM_KEY, None)
    if sim is not None:
        item.stash[_CHECKED_KEY] = len(sim.deliveries)
        if sim.settings.check_unacked:
            messages.append(sim.report())
    watched = item.stash.get(_PLATFORM_KEY, None)
    if watched is not None:
        server, settings = watched
        deliveries = server.deliveries
        item.stash[_PLATFORM_CHECKED_KEY] = len(deliveries)
        messages.append(_platform_report(server, settings))
    found = [m for m in messages if m]
    return "\n\n".join(found) if found else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test itself (not its teardown) when a delivery ended unexpectedly."""
    try:
        result = yield
    except BaseException:
        # The test failed already: report that, with the deliveries in a section, not a check on top of it.
        sim = item.stash.get(_SIM_KEY, None)
        if sim is not None:
            item.stash[_CHECKED_KEY] = len(sim.deliveries)
        watched = item.stash.get(_PLATFORM_KEY, None)
        if watched is not None:
            with contextlib.suppress(SimulatorError):  # the platform is not running any more
                item.stash[_PLATFORM_CHECKED_KEY] = len(watched[0].deliveries)
        raise
    message = _check_after_call(item)
    if message:
        item.stash[_REPORTED_KEY] = True
        pytest.fail(message, pytrace=False)
    return result


def _count(deliveries: list[Any]) -> str:
    return f"{len(deliveries)} deliver{'y' if len(deliveries) == 1 else 'ies'}"


def deliveries_section(item: pytest.Item) -> str | None:
    """The report section of a failing test: what it pushed, delivery by delivery."""
    parts = []
    sim = item.stash.get(_SIM_KEY, None)
    if sim is not None and sim.deliveries:
        cfg = sim.config
        parts.append(section(sim.deliveries, header=(
            f"feishu_sim: {_count(sim.deliveries)} (seed={sim.seed}, retries={len(cfg.retries.delays) or 'none'}, "
            f"faults={cfg.faults}); ! = not as expected")))
    watched = item.stash.get(_PLATFORM_KEY, None)
    if watched is not None:
        try:
            pushed = watched[0].deliveries
        except SimulatorError:
            pushed = []
        if pushed:
            parts.append(section(pushed, header=f"feishu_platform.push: {_count(pushed)}"))
    return "\n\n".join(parts) if parts else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach the deliveries to the first failing report of a test that pushed (unless that failure is the
    after-test check, which lists them itself)."""
    report = yield
    if report.failed:
        if not item.stash.get(_REPORTED_KEY, False):
            text = deliveries_section(item)
            if text:
                report.sections.append((SECTION, text))
        item.stash[_REPORTED_KEY] = True
    return report
