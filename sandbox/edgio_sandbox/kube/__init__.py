"""A Kubernetes API server emulator for tests, benches and the demo."""

from .server import KubeEmulator

__all__ = ["KubeEmulator"]
