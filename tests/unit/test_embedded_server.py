"""The embedded server's settings that need no server."""

import pytest

from cei.warehouse.server import beyond_this_machine


@pytest.mark.parametrize(("addresses", "beyond"), [
    ("127.0.0.1", False), ("", False), ("localhost", False), ("127.0.0.1, ::1", False), ("127.0.0.2", False),
    ("*", True), ("0.0.0.0", True), ("10.35.1.20", True), ("127.0.0.1,10.35.1.20", True), ("db.intranet", True),
])
def test_which_listen_addresses_reach_beyond_this_machine(addresses, beyond):
    assert beyond_this_machine(addresses) is beyond
