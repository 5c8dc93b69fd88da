"""The cluster layer: the only code that imports `kubernetes`.

List+watch caches (:mod:`.informer`), the writer of EdgioRoutes, statuses, Ingress
hostnames and finalizers (:mod:`.kube`), Events (:mod:`.events`), the leader Lease
(:mod:`.lease`) and loading the client configuration (:mod:`.config`).
"""
