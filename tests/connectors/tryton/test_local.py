"""The local sandbox's plumbing that needs no Tryton, and the GPL boundary."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kobling.connectors.tryton import local
from kobling.connectors.tryton.cli import tryton_app

SRC = Path(local.__file__).resolve().parents[2]  # src/kobling


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_kobling_never_imports_trytond_or_proteus() -> None:
    """GPL boundary: only the setup script (run by .venv-tryton's python) may import them."""
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path != local.SETUP_SCRIPT and imported_modules(path) & {"trytond", "proteus"}
    ]
    assert offenders == []
    assert "proteus" in imported_modules(local.SETUP_SCRIPT)
    assert 'if __name__ != "__main__"' in local.SETUP_SCRIPT.read_text()


def test_finnish_rates_come_dated_from_koblings_table() -> None:
    assert local.tax_periods("FI", "standard") == [
        {"rate": "24", "from": None, "until": "2024-08-31"},
        {"rate": "25.5", "from": "2024-09-01", "until": None},
    ]
    assert local.tax_periods("FI", "reduced") == [
        {"rate": "14", "from": None, "until": "2025-12-31"},
        {"rate": "13.5", "from": "2026-01-01", "until": None},
    ]
    # Two table entries at the same 12 % (split for a note) become one tax.
    assert local.tax_periods("SE", "reduced") == [{"rate": "12", "from": None, "until": None}]


def test_spec_covers_the_asked_countries_and_years() -> None:
    spec = local.build_spec("dk", "dkk", date(2026, 11, 21))
    assert spec["company"]["country"] == "DK"
    assert spec["company"]["currency"] == "DKK"
    assert spec["years"] == [2025, 2026, 2027]
    rates = {
        (t["country"], t["category"]): [p["rate"] for p in t["periods"]] for t in spec["taxes"]
    }
    assert rates == {
        ("DK", "standard"): ["25"],
        ("DE", "standard"): ["19"],
        ("DE", "reduced"): ["7"],
        ("NL", "standard"): ["21"],
        ("NL", "reduced"): ["9"],
        ("SE", "standard"): ["25"],
        ("SE", "reduced"): ["12"],
        ("SE", "reduced2"): ["6"],
        ("FI", "standard"): ["24", "25.5"],
        ("FI", "reduced"): ["14", "13.5"],
        ("FR", "standard"): ["20"],
        ("FR", "reduced"): ["5.5"],
    }
    assert {c["code"] for c in spec["currencies"]} == {"DKK", "EUR", "SEK"}
    assert spec["countries"]["DE"]["name"] == "Germany"


def test_a_company_elsewhere_in_the_eu_gets_its_own_rates() -> None:
    spec = local.build_spec("AT", "EUR", date(2026, 11, 21))
    categories = [t["category"] for t in spec["taxes"] if t["country"] == "AT"]
    assert categories == ["standard", "reduced"]


@pytest.mark.parametrize(
    ("country", "currency", "words"),
    [("NO", "DKK", "EU member state"), ("DK", "NOK", "DKK, EUR, SEK")],
)
def test_spec_refuses_what_the_sandbox_cannot_set_up(
    country: str, currency: str, words: str
) -> None:
    with pytest.raises(local.TrytonLocalError, match=words):
        local.build_spec(country, currency, date(2026, 11, 21))


def test_init_refuses_a_directory_that_holds_a_database(tmp_path: Path) -> None:
    (tmp_path / "kobling.sqlite").touch()
    result = CliRunner().invoke(tryton_app, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "already holds a Tryton database (kobling.sqlite)" in result.output
    assert "Creating" not in result.output


def test_missing_virtualenv_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KOBLING_TRYTON_VENV", str(tmp_path / "nowhere"))
    with pytest.raises(local.TrytonLocalError, match="make tryton-env"):
        local.find_venv()


def test_config_points_at_the_directory_and_loopback(tmp_path: Path) -> None:
    text = local.write_config(tmp_path, 8799).read_text()
    assert f"path = {tmp_path}" in text
    assert "uri = sqlite://" in text
    assert "listen = 127.0.0.1:8799" in text
    assert local.configured_port(tmp_path) == 8799


def test_serve_without_init_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(tryton_app, ["serve", str(tmp_path)])
    assert result.exit_code == 1
    assert "kobling tryton init" in result.output


def test_init_runs_trytond_admin_non_interactively_and_reports_a_failure(
    tmp_path: Path,
) -> None:
    """A stand-in trytond-admin records how it was called and fails like a real one would."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "trytond").touch()
    record = tmp_path / "called.txt"
    admin = venv / "bin" / "trytond-admin"
    admin.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {record}\n'
        f'echo "pass=$(cat "$TRYTONPASSFILE")" >> {record}\n'
        'echo "MissingDependenciesException: Missing dependencies: country" >&2\n'
        "exit 3\n"
    )
    admin.chmod(0o755)
    directory = tmp_path / "db"

    with pytest.raises(local.TrytonLocalError) as caught:
        local.init_database(directory, port=8799, venv=venv)

    message = str(caught.value)
    assert "trytond-admin (create database and activate modules) failed (exit 3)" in message
    assert "Missing dependencies: country" in message  # the log's tail is shown
    assert "delete that directory" in message
    args, password_line = record.read_text().splitlines()
    assert args == (
        f"-c {directory / 'trytond.conf'} -d kobling --email admin@example.invalid "
        "-u account_invoice account_product account_tax_rule_country account_eu "
        "account_payment --activate-dependencies"
    )
    password = (directory / "admin-password").read_text().strip()
    assert password_line == f"pass={password}"
    assert (directory / "admin-password").stat().st_mode & 0o777 == 0o600
    assert (directory / "kobling.sqlite").exists()  # touched first: SQLite does not create it
