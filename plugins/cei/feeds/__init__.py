"""The four upstream feeds, each a declaration (see `cei.feeds.model`)."""

from cei.feeds import hotline, inspection, odr, returns
from cei.feeds.model import Column, Feed, Kind

FEEDS: dict[str, Feed] = {f.name: f for f in (hotline.FEED, odr.FEED, returns.FEED, inspection.FEED)}

__all__ = ["FEEDS", "Column", "Feed", "Kind"]
