"""The controller's end-to-end world, for the test that runs it under the chart's RBAC."""

from tests.controller.conftest import world

__all__ = ["world"]
