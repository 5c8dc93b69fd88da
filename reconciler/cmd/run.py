"""`edgio-ingress run` and `edgio-ingress plan`.

`run` is the controller: caches, loop, leader election, metrics and probes, until SIGTERM.
`run --once` is the drift-correction CronJob: one pass that lists every zone and account
in full, under the same Lease, then exits. `plan` is one dry-run pass printed as a table
(or JSON): what a pass would write, and why what it would not touch is left alone.

Exit codes: 0 the pass ran (routes may still report problems on their own objects);
1 the pass could not run (cluster unreachable, an unexpected failure); 2 a setting is
missing or malformed. `--once` while another instance holds the Lease exits 0 having
done nothing: that leader corrects drift itself, and the drift-correction CronJob must not
fail every run while the Deployment is healthy.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from types import FrameType
from typing import Any

import structlog

from reconciler import metrics
from reconciler.cluster.config import (
    ClusterUnreachable,
    api_client,
    cluster_owner_id,
    own_namespace,
    read_secret,
)
from reconciler.cluster.kube import KubeCluster
from reconciler.cluster.lease import RENEW_DEADLINE, LeaseElector
from reconciler.cmd import config as settings_module
from reconciler.cmd.config import Config, ConfigError, Credentials, address
from reconciler.cmd.plan_output import print_plan
from reconciler.controller.cache import ProviderCache
from reconciler.controller.loop import Loop, LoopOptions
from reconciler.controller.observability import (
    LEVELS,
    Heartbeat,
    configure_logging,
    serve_metrics,
    serve_probes,
)
from reconciler.controller.sync import PassSettings, run_once
from reconciler.derive.desired import Settings
from reconciler.fence import Fence, LeadershipLost
from reconciler.model import Policy
from reconciler.plan.guard import DEFAULT_MAX_SHARE, DeleteGuard
from reconciler.providers.calls import logged
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from reconciler.registry.ownership import Scope

log = structlog.get_logger(__name__)
EXIT_FAILED, EXIT_CONFIG = 1, 2
FLUSH_SECONDS = 10.0  # at most this long for the queued Events before exiting


def _duration(text: str) -> float:
    try:
        return settings_module.duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _address(text: str) -> str:
    try:
        address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _share(text: str) -> Fraction:
    """`0.5` or `50%`, read exactly: `0.57` is 57/100, so 57 of 100 is within it."""
    try:
        value = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (e.g. 0.5 or 50%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1 (0% and 100%)")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    """The settings `run` and `plan` share."""
    add = parser.add_argument
    add(
        "--policy",
        choices=[p.value for p in Policy],
        default=Policy.SYNC.value,
        help="what may be changed: sync (default), upsert-only (never delete), create-only",
    )
    add(
        "--owner-id",
        help="who owns what we write (default: derived from the uid of the "
        "kube-system namespace and the --namespace list, stable across restarts)",
    )
    add(
        "--namespace",
        action="append",
        help="watch only this namespace (repeatable; all by default)",
    )
    add(
        "--zone",
        action="append",
        help="a Vultr DNS zone to manage (repeatable; env EDGIO_INGRESS_DNS_ZONE)",
    )
    add(
        "--origin-hostname", help="the shared round-robin origin name (default origin.<first zone>)"
    )
    add(
        "--shortname",
        action="append",
        help="an Edgio account to list (repeatable; the first "
        "is the default account; env EDGIO_INGRESS_SHORTNAME)",
    )
    add(
        "--edge-hostname",
        action="append",
        metavar="SHORTNAME=NAME",
        help="the name an account's custom hosts are CNAMEd to, shown as the Ingress's "
        "load-balancer hostname (repeatable; default <shortname>.s.llnwi.net; "
        "env EDGIO_INGRESS_EDGE_HOSTNAME, comma-separated)",
    )
    add(
        "--node-address-type",
        choices=["ExternalIP", "InternalIP"],
        default="ExternalIP",
        help="which node address the origin records point at",
    )
    add("--ttl", type=int, default=60, help="TTL of the origin records, seconds (default 60)")
    add(
        "--credentials-secret",
        metavar="[NAMESPACE/]NAME",
        help="a Secret whose keys are the environment names (VULTR_API_KEY, ...)",
    )
    add(
        "--provider-resync",
        type=_duration,
        default=600.0,
        help="list every zone and account again this often (default 10m)",
    )
    add(
        "--max-delete-share",
        type=_share,
        default=DEFAULT_MAX_SHARE,
        help="refuse a pass that would delete more than this share of the owned records or "
        "rules no route accounts for, or all of them (default 0.5)",
    )
    add(
        "--allow-mass-delete",
        action="store_true",
        help="let such a pass through (once, after checking why it deletes so much)",
    )
    add("--log-format", choices=["json", "console"], default="json")
    add("--log-level", choices=LEVELS, default="info")


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run the controller")
    _common(run)
    add = run.add_argument
    add("--once", action="store_true", help="one full pass, then exit (the CronJob)")
    add("--dry-run", action="store_true", help="plan and report, write nothing")
    add("--interval", type=_duration, default=60.0, help="a full pass at least this often (60s)")
    add(
        "--stuck-after",
        type=_duration,
        default=None,
        help="/healthz fails when a pass made no progress (no provider answer, no write) "
        "for this long (default: three intervals plus 30s)",
    )
    add(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="hold a coordination.k8s.io Lease so only one instance writes (default on)",
    )
    add("--lease-name", default="edgio-ingress")
    add("--lease-namespace", help="default: the controller's own namespace")
    add(
        "--metrics-addr",
        type=_address,
        default=None,
        help="/metrics (default :8080; 0 off; with --once off unless given)",
    )
    add(
        "--health-addr",
        type=_address,
        default=None,
        help="/healthz, /readyz (default :8081; 0 off; with --once off unless given)",
    )
    run.set_defaults(run=run_command)
    plan = commands.add_parser("plan", help="one dry-run pass, printed as a table")
    _common(plan)
    plan.add_argument("-o", "--output", choices=["table", "json"], default="table")
    plan.set_defaults(run=plan_command)


@dataclass
class Setup:
    config: Config
    cluster: KubeCluster
    cache: ProviderCache
    settings: PassSettings
    env: dict[str, str]
    secret: dict[str, str]
    heartbeat: Heartbeat
    fence: Fence  # asked before every write, down to each provider request
    identity: str  # this process: its Lease holderIdentity and its provider writes' tag


def _providers(
    creds: Credentials, resync: float, progress: Heartbeat, fence: Fence, writer: str
) -> ProviderCache:
    """The provider clients, which report progress, ask the fence before each write and
    name this process (`writer`) in every request."""
    try:
        dns = VultrDns(
            creds.vultr_key,
            base_url=creds.vultr_url,
            progress=progress,
            fence=fence.check,
            writer=writer,
        )
        cdn = EdgioCdn(
            creds.edgio_user,
            creds.edgio_key,
            base_url=creds.edgio_url,
            progress=progress,
            fence=fence.check,
            writer=writer,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return ProviderCache(logged(dns, "vultr"), logged(cdn, "edgio"), resync)


def _setup(args: argparse.Namespace) -> Setup:
    """Connect, read the Secret, resolve every setting. Raises ConfigError/ClusterUnreachable."""
    env = {name: os.environ[name] for name in settings_module.ENV_NAMES if name in os.environ}
    kubeconfig = env.get("KUBECONFIG") or _home_kubeconfig()
    api = api_client(kubeconfig)
    secret: dict[str, str] = {}
    where = None
    if args.credentials_secret:
        where = settings_module.split_secret_name(args.credentials_secret, own_namespace())
        secret = read_secret(api, *where)
    config = settings_module.resolve(args, env, secret)
    owner = args.owner_id or cluster_owner_id(api, config.namespaces)
    heartbeat = Heartbeat()
    fence = Fence(RENEW_DEADLINE if _elects(args) else None)
    cluster = KubeCluster(api, config.namespaces, secret=where, progress=heartbeat)
    identity = f"{socket.gethostname()}_{os.getpid()}"
    cache = _providers(config.credentials, config.resync, heartbeat, fence, identity)
    core = Settings(
        owner_id=owner,
        zones=config.zones,
        default_shortname=config.shortnames[0] if config.shortnames else None,
        default_origin_hostname=config.origin_hostname,
        ttl=config.ttl,
        node_address_type=config.node_address_type,
        edge_hostnames=config.edge_hostnames,
    )
    guard = DeleteGuard(args.max_delete_share, args.allow_mass_delete)
    scope = Scope(frozenset(config.namespaces))
    settings = PassSettings(core, config.shortnames, config.policy, guard, scope)
    return Setup(config, cluster, cache, settings, env, secret, heartbeat, fence, identity)


def _elects(args: argparse.Namespace) -> bool:
    """Whether this command holds a Lease: `run` with leader election, unless a dry run
    (which writes nothing and so needs none); `plan` never does."""
    return bool(getattr(args, "leader_elect", False)) and not getattr(args, "dry_run", False)


def _home_kubeconfig() -> str | None:
    """In a pod (KUBERNETES_SERVICE_HOST set) the service account; else ~/.kube/config."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    path = os.path.expanduser("~/.kube/config")
    return path if os.path.exists(path) else None


def _prepare(args: argparse.Namespace) -> Setup | int:
    configure_logging(args.log_format, args.log_level)
    try:
        return _setup(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except ClusterUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def plan_command(args: argparse.Namespace) -> int:
    setup = _prepare(args)
    if isinstance(setup, int):
        return setup
    try:
        setup.cluster.list_once()
    except ClusterUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        result = run_once(setup.cluster, setup.cache, setup.settings, dry_run=True, full=True)
    except Exception as error:
        print(f"error: the pass could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print_plan(result, args.output)
    return 0


def run_command(args: argparse.Namespace) -> int:
    setup = _prepare(args)
    if isinstance(setup, int):
        return setup
    elector = None
    if _elects(args):
        namespace = args.lease_namespace or own_namespace()
        coordination = setup.cluster.coordination()
        elector = LeaseElector(
            coordination, args.lease_name, namespace, setup.identity, fence=setup.fence
        )
    loop = Loop(
        setup.cluster,
        setup.cache,
        setup.settings,
        LoopOptions(
            interval=setup.config.interval, dry_run=args.dry_run, stuck_after=args.stuck_after
        ),
        elector,
        ready=setup.cluster.synced,
        controller_object=_lease_object(elector) if elector is not None else None,
        refresh=_refresher(setup),
        heartbeat=setup.heartbeat,
        fence=setup.fence,
    )
    setup.cluster.wake = loop.wake
    setup.cluster.fence = loop.fence.check
    setup.cluster.events.may_send = loop.fence.holds
    stop = _stop_on_signals(loop)
    _serve(args, loop)
    if args.once:
        return _once(setup, loop, elector, stop)
    return _forever(setup, loop, elector, stop)


def _stop_on_signals(loop: Loop) -> threading.Event:
    """SIGTERM and SIGINT close the fence (the pass ends at its next write) and end every
    wait: for the caches, for the Lease, for the next pass."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        loop.fence.stop(f"stopping on {signal.Signals(signum).name}")
        stop.set()
        loop.wake()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


def _lease_object(elector: LeaseElector) -> dict[str, Any]:
    """The Lease as an Event's involved object: where controller-wide Events go."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": elector.name, "namespace": elector.namespace},
    }


def _refresher(setup: Setup) -> Callable[[], ProviderCache | None]:
    """New provider clients when the credentials Secret changed: it is read by name
    before every pass (all the chart grants is `get` on it), so a rotated key is used
    from the next pass on."""
    last = dict(setup.secret)

    def refresh() -> ProviderCache | None:
        values = setup.cluster.secret_values()
        if values is None or values == last:
            return None
        last.clear()
        last.update(values)
        try:
            creds = settings_module.credentials(setup.env, values)
            cache = _providers(
                creds, setup.config.resync, setup.heartbeat, setup.fence, setup.identity
            )
        except ConfigError as error:
            log.error("the credentials Secret cannot be used", error=str(error))
            return None
        log.info("credentials changed: new provider clients")
        return cache

    return refresh


def _serve(args: argparse.Namespace, loop: Loop) -> None:
    """Metrics and probes; `--once` opens no port unless one is asked for."""
    metrics_addr = address(args.metrics_addr or ("0" if args.once else ":8080"))
    health_addr = address(args.health_addr or ("0" if args.once else ":8081"))
    if metrics_addr is not None:
        serve_metrics(metrics_addr)
    if health_addr is not None:
        serve_probes(health_addr, loop.alive, loop.ready)


def _once(setup: Setup, loop: Loop, elector: LeaseElector | None, stop: threading.Event) -> int:
    """Take the Lease, then read the cluster (a snapshot taken while we hold it), renew it
    while the pass runs, and release it at the end."""
    if elector is not None:
        if not _wait_for_lease(elector, stop):
            if stop.is_set():
                return EXIT_FAILED
            print(
                f"nothing to do: the Lease {elector.namespace}/{elector.name} is held by "
                "another instance, which corrects drift itself",
                file=sys.stderr,
            )
            return 0
        renew = threading.Thread(target=elector.campaign, args=(stop, loop.wake), daemon=True)
        renew.start()
    try:
        return _once_holding(setup, loop)
    finally:
        stop.set()
        _release(setup, loop, elector)


def _once_holding(setup: Setup, loop: Loop) -> int:
    try:
        setup.cluster.list_once()
    except ClusterUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        result = loop.run_pass(full=True)
    except LeadershipLost as error:
        print(f"error: the pass stopped before its next write: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:
        print(f"error: the pass could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    for refusal in result.refusals:
        print(f"error: {refusal.message}", file=sys.stderr)
    return EXIT_FAILED if result.refusals else 0


def _release(setup: Setup, loop: Loop, elector: LeaseElector | None) -> None:
    """The queued Events first, while the Lease is still ours (each is sent only while
    the fence holds), then the Lease: nothing of ours is written after its release. A
    process that lost the Lease does not wait on them: they would be dropped anyway, and
    the one in flight may be hung on the very API server it lost."""
    if loop.fence.holds():
        setup.cluster.flush_events(FLUSH_SECONDS)
    if elector is not None:
        elector.release()
        metrics.LEADER.set(0)


def _wait_for_lease(elector: LeaseElector, stop: threading.Event) -> bool:
    """Up to one lease duration (plus two retries), the time a silent holder needs to
    expire; a stop ends the wait at once."""
    deadline = time.monotonic() + elector.duration + 2 * elector.retry
    logged_wait = False
    while not elector.try_acquire():
        if not logged_wait:
            log.info("waiting for the lease", lease=f"{elector.namespace}/{elector.name}")
            logged_wait = True
        if time.monotonic() >= deadline or stop.wait(0.5):
            return False
    return True


def _wait_synced(cluster: KubeCluster, loop: Loop, stop: threading.Event) -> bool:
    """Until every cache has listed once (the informers retry with backoff, saying why),
    or until stopped. No pass runs on a cache that never synced: an empty cache would
    make every rule look like one nobody wants. /readyz says 503 meanwhile."""
    waited = 0
    while not cluster.synced():
        if stop.wait(1.0):
            return False
        loop.beat()  # waiting for the API server is not being stuck
        waited += 1
        if waited % 30 == 0:
            log.warning("caches not synced yet: no pass runs", waiting=cluster.unsynced())
    log.info("caches synced")
    return True


def _forever(setup: Setup, loop: Loop, elector: LeaseElector | None, stop: threading.Event) -> int:
    setup.cluster.start()
    log.info(
        "started",
        zones=list(setup.config.zones),
        shortnames=list(setup.config.shortnames),
        owner=setup.settings.core.owner_id,
        dry_run=loop.options.dry_run,
    )
    held = loop.run(stop) if _wait_synced(setup.cluster, loop, stop) else True
    setup.cluster.stop.set()
    _release(setup, loop, elector)
    if not held:
        log.error("leader election lost: exiting, to campaign afresh when restarted")
        return EXIT_FAILED
    log.info("stopped")
    return 0
