"""The Edgio emulator's fixtures are the providers' (one definition, both directories)."""

from tests.providers.edgio.conftest import cdn, emulator, session

__all__ = ["cdn", "emulator", "session"]
