"""The EdgioRoute resource's names and vocabulary, in one place.

Everything a user or another program can see of the controller in the cluster is named
here: the API group and kind, the labels, annotations and finalizer we write, and the
condition types and reasons of a route's status and Events. `crds/edgioroute.yaml` and
the chart must agree with these names; tests check that they do.
"""

from __future__ import annotations

import enum

GROUP = "cdn.edgio.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "EdgioRoute"
PLURAL = "edgioroutes"
SINGULAR = "edgioroute"
SHORT_NAME = "er"

# IngressClass.spec.controller of classes whose Ingresses are ours.
CONTROLLER_NAME = f"{GROUP}/ingress-controller"
# The seed's marker: an Ingress labelled `cdn: edgio` is ours whatever its class.
SELECT_LABEL = "cdn"
SELECT_VALUE = "edgio"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"

# On an EdgioRoute derived from an Ingress: `cdn.edgio.io/derived-from: ingress`.
DERIVED_LABEL = f"{GROUP}/derived-from"
DERIVED_FROM_INGRESS = "ingress"

ANNOTATION_PREFIX = f"{GROUP}/"
# Removes the finalizer of a route whose account or zone cannot be reached any more.
FORCE_DELETE_ANNOTATION = f"{ANNOTATION_PREFIX}force-delete"
FINALIZER = f"{GROUP}/cleanup"
# On a route (or the Ingress it is derived from): take over a rule Edgio already has for
# one of its hosts and paths when that rule carries no ownership marker at all.
ADOPT_ANNOTATION = f"{ANNOTATION_PREFIX}adopt"


class ConditionType(enum.StrEnum):
    """The conditions of an EdgioRoute's status, in `metav1.Condition` form."""

    READY = "Ready"
    DNS_READY = "DnsReady"
    CDN_READY = "CdnReady"
    BACKEND_READY = "BackendReady"
    CONFLICT = "Conflict"


class Reason(enum.StrEnum):
    """Condition and Event reasons: CamelCase, stable, documented in the README."""

    # all is well
    PUBLISHED = "Published"
    RESOLVED = "Resolved"
    NO_CONFLICT = "NoConflict"
    BACKENDS_FOUND = "BackendsFound"
    # the route itself
    INVALID_SPEC = "InvalidSpec"
    NAME_TAKEN = "NameTaken"
    FINALIZER_MISSING = "FinalizerMissing"  # not stored yet: nothing is published for it
    # backends
    BACKEND_NOT_FOUND = "BackendNotFound"
    BACKEND_PORT_NOT_FOUND = "BackendPortNotFound"
    BACKEND_NOT_NODE_PORT = "BackendNotNodePort"
    # nodes without a local endpoint answer nothing under externalTrafficPolicy: Local
    EXTERNAL_TRAFFIC_POLICY_LOCAL = "ExternalTrafficPolicyLocal"
    # claims and origins
    CONFLICT = "Conflict"
    ORIGIN_NOT_READY = "OriginNotReady"
    ORIGIN_FOREIGN = "OriginForeign"
    ORIGIN_IN_USE = "OriginInUse"
    HELD = "Held"
    RELEASED = "Released"
    NO_ELIGIBLE_NODES = "NoEligibleNodes"
    FOREIGN_RULE = "ForeignRule"
    FOREIGN_RECORD = "ForeignRecord"
    # providers
    PROVIDER_AUTH_FAILED = "ProviderAuthFailed"
    PROVIDER_UNAVAILABLE = "ProviderUnavailable"
    PROVIDER_NOT_FOUND = "ProviderNotFound"
    PROVIDER_REJECTED = "ProviderRejected"
    PROVIDER_THROTTLED = "ProviderThrottled"
    PUBLISHING = "Publishing"
    # plans
    POLICY_FORBIDS = "PolicyForbids"
    LISTING_INCOMPLETE = "ListingIncomplete"
    MASS_DELETE_REFUSED = "MassDeleteRefused"
    DELETING = "Deleting"
    # Events about what the controller did (Normal), beside the problems above (Warning)
    ROUTE_DERIVED = "RouteDerived"
    ROUTE_REMOVED = "RouteRemoved"
    RULE_CREATED = "RuleCreated"
    RULE_UPDATED = "RuleUpdated"
    RULE_DELETED = "RuleDeleted"
    RULE_RELEASED = "RuleReleased"
    CLEANED_UP = "CleanedUp"
    FORCE_DELETED = "ForceDeleted"


# Value of FORCE_DELETE_ANNOTATION that releases the finalizer.
FORCE_DELETE_VALUE = "true"
# Events: the component that reports them.
EVENT_SOURCE = "edgio-ingress"
