"""The command line answers bad arguments with one line on standard error and exit status 1."""

import pytest

from cei import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--landing", "{tmp}", "--date", "2026-13-01"], "bad date '2026-13-01'"),
        (["run", "--landing", "{tmp}", "--date", "yesterday"], "bad date 'yesterday'"),
        (["run", "--landing", "{tmp}/missing", "--date", "2026-07-01"], "does not exist"),
        (["run", "--landing", "{tmp}", "--all"], "no delivery-date folders"),
        (["calendar", "import", "{tmp}/2027.csv"], "2027.csv: cannot read it"),
    ],
)
def test_expected_failures_are_one_line(tmp_path, capsys, args, message):
    code = cli.main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("cei: error: ") and message in err and err.count("\n") == 1


def test_argument_errors_exit_non_zero(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--date", "2026-07-01"])
    assert e.value.code == 2
    assert "--landing" in capsys.readouterr().err
