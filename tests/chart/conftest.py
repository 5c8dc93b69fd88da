"""The controller's end-to-end world, for the test that runs it under the chart's RBAC."""

from tests.controller.conftest import kube, world
from tests.realkube import real_kube, real_kube_server

__all__ = ["kube", "real_kube", "real_kube_server", "world"]
