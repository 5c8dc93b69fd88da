"""edgio-ingress: Edgio Delivery CDN as a Kubernetes Ingress provider (Vultr DNS origin)."""

__version__ = "0.1.0"
