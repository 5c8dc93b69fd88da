"""Local emulators of the Kubernetes, Vultr DNS and Edgio Config APIs, for the tests, the
benchmarks and the demo of edgio-ingress. A distribution of its own: the product never
imports it, and neither its wheel nor its image carries it."""
