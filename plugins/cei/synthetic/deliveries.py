"""`generate`: one generation's delivery folders, written in a fixed order of steps.

The four simulations share the world's business-model stream and run in a fixed order (hotline, odr,
inspection, returns); the noise beside the deliveries (README.txt, _SUCCESS, lock files) is drawn from
the folders of the data files before the file defects are added, so it is the same whatever the
defect rate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from cei.settings import FEED_NAMES
from cei.synthetic import hotline, inspection, odr, returns
from cei.synthetic.defects import file_defects, inject_row_defects
from cei.synthetic.truth import GroundTruth, ground_truth
from cei.synthetic.world import Artifact, World
from cei.synthetic.writers import write_file


def generate(
    out: Path,
    *,
    scale: int,
    seed: int = 20260101,
    start: date = date(2026, 7, 1),
    days: int = 92,
    defect_rate: float = 0.0,
    versions_until: date | None = None,
    file_tag: str = "",
) -> GroundTruth:
    """Write deliveries for [start, start + days) under `out` and return (and write) the ground truth.

    `versions_until`: the last night on which work orders and disputes registered in the window
    are still delivered again as they change (default: the window's last day), so that windows
    generated one after another keep every version. `file_tag` goes into every file name, so that
    such windows' files can share a night's folder."""
    if scale < 1 or days < 1 or not 0.0 <= defect_rate <= 1.0:
        raise ValueError("scale and days must be positive and defect_rate within [0, 1]")
    if versions_until is not None and versions_until < start + timedelta(days=days - 1):
        raise ValueError("versions_until must not end before the window does")
    out = Path(out)
    # Mixing with an earlier generation would make the ground truth wrong; never delete anyone's files.
    busy = [f for f in FEED_NAMES if (out / f).is_dir() and any((out / f).iterdir())]
    if busy:
        raise FileExistsError(f"{out}: {', '.join(busy)} already hold files; generate into an empty folder")

    world = World(seed, start, days, scale, versions_until)
    hotline.simulate(world)
    odr.simulate(world)
    inspection.simulate(world)
    returns.simulate(world)
    if defect_rate > 0:
        inject_row_defects(world, defect_rate)
    artifacts = [write_file(world, f) for f in world.files.values()]
    noise = _noise(world, artifacts)
    if defect_rate > 0:
        artifacts += file_defects(world, artifacts, defect_rate)
    artifacts += noise
    if file_tag:
        artifacts = [replace(a, name=_tagged(a.name, file_tag)) for a in artifacts]

    for a in artifacts:
        path = out / a.feed / a.day.isoformat() / a.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(a.data)
    truth = ground_truth(artifacts, seed=seed, scale=scale, start=start, days=days, defect_rate=defect_rate)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ground_truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


def _noise(w: World, artifacts: list[Artifact]) -> list[Artifact]:
    """Files beside the deliveries that the ingestion must ignore (and log)."""
    rng = w.noise
    extra = []
    folders = sorted({(a.feed, a.day): a.name for a in artifacts}.items())
    for i, ((feed, day), name) in enumerate(folders):
        if feed == "odr":
            extra.append(Artifact(feed, day, "_SUCCESS", b"", ignore="marker or temporary file"))
        elif feed == "hotline" and (i == 0 or rng.random() < 0.08):
            text = "本目录为12315工单系统每日导出，字段说明见接口文档。\r\n"
            extra.append(Artifact(feed, day, "README.txt", text.encode("gb18030"), ignore="not a .csv file"))
        elif feed == "returns" and rng.random() < 0.15:
            lock = f",统计员,PC-{rng.randint(1, 40):02d},{day:%d.%m.%Y} 09:12,file:///C:/Users/统计员;"
            extra.append(Artifact(feed, day, f".~lock.{name}#", lock.encode("utf-8"),
                                  ignore="marker or temporary file"))
    return extra


def _tagged(name: str, tag: str) -> str:
    """`12315工单_20250105.csv` → `12315工单_20250105_w03.csv`."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_{tag}.{suffix}" if dot else f"{name}_{tag}"
