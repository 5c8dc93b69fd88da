"""The Vultr emulator's fixtures are the providers' (one definition, both directories)."""

from tests.providers.vultr.conftest import emulator, official

__all__ = ["emulator", "official"]
