"""The providers' actual state, kept between passes and updated with our own writes.

At Edgio's pace (one request per 1.2 s, 100 rules a page) one listing of an account with
20,000 rules takes about four minutes, so a pass cannot list everything on every wake-up.
As external-dns does with `--provider-cache-time`, each zone and account is listed in
full when first needed and then every `resync` seconds; in between, passes plan against
the cache, which our own successful writes keep current. Whatever is in doubt is listed
again at the next pass: a write that failed (a 404 or 409 says the cache was wrong), and
everything after a failed pass. Drift made outside is corrected at the next full listing.

`CachedDns` and `CachedCdn` are the provider Protocols themselves, so `apply_plan` writes
through them unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from reconciler.metrics import CACHE_RESYNCS
from reconciler.model import CdnRule, DnsRecord
from reconciler.providers.base import (
    CdnProvider,
    DnsProvider,
    Listing,
    NotFound,
    ProviderError,
    Unreadable,
)

T = TypeVar("T", DnsRecord, CdnRule)
R = TypeVar("R")
COMPLETED = "COMPLETED"


class RuleReader(Protocol):
    """What a CDN client offers beyond the Protocol to follow a rule being published."""

    def get_rule(self, uuid: str) -> CdnRule: ...


@dataclass
class _Listing(Generic[T]):
    """One zone's records or one account's rules, by provider id, and when listed."""

    listed_at: float
    items: dict[str, T] = field(default_factory=dict)
    complete: bool = True  # False: the collection moved while paged; never reused
    stale: bool = False  # in doubt: listed again at the next pass, still read until then
    unreadable: tuple[Unreadable, ...] = ()  # listed, but could not be read

    def listing(self) -> Listing[T]:
        return Listing(self.items.values(), complete=self.complete, unreadable=self.unreadable)

    def put(self, item: T) -> None:
        self.items[item.id or f"unsaved-{len(self.items)}"] = item

    def drop(self, item: T) -> None:
        self.items.pop(item.id or "", None)


class ProviderCache:
    """Listings per zone and per account; `full=True` lists again whatever the age."""

    def __init__(
        self,
        dns: DnsProvider,
        cdn: CdnProvider,
        resync: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.resync = resync
        self._clock = clock
        self._zones: dict[str, _Listing[DnsRecord]] = {}
        self._accounts: dict[str, _Listing[CdnRule]] = {}
        self.dns = CachedDns(dns, self)
        self.cdn = CachedCdn(cdn, self)

    def records(self, zone: str, *, full: bool = False) -> Listing[DnsRecord]:
        listing = self._zones.get(zone)
        if listing is None or full or self._stale(listing):
            listing = self._fresh(self._zones, zone, self.dns.inner.list_records(zone))
        return listing.listing()

    def rules(self, shortname: str, *, full: bool = False) -> Listing[CdnRule]:
        listing = self._accounts.get(shortname)
        if listing is None or full or self._stale(listing):
            listing = self._fresh(self._accounts, shortname, self.cdn.inner.list_rules(shortname))
        else:
            self._follow_publishing(shortname, listing)
        return listing.listing()

    def _fresh(self, store: dict[str, _Listing[T]], key: str, listed: Listing[T]) -> _Listing[T]:
        """A new listing, kept for later passes only when the provider saw it whole."""
        listing: _Listing[T] = _Listing(
            self._clock(), complete=listed.complete, unreadable=listed.unreadable
        )
        for item in listed:
            listing.put(item)
        if listing.complete:
            store[key] = listing
        else:
            store.pop(key, None)
        CACHE_RESYNCS.inc()
        return listing

    def cached_records(self, zone: str) -> list[DnsRecord]:
        listing = self._zones.get(zone)
        return list(listing.items.values()) if listing else []

    def cached_rules(self, shortname: str) -> list[CdnRule]:
        listing = self._accounts.get(shortname)
        return list(listing.items.values()) if listing else []

    def invalidate(self, *, zone: str | None = None, shortname: str | None = None) -> None:
        """The next pass lists again. Until then the listing, with our writes, still says
        what the pass's status reports: one rejected rule must not make every other rule
        of its account look unpublished."""
        if zone is not None and zone in self._zones:
            self._zones[zone].stale = True
        if shortname is not None and shortname in self._accounts:
            self._accounts[shortname].stale = True

    def invalidate_all(self) -> None:
        """After a failed pass nothing cached is trusted: the next pass lists again."""
        for zone in self._zones.values():
            zone.stale = True
        for account in self._accounts.values():
            account.stale = True

    def _stale(self, listing: _Listing[T]) -> bool:
        return listing.stale or self._clock() - listing.listed_at >= self.resync

    def _follow_publishing(self, shortname: str, listing: _Listing[CdnRule]) -> None:
        """Our rules still being published are read one by one, so Ready follows Edgio
        without listing the whole account again."""
        reader = self.cdn.inner
        if not hasattr(reader, "get_rule"):
            return
        for rule in list(listing.items.values()):
            if rule.owner is None or rule.state in (COMPLETED, None) or not rule.id:
                continue
            try:
                listing.put(reader.get_rule(rule.id))
            except NotFound:
                self.invalidate(shortname=shortname)
                return

    def _written(self, zone_or_account: str, item: T) -> None:
        listing = self._listing_of(item, zone_or_account)
        if listing is not None:
            listing.put(item)

    def _removed(self, zone_or_account: str, item: T) -> None:
        listing = self._listing_of(item, zone_or_account)
        if listing is not None:
            listing.drop(item)

    def _listing_of(self, item: T, key: str) -> _Listing[T] | None:
        store = self._zones if isinstance(item, DnsRecord) else self._accounts
        return store.get(key)


class CachedDns:
    """A `DnsProvider` that keeps the cache equal to what its writes made."""

    def __init__(self, inner: DnsProvider, cache: ProviderCache):
        self.inner = inner
        self._cache = cache

    def list_records(self, zone: str) -> Listing[DnsRecord]:
        return self._cache.records(zone)

    def create_record(self, record: DnsRecord) -> DnsRecord:
        created = self._guard(record.zone, lambda: self.inner.create_record(record))
        self._cache._written(record.zone, created)
        return created

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord:
        updated = self._guard(current.zone, lambda: self.inner.update_record(current, desired))
        self._cache._removed(current.zone, current)
        self._cache._written(current.zone, updated)
        return updated

    def delete_record(self, record: DnsRecord) -> None:
        self._guard(record.zone, lambda: self.inner.delete_record(record))
        self._cache._removed(record.zone, record)

    def _guard(self, zone: str, write: Callable[[], R]) -> R:
        try:
            return write()
        except ProviderError:
            self._cache.invalidate(zone=zone)
            raise


class CachedCdn:
    """A `CdnProvider` that keeps the cache equal to what its writes made."""

    def __init__(self, inner: CdnProvider, cache: ProviderCache):
        self.inner = inner
        self._cache = cache

    def list_rules(self, shortname: str) -> Listing[CdnRule]:
        return self._cache.rules(shortname)

    def create_rule(self, rule: CdnRule) -> CdnRule:
        created = self._guard(rule.shortname, lambda: self.inner.create_rule(rule))
        self._cache._written(rule.shortname, created)
        return created

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        updated = self._guard(current.shortname, lambda: self.inner.update_rule(current, desired))
        self._cache._removed(current.shortname, current)
        self._cache._written(current.shortname, updated)
        return updated

    def delete_rule(self, rule: CdnRule) -> None:
        self._guard(rule.shortname, lambda: self.inner.delete_rule(rule))
        self._cache._removed(rule.shortname, rule)

    def _guard(self, shortname: str, write: Callable[[], R]) -> R:
        try:
            return write()
        except ProviderError:
            self._cache.invalidate(shortname=shortname)
            raise
