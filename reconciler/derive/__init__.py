"""Pure derivation: Ingress -> EdgioRoute -> Route -> desired DNS records and CDN rules.

No client library is imported anywhere below this package; inputs are plain dicts as the
Kubernetes API serves them, outputs are values from :mod:`reconciler.model`.
"""
