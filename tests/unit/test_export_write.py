"""Export files are renamed into place in order, the manifest last: it alone marks a publication."""

import pytest

from cei.errors import CeiError
from cei.export.exporter import _write_atomically

FILES = [("a.rev1.csv", b"csv"), ("a.rev1.xlsx", b"xlsx"), ("a.rev1.json", b"{}")]


def test_files_left_by_a_writer_killed_between_renames_are_replaced(tmp_path):
    (tmp_path / "a.rev1.csv").write_bytes(b"half a publication")  # renamed before the kill
    (tmp_path / ".a.rev1.xlsx.x1.tmp").write_bytes(b"never renamed")
    _write_atomically(tmp_path, FILES, replace=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(name for name, _ in FILES)
    assert all((tmp_path / name).read_bytes() == data for name, data in FILES)


def test_a_complete_publication_is_never_overwritten(tmp_path):
    _write_atomically(tmp_path, FILES, replace=False)
    with pytest.raises(CeiError, match=r"a\.rev1\.json exists already"):
        _write_atomically(tmp_path, [(name, b"other") for name, _ in FILES], replace=False)
    assert all((tmp_path / name).read_bytes() == data for name, data in FILES)
