"""Example test suites, as a user of the plugin would write them (fully annotated, so ruff and mypy check
them too); the plugin tests copy each into a pytester directory as ``test_suite.py`` and run it there.

Their names (``suite_*.py``) are not a test file pattern: the suite's own run never collects them (they
need the ``feishu_sim`` fixture, which only the pytester runs load).
"""
