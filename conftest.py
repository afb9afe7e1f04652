"""Root conftest: pytester drives real pytest sessions in the integration tests."""

# pytester's in-process runs restore sys.modules afterwards, dropping modules first
# imported inside them; C extensions (PyYAML's _yaml, numpy) cannot be re-imported
# cleanly, so load them here, once, before any inner session.
# Our own modules too: one dropped and re-imported would bring a second copy of its
# Enums and classes, which the modules imported before would not recognise.
import importlib
import pkgutil

import jinja2  # noqa: F401
import numpy  # noqa: F401
import scipy.stats  # noqa: F401
import yaml  # noqa: F401

import pytest_runcompare

for _module in pkgutil.walk_packages(pytest_runcompare.__path__, "pytest_runcompare."):
    importlib.import_module(_module.name)

pytest_plugins = ["pytester"]
