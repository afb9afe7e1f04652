"""Root conftest: pytester drives real pytest sessions in the integration tests."""

# pytester's in-process runs restore sys.modules afterwards, dropping modules first
# imported inside them; C extensions (PyYAML's _yaml, numpy) cannot be re-imported
# cleanly, so load them here, once, before any inner session.
import jinja2  # noqa: F401
import numpy  # noqa: F401
import scipy.stats  # noqa: F401
import yaml  # noqa: F401

pytest_plugins = ["pytester"]
