"""Adapters to the external systems. The only code that talks to Vultr or Edgio."""
