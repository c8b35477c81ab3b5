"""A local Tryton sandbox: create a database (``kobling tryton init``) and serve it.

GPL boundary: nothing here imports ``trytond`` or ``proteus``. Tryton lives in its own
virtualenv (``.venv-tryton``, built by ``make tryton-env`` from ``requirements-tryton.txt``);
this module only starts that virtualenv's programs as subprocesses:

* ``trytond-admin`` creates the SQLite database and activates the modules;
* ``python setup_database.py`` (a data file of this package, run by the Tryton virtualenv's
  interpreter) sets up company, chart, fiscal years, taxes and rules, and a REST key;
* ``trytond`` serves it on 127.0.0.1.

Everything the setup needs to know is decided here and handed over as a JSON spec: which
countries, currencies and rates, and the dated VAT rates, taken from Kobling's own rate table
(``kobling.accounting.vat_rates``) so Tryton and Kobling agree on every rate and its dates.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pycountry

from kobling.accounting import vat_rates

DATABASE = "kobling"
CONFIG_FILE = "trytond.conf"
INFO_FILE = "kobling-tryton.json"
PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password
ADMIN_LOG = "trytond-admin.log"
SETUP_LOG = "setup.log"
SERVER_LOG = "trytond.log"
DEFAULT_PORT = 8765
ADMIN_EMAIL = "admin@example.invalid"
SETUP_SCRIPT = Path(__file__).with_name("setup_database.py")

# What ``trytond-admin -u`` activates; ``--activate-dependencies`` adds ir, res, country,
# currency, party, company, product and account.
MODULES = (
    "account_invoice",
    "account_product",
    "account_tax_rule_country",
    "account_eu",
    "account_payment",
)

COMPANY_NAME = "Kobling Sandbox ApS"
CHART = "account.account_template_root_en"  # the Universal Chart of Accounts

# Accounts of the Universal Chart the setup uses, by role.
ACCOUNT_CODES = {
    "receivable": "1.2.1",  # Accounts, Notes And Loans Receivable
    "payable": "2.1.1",  # Trade Payables
    "revenue": "4.1.1",  # Revenue: Goods
    "expense": "5.1.1",  # Merchandise, Material, Parts And Supplies
    "output_vat": "2.2.3",  # Accrued Taxes (Other Than Payroll)
    "currency_exchange": "6.2.1",  # Foreign Currency Transaction Gain (Loss)
    "cash": "1.1.1",  # Cash and Cash Equivalents
}

# The countries whose taxes the sandbox carries, with the rate categories it creates (named as
# in kobling.accounting.vat_rates). A company in another EU country gets its own standard and
# reduced rates too.
TAX_CATEGORIES: dict[str, tuple[str, ...]] = {
    "DK": ("standard",),
    "DE": ("standard", "reduced"),
    "NL": ("standard", "reduced"),
    "SE": ("standard", "reduced", "reduced2"),
    "FI": ("standard", "reduced"),
    "FR": ("standard", "reduced"),
}
HOME_CATEGORIES = ("standard", "reduced")
EXPORT_COUNTRIES = ("NO", "GB", "US", "CH")

# Sandbox exchange rates, units per EUR, dated 1 January of the first fiscal year. DKK is the
# ERM II central rate; SEK a round figure. Not market data: a real setup imports rates.
PER_EUR = {"EUR": "1", "DKK": "7.46038", "SEK": "11.00"}
CURRENCY_SYMBOLS = {"EUR": "€", "DKK": "kr", "SEK": "kr"}

TIMEZONES = {
    "DK": "Europe/Copenhagen",
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "SE": "Europe/Stockholm",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
}

SPECIAL_TAXES = {
    "reverse_charge": {
        "name": "EU B2B reverse charge 0%",
        "vatex": "VATEX-EU-IC",  # intra-Community supply
        "ec_sales_list_code": "L",  # goods, on the EC sales list
    },
    "export": {"name": "Export outside the EU 0%", "vatex": "VATEX-EU-G"},
}


class TrytonLocalError(RuntimeError):
    """Setting up or serving the local Tryton failed; the message says why and what to do."""


@dataclass(frozen=True)
class LocalTryton:
    """A local Tryton database made by :func:`init_database`, as recorded in ``INFO_FILE``."""

    directory: Path
    database: str
    port: int
    url: str
    key: str
    company: int
    info: Mapping[str, Any] = field(repr=False)
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def info_file(self) -> Path:
        return self.directory / INFO_FILE

    @property
    def database_file(self) -> Path:
        return self.directory / f"{self.database}.sqlite"

    @classmethod
    def load(cls, directory: Path) -> LocalTryton:
        directory = Path(directory).resolve()
        path = directory / INFO_FILE
        if not path.is_file():
            raise TrytonLocalError(
                f"{path} not found: {directory} holds no Kobling Tryton database; "
                f"create one with `kobling tryton init {directory}`"
            )
        info = json.loads(path.read_text())
        return cls(
            directory=directory,
            database=str(info["database"]),
            port=int(info["port"]),
            url=str(info["url"]),
            key=str(info["key"]),
            company=int(info["company"]),
            info=info,
            timings={k: float(v) for k, v in info.get("timings", {}).items()},
        )


# --- the Tryton virtualenv --------------------------------------------------------------------


def find_venv() -> Path:
    """The Tryton virtualenv: ``$KOBLING_TRYTON_VENV``, else ``.venv-tryton`` in the current
    directory or in the checkout this module was loaded from."""
    explicit = os.environ.get("KOBLING_TRYTON_VENV")
    candidates = (
        [Path(explicit)]
        if explicit
        else [Path.cwd() / ".venv-tryton", Path(__file__).resolve().parents[4] / ".venv-tryton"]
    )
    for candidate in candidates:
        if (candidate / "bin" / "trytond").is_file():
            return candidate.resolve()
    where = " or ".join(str(c) for c in candidates)
    raise TrytonLocalError(
        f"no Tryton virtualenv at {where}; build it with `make tryton-env` in the Kobling "
        "checkout (or point KOBLING_TRYTON_VENV at one made from requirements-tryton.txt)"
    )


def _subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for Tryton's programs: Kobling's own virtualenv left out."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("TRYTOND_")
    }
    env.update(extra or {})
    return env


# --- the spec handed to setup_database.py -------------------------------------------------------


def _country_info(code: str) -> dict[str, str]:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise TrytonLocalError(f"unknown country code {code!r}: use ISO 3166-1 alpha-2 (DK, DE)")
    name = getattr(country, "common_name", None) or country.name
    return {"name": str(name), "code3": str(country.alpha_3), "numeric": str(country.numeric)}


def _currency_info(code: str) -> dict[str, Any]:
    currency = pycountry.currencies.get(alpha_3=code)
    assert currency is not None, code
    return {
        "code": code,
        "name": str(currency.name),
        "numeric": str(currency.numeric),
        "symbol": CURRENCY_SYMBOLS[code],
        "rounding": "0.01",
        "digits": 2,
        "per_eur": PER_EUR[code],
    }


def tax_periods(country: str, category: str) -> list[dict[str, str | None]]:
    """The dated rates of one category from Kobling's rate table, equal neighbours merged.

    ``from``/``until`` are inclusive ISO dates; ``None`` means open-ended (the table's first
    entry marks the start of its coverage, not the day the rate was introduced).
    """
    entries = sorted(
        (r for r in vat_rates.all_rates() if r.country == country and r.category == category),
        key=lambda r: r.valid_from,
    )
    merged: list[list[Any]] = []
    for rate in entries:
        if merged and merged[-1][0] == rate.rate and merged[-1][2] == rate.valid_from:
            merged[-1][2] = rate.valid_to
        else:
            merged.append([rate.rate, rate.valid_from, rate.valid_to])
    periods: list[dict[str, str | None]] = []
    for index, (rate, start, end) in enumerate(merged):
        periods.append(
            {
                "rate": f"{rate:f}",
                "from": None if index == 0 else start.isoformat(),
                "until": (end - timedelta(days=1)).isoformat() if end else None,
            }
        )
    return periods


def build_spec(country: str, currency: str, today: date) -> dict[str, Any]:
    """What setup_database.py creates, as plain JSON."""
    country = country.strip().upper()
    currency = currency.strip().upper()
    if not vat_rates.is_eu(country, today):
        raise TrytonLocalError(
            f"the sandbox company must be in an EU member state (got {country}): its taxes and "
            "OSS rules come from Kobling's EU VAT table"
        )
    if currency not in PER_EUR:
        raise TrytonLocalError(
            f"currency {currency} is not set up in the sandbox; choose one of "
            f"{', '.join(sorted(PER_EUR))}"
        )
    categories = dict(TAX_CATEGORIES)
    if country not in categories:
        have = {r.category for r in vat_rates.all_rates() if r.country == country}
        categories[country] = tuple(c for c in HOME_CATEGORIES if c in have)
    taxes = [
        {"country": cc, "category": cat, "periods": tax_periods(cc, cat)}
        for cc, cats in categories.items()
        for cat in cats
    ]
    countries = sorted({country, *categories, *EXPORT_COUNTRIES})
    return {
        "company": {
            "name": COMPANY_NAME,
            "country": country,
            "currency": currency,
            "timezone": TIMEZONES.get(country),
            "street": "Sandkassevej 1",
            "postal_code": "",
            "city": "",
        },
        "countries": {code: _country_info(code) for code in countries},
        "currencies": [_currency_info(code) for code in sorted(PER_EUR)],
        "rate_date": date(today.year - 1, 1, 1).isoformat(),
        "years": [today.year - 1, today.year, today.year + 1],
        "chart": CHART,
        "account_codes": ACCOUNT_CODES,
        "taxes": taxes,
        "special_taxes": SPECIAL_TAXES,
    }


# --- init ------------------------------------------------------------------------------------


def existing_database(directory: Path) -> list[Path]:
    """The files that show ``directory`` already holds a Tryton database (empty: none)."""
    if not directory.exists():
        return []
    found = [directory / name for name in (CONFIG_FILE, INFO_FILE) if (directory / name).exists()]
    return found + sorted(directory.glob("*.sqlite"))


def write_config(directory: Path, port: int) -> Path:
    """``trytond.conf``: SQLite databases in ``directory``, listening on 127.0.0.1:``port``."""
    path = directory / CONFIG_FILE
    path.write_text(
        "# Written by `kobling tryton init`. SQLite databases live in this directory.\n"
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {directory}\n"
        "\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port}\n"
    )
    return path


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def _run_logged(
    args: list[str],
    log_path: Path,
    what: str,
    *,
    env: Mapping[str, str],
    stdin: str | None = None,
) -> str:
    """Run ``args``; stderr goes to ``log_path``; stdout is returned. Fails with the log's tail."""
    with log_path.open("w") as log:
        result = subprocess.run(
            args,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=dict(env),
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise TrytonLocalError(
            f"{what} failed (exit {result.returncode}); the end of {log_path}:\n{tail}"
        )
    return result.stdout


def _activate_and_set_up(
    venv: Path, config: Path, database: str, password_file: Path, spec: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Run trytond-admin, then setup_database.py; return the timings and the setup's result."""
    env = _subprocess_env()
    timings: dict[str, float] = {}
    started = time.monotonic()
    _run_logged(
        [
            str(venv / "bin" / "trytond-admin"),
            "-c",
            str(config),
            "-d",
            database,
            "--email",
            ADMIN_EMAIL,
            "-u",
            *MODULES,
            "--activate-dependencies",
        ],
        config.parent / ADMIN_LOG,
        "trytond-admin (create database and activate modules)",
        env={**env, "TRYTONPASSFILE": str(password_file)},
    )
    timings["activate_modules_s"] = round(time.monotonic() - started, 2)

    started = time.monotonic()
    output = _run_logged(
        [
            str(venv / "bin" / "python"),
            str(SETUP_SCRIPT),
            "--config",
            str(config),
            "--database",
            database,
        ],
        config.parent / SETUP_LOG,
        "setup_database.py (company, chart, fiscal years, taxes, key)",
        env=env,
        stdin=json.dumps(spec),
    )
    timings["setup_s"] = round(time.monotonic() - started, 2)
    try:
        result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise TrytonLocalError(
            f"setup_database.py printed no result; see {config.parent / SETUP_LOG}"
        ) from exc

    return timings, result


def init_database(
    directory: Path,
    port: int = DEFAULT_PORT,
    country: str = "DK",
    currency: str = "DKK",
    *,
    database: str = DATABASE,
    venv: Path | None = None,
    today: date | None = None,
) -> LocalTryton:
    """Create, activate and set up a Tryton database in ``directory``; write ``INFO_FILE``.

    Refuses a directory that already holds a database. Takes about 20-30 s (module activation).
    """
    directory = Path(directory).resolve()
    existing = existing_database(directory)
    if existing:
        raise TrytonLocalError(
            f"{directory} already holds a Tryton database ({', '.join(p.name for p in existing)});"
            f" serve it with `kobling tryton serve {directory}`, or choose an empty directory"
        )
    today = today or date.today()
    spec = build_spec(country, currency, today)
    venv = venv or find_venv()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    config = write_config(directory, port)
    # The SQLite backend does not create the file. It will hold the key and the admin's
    # password hash: owner only.
    (directory / f"{database}.sqlite").touch(mode=0o600)
    password = secrets.token_urlsafe(18)
    password_file = directory / PASSWORD_FILE
    _write_private(password_file, password + "\n")

    try:
        timings, result = _activate_and_set_up(venv, config, database, password_file, spec)
    except TrytonLocalError as exc:
        raise TrytonLocalError(
            f"{exc}\n{directory} now holds a half-made database: delete that directory "
            "before running `kobling tryton init` again"
        ) from None

    url = f"http://127.0.0.1:{port}/{database}/"
    info: dict[str, Any] = {
        "url": url,
        "key": result.pop("key"),
        "database": database,
        "company": result.pop("company"),
        "port": port,
        "directory": str(directory),
        "config_file": str(config),
        "database_file": str(directory / f"{database}.sqlite"),
        "admin_login": "admin",
        "admin_password_file": str(password_file),
        "modules": list(MODULES),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **result,
        "timings": timings,
    }
    _write_private(directory / INFO_FILE, json.dumps(info, indent=2, sort_keys=False) + "\n")
    return LocalTryton.load(directory)


# --- serve -----------------------------------------------------------------------------------


def serve(
    directory: Path,
    *,
    port: int | None = None,
    venv: Path | None = None,
    log: Path | IO[Any] | None = None,
    preload: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``trytond`` for the database in ``directory`` and return the process.

    ``port`` overrides the configured one; ``log`` (a path, appended to, or an open file)
    receives the server's output (default: inherited). ``preload`` loads the database's pool
    at start so the first request is fast. Wait for it with :func:`wait_until_listening`; stop
    it with ``terminate()``.
    """
    directory = Path(directory).resolve()
    config = directory / CONFIG_FILE
    if not config.is_file():
        raise TrytonLocalError(
            f"{config} not found; create the database with `kobling tryton init {directory}`"
        )
    venv = venv or find_venv()
    args = [str(venv / "bin" / "trytond"), "-c", str(config)]
    info_file = directory / INFO_FILE
    if preload and info_file.is_file():
        args += ["-d", str(json.loads(info_file.read_text())["database"])]
    extra = {"TRYTOND_WEB__LISTEN": f"127.0.0.1:{port}"} if port else {}
    output = log.open("ab") if isinstance(log, Path) else log
    try:
        return subprocess.Popen(
            args,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            stdin=subprocess.DEVNULL,
            env=_subprocess_env(extra),
        )
    finally:
        if isinstance(log, Path) and output is not None:
            output.close()  # the child has its own copy


def configured_port(directory: Path) -> int:
    for line in (Path(directory) / CONFIG_FILE).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "listen":
            return int(value.strip().rsplit(":", 1)[1])
    return DEFAULT_PORT


def wait_until_listening(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> float:
    """Wait until something accepts connections on ``host:port``; return the seconds waited."""
    started = time.monotonic()
    while True:
        if process is not None and process.poll() is not None:
            raise TrytonLocalError(
                f"trytond exited with status {process.returncode} before listening on "
                f"{host}:{port}; see its log (is the port taken?)"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise TrytonLocalError(
                f"trytond did not listen on {host}:{port} within {timeout:.0f} s"
            )
        time.sleep(0.05)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server started by :func:`serve` (SIGTERM, then SIGKILL)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def copy_database(directory: Path, source: str, target: str) -> Path:
    """Copy an activated database file (ms): the cheap way to give each test its own database."""
    directory = Path(directory)
    destination = directory / f"{target}.sqlite"
    # SQLite's backup API, not a file copy: consistent even if a write-ahead log is pending.
    with (
        closing(sqlite3.connect(directory / f"{source}.sqlite")) as origin,
        closing(sqlite3.connect(destination)) as copy,
    ):
        origin.backup(copy)
    return destination


def describe(local: LocalTryton, out: IO[str] = sys.stdout) -> None:
    """Print where things are."""
    info = local.info
    lines = [
        f"Tryton database  {local.database_file}",
        f"config           {local.config_file}",
        f"connection info  {local.info_file}  (mode 0600: holds the REST key)",
        f"admin password   {info.get('admin_password_file')}  (login 'admin', mode 0600)",
        f"REST URL         {local.url}rest/  (Authorization: Bearer <key from the info file>)",
        f"company          {COMPANY_NAME} (id {local.company}, {info.get('company_country')}, "
        f"{info.get('company_currency')})",
        f"fiscal years     {', '.join(sorted(info.get('fiscal_years', {})))} (monthly periods)",
    ]
    timings = ", ".join(f"{k} {v} s" for k, v in local.timings.items())
    if timings:
        lines.append(f"took             {timings}")
    lines.append(f"serve it with    kobling tryton serve {local.directory}")
    out.write("\n".join(lines) + "\n")


# --- a connection to the sandbox ------------------------------------------------------------


def tax_map(info: Mapping[str, Any]) -> dict[str, int]:
    """Kobling's VAT codes ('DE:19', 'FI:25.5', 'reverse_charge') → the sandbox's tax ids.

    A tax whose rate changed is one parent with dated children in Tryton, so every rate it ever
    had maps to the parent; Tryton applies the child valid on the invoice date.
    """
    mapped: dict[str, int] = {}
    for country, categories in info["taxes"].items():
        if not isinstance(categories, dict):
            continue
        for category, tax_id in categories.items():
            for period in tax_periods(country, category):
                rate = Decimal(str(period["rate"])).normalize()
                mapped[f"{country}:{rate:f}"] = int(tax_id)
    mapped["reverse_charge"] = int(info["taxes"]["reverse_charge"])
    mapped["export"] = int(info["taxes"]["export"])
    return mapped


def connection_settings(local: LocalTryton) -> tuple[dict[str, Any], dict[str, Any]]:
    """(credentials, target settings) for a Kobling connection to this sandbox database."""
    info = local.info
    password_file = Path(str(info.get("admin_password_file") or local.directory / PASSWORD_FILE))
    credentials = {
        "application_key": local.key,
        "login": str(info.get("admin_login", "admin")),
        "password": password_file.read_text().strip(),
    }
    methods = {str(k): int(v) for k, v in dict(info.get("payment_methods", {})).items()}
    settings: dict[str, Any] = {
        "company": local.company,
        "receivable_account": int(info["accounts"]["receivable"]),
        "revenue_account": int(info["accounts"]["revenue"]),
        "journal": int(info["journals"]["revenue"]),
        "taxes": tax_map(info),
        "product_category": int(info["product_category"]),
    }
    if "Card" in methods:
        settings["default_payment_method"] = methods["Card"]
    return credentials, settings


@contextmanager
def running_sandbox(directory: Path, *, out: IO[str] = sys.stderr) -> Iterator[LocalTryton]:
    """A served sandbox Tryton in ``directory``: created first if missing, stopped afterwards.

    For ``kobling run --tryton DIR`` and ``kobling demo --target tryton``: one command, no
    separate ``kobling tryton serve``. A directory made earlier keeps its port; a new one gets
    a free port, so two demos never collide.
    """
    directory = Path(directory)
    venv = find_venv()
    if not (directory / INFO_FILE).exists():
        print(f"Creating a Tryton database in {directory} (takes about 30 s) ...", file=out)
        init_database(directory, port=free_port(), venv=venv)
    local = LocalTryton.load(directory)
    process = serve(directory, venv=venv, log=directory / SERVER_LOG)
    try:
        wait_until_listening(local.port, process=process)
        print(f"Tryton is serving {local.url}", file=out)
        yield local
    finally:
        stop(process)
