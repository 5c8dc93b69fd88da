"""Local emulators for tests, benches and the demo; never imported by the controller layers."""
