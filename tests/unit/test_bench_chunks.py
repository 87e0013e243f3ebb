from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from cei.bench import CHUNK_ORDERS, INCREMENT_DAY, _chunks, history_start


@given(scale=st.integers(1, 50_000_000), days=st.integers(1, 800))
def test_windows_cover_every_day_and_order_once(scale, days):
    windows = _chunks(scale, days)
    assert sum(orders for _, _, orders in windows) == scale
    day = history_start(days)
    for start, n, orders in windows:
        assert start == day and n >= 1 and orders >= 1  # contiguous, never empty
        day = start + timedelta(days=n)
    assert day == INCREMENT_DAY  # the history ends the night before the increment
    # bounded generator memory unless there are fewer days than chunks would need
    if days >= scale / CHUNK_ORDERS:
        assert max(orders for *_, orders in windows) <= CHUNK_ORDERS + 1
