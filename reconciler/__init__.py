"""edgio-ingress: Edgio Delivery CDN as a Kubernetes Ingress provider, with Vultr DNS for the origin."""

__version__ = "0.1.0"
