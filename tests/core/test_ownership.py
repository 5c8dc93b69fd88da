"""Ownership markers: render and parse round trip, and anything else is foreign."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cmd.config import ConfigError, check_owner_id
from reconciler.model import CdnOption, OwnerMarker
from reconciler.registry import ownership

TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-/.", min_size=1, max_size=40)


@given(TOKENS, TOKENS)
def test_round_trip(owner: str, resource: str) -> None:
    marker = OwnerMarker(owner, resource)
    assert ownership.parse(ownership.render(marker)) == marker
    assert ownership.parse(f'"{ownership.render(marker)}"') == marker


@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=70))
def test_an_owner_id_accepted_at_start_is_read_back_from_every_marker(owner: str) -> None:
    """`--owner-id` is checked at start so that whatever passes is exactly the owner read
    back from the markers written with it: a blank, ',', '=' or '"' in it would make every
    object we write foreign to us (orphaned), or unreadable."""
    try:
        check_owner_id(owner)
    except ConfigError as error:
        assert str(error).startswith("--owner-id: ") and "\n" not in str(error)
        return
    marker = OwnerMarker(owner, ownership.ORIGIN_RESOURCE)
    assert ownership.parse(f'"{ownership.render(marker)}"') == marker
    assert ownership.split_marker((ownership.marker_option(marker),))[0] == marker


def test_external_dns_style_text() -> None:
    text = ownership.render(OwnerMarker("cluster-a", "edgioroute/shop/web"))
    assert text == (
        "heritage=edgio-ingress,edgio-ingress/owner=cluster-a,"
        "edgio-ingress/resource=edgioroute/shop/web"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=spf1 -all",
        "heritage=external-dns,external-dns/owner=cluster-a",
        "heritage=edgio-ingress",
        "heritage=edgio-ingress,edgio-ingress/owner=",
        "just words",
    ],
)
def test_anything_else_is_foreign(text: str) -> None:
    assert ownership.parse(text) is None


def test_marker_option_is_split_from_user_options() -> None:
    marker = OwnerMarker("cluster-a", "edgioroute/shop/web")
    user = CdnOption("req_send_header", ("X-Other", "1"))
    options = (user, ownership.marker_option(marker), CdnOption("refresh_absmin", (60,)))
    assert ownership.split_marker(options) == (marker, (user, CdnOption("refresh_absmin", (60,))))
    assert ownership.split_marker((user,)) == (None, (user,))
