"""Root conftest: pytester drives real pytest sessions in the integration tests."""

pytest_plugins = ["pytester"]
