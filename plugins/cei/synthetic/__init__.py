"""Seeded synthetic deliveries of the four upstream feeds, with injectable defects and exact ground truth.

`generate(out, scale=...)` writes `<out>/<feed>/<YYYY-MM-DD>/<file>` as feeds.md describes and returns
(and writes to `<out>/ground_truth.json`) what the ingestion must make of every file.

The model
---------
* **Hotline.** `scale` work orders are registered over the window — working days busier than weekends
  and holidays, office hours on the phone lines, any hour online — in Fujian's 84 counties weighted by
  rough population and spending (福州/厦门/泉州 big, 平潭 small), now and then under the prefecture code.
  Each then lives its life: a complaint (投诉) is accepted within a few working days (some late) or
  refused (不予受理), then mediated and closed within days to ~60 days; a report (举报) is verified and
  closed (已立案/不予立案); a consultation (咨询) is answered, mostly the same day. A closed order gets a
  satisfaction callback a few days later. The nightly export of day D carries every order that changed
  on D with its full current state and 更新时间, so an order appears on its registration night (open) and
  re-appears with newer state (accepted, closed, called back): newest-wins is exercised for real. Orders
  still open when the window ends (or `versions_until`, for windows generated one after another) stay
  open. Units differ a little (acceptance delays, mediation success, satisfaction), so the index has
  something to rank.
* **ODR** disputes (~8 % of the hotline volume) are filed against merchants with a long tail, may be
  updated while open, and close 和解成功/和解失败/转行政调解; every change is re-delivered.
* **Inspection** batches (~1.5 %) arrive when the result is known (sampled 1–4 weeks earlier); online
  samples fail about twice as often as offline ones; some failed batches are re-tested and the re-test
  (a later 更新时间, a later delivery) may overturn the result.
* **Returns.** Each of the 10 assessment units reports its roster of committed enterprises (20–200,
  smaller below scale 5000) once a month, early the following month — only reports delivered inside
  the window exist — and sometimes sends a correction a few days later that replaces enterprise-months.

Files vary the way real exports do, and all of it is valid: GB18030 or UTF-8 with/without BOM, CRLF or
LF, quoting with embedded commas and newlines, the four timestamp forms, thousands separators, stray
spaces, full-width characters, numbers as text in spreadsheets, title and 合计 rows, unknown JSON keys,
blank lines, fractional seconds; the folders carry noise (README.txt, _SUCCESS, lock files).

Defects (`defect_rate` r > 0)
-----------------------------
Each data row independently, with probability r, gets exactly one defect from its feed's classes: a row
defect (quarantined), a field defect (loads with a warning), or an exact duplicate (a copy later in the
same file or in a later delivery of the feed). A few whole-file defects are added besides: a hotline
file without 登记时间, an empty file, undecodable bytes, an .xlsx that is not a zip, and a file delivered
again on a later night. Defects and cosmetics draw from their own seeded streams, so the business
model under a given seed is the same whatever r is.

Ground truth
------------
Computed from the generator's own model, not by running the ingestion: per file the status and counts
(and the source row of every quarantined, duplicate and warned row), per feed the totals and the state
after newest-wins. It assumes files are loaded night by night in delivery order, files of a night in
name order (as `cei.ingest.load` does). Reason codes are those of `cei.ingest.rows`/`readers`.

Modules
-------
world (the seeded streams, regions, units, enterprises and callers of one generation, the records
passed between the modules, calendar and formatting helpers) · hotline, odr, inspection, returns (one
simulation per feed, with its realism tables and export styles) · defects (row and file defects) ·
writers (the bytes of CSV, JSON Lines and XLSX files) · truth (the ground truth and its accounting) ·
deliveries (`generate`: the steps in order, and the noise beside the deliveries).
"""

from cei.synthetic.deliveries import generate
from cei.synthetic.truth import FeedTruth, FileTruth, GroundTruth

__all__ = ["FeedTruth", "FileTruth", "GroundTruth", "generate"]
