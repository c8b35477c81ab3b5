# mypy: ignore-errors
"""Set up a freshly activated Tryton database for Kobling (a data file, not a Kobling module).

GPL boundary: this script imports proteus (LGPL) and, through it, trytond (GPL). It is never
imported by Kobling; ``kobling tryton init`` runs it as a separate program with the Tryton
virtualenv's interpreter::

    .venv-tryton/bin/python setup_database.py --config DIR/trytond.conf --database NAME < spec.json

The spec (JSON on stdin) is computed by Kobling (``kobling.connectors.tryton.local``): company,
countries, currencies with rates, fiscal years and the dated VAT rates from Kobling's own rate
table. The script creates everything in one proteus session and prints one JSON object on
stdout with the ids Kobling needs (company, accounts, taxes, rules, ...) and the REST
application key. Progress goes to stderr.

What it creates:

* countries and the currencies with their rates (company currency = 1);
* the company (its party, address, currency, timezone);
* the Universal Chart of Accounts from ``account.account_template_root_en`` and the default
  accounts (receivable, payable, revenue, expense, currency exchange);
* one fiscal year per calendar year asked for, with monthly periods and strict sequences
  (moves; customer invoices ``INV<year>-``, customer credit notes ``CN<year>-``, supplier
  documents ``SUP<year>-``);
* sale taxes per country and category; a rate that changed is a parent tax with one dated child
  per rate, so Tryton picks the rate valid on the invoice date; a 0 % reverse-charge tax and a
  0 % export tax (with their VATEX codes from account_eu);
* tax rules: "EU OSS B2C" (home rate -> destination rate, per destination country, applied by
  Tryton where it knows the destination: sales and shipments), one "OSS B2C <CC>" rule per
  destination without a country condition (set as a customer's tax rule for invoices created
  directly), "EU B2B reverse charge" and "Export outside the EU";
* a product category "Goods" with its accounts and the home standard tax;
* a REST application key (``res.user.application``, application ``rest``) for the admin user.
"""

from __future__ import annotations

if __name__ != "__main__":  # pragma: no cover - a guard, see the module docstring
    raise ImportError(
        "setup_database.py is run by the Tryton virtualenv's python, never imported by Kobling"
    )

import argparse
import datetime as dt
import json
import sys
import time
from decimal import Decimal

from proteus import Model, Wizard
from proteus import config as proteus_config

START = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:5.1f}s] {message}", file=sys.stderr, flush=True)


def day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def percent(rate: Decimal) -> str:
    text = f"{rate.normalize():f}"
    return f"{text}%"


def validity(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"from {start}"
    if end:
        return f"until {end}"
    return "always"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    spec = json.load(sys.stdin)

    say(f"loading the Tryton pool for database {args.database!r}")
    config = proteus_config.set_trytond(database=args.database, config_file=args.config)
    result = Setup(config, spec).run()
    say("done")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


class Setup:
    def __init__(self, config, spec):
        self.config = config
        self.spec = spec
        self.home = spec["company"]["country"]

    def run(self):
        self.countries = self.create_countries()
        self.currencies = self.create_currencies()
        self.company = self.create_company()
        self.accounts = self.create_chart()
        self.fiscal_years = self.create_fiscal_years()
        self.group = self.create_tax_group()
        self.taxes = self.create_taxes()
        self.rules = self.create_tax_rules()
        payment_terms = self.payment_terms()
        category = self.create_product_category()
        journals = self.journals()
        payment_methods = self.create_payment_methods()
        key = self.create_application_key()
        return {
            "company": self.company.id,
            "company_party": self.company.party.id,
            "company_country": self.home,
            "company_currency": self.spec["company"]["currency"],
            "admin_user": self.admin.id,
            "countries": {code: c.id for code, c in self.countries.items()},
            "currencies": {code: c.id for code, c in self.currencies.items()},
            "accounts": {name: a.id for name, a in self.accounts.items()},
            "journals": journals,
            "fiscal_years": {name: fy.id for name, fy in self.fiscal_years.items()},
            "tax_group": self.group.id,
            "taxes": self.taxes_result(),
            "tax_rules": self.rules,
            "payment_terms": payment_terms,
            "product_category": category.id,
            "payment_methods": payment_methods,
            "key": key,
        }

    # --- master data ---------------------------------------------------------------------

    def create_countries(self):
        say("countries")
        Country = Model.get("country.country")
        existing = {c.code: c for c in Country.find([])}
        countries = {}
        for code, info in sorted(self.spec["countries"].items()):
            country = existing.get(code) or Country(
                name=info["name"],
                code=code,
                code3=info.get("code3"),
                code_numeric=info.get("numeric"),
            )
            country.save()
            countries[code] = country
        return countries

    def create_currencies(self):
        say("currencies and rates")
        Currency = Model.get("currency.currency")
        rate_date = day(self.spec["rate_date"])
        company_code = self.spec["company"]["currency"]
        per_eur = {c["code"]: Decimal(c["per_eur"]) for c in self.spec["currencies"]}
        currencies = {}
        for info in self.spec["currencies"]:
            currency = Currency(
                name=info["name"],
                code=info["code"],
                symbol=info["symbol"],
                numeric_code=info.get("numeric"),
                rounding=Decimal(info["rounding"]),
                digits=info["digits"],
            )
            # Tryton's rate: units of this currency for one unit of the base currency; the
            # company currency is the base (rate 1).
            rate = (per_eur[info["code"]] / per_eur[company_code]).quantize(Decimal("0.000001"))
            currency.rates.new(date=rate_date, rate=rate)
            currency.save()
            currencies[info["code"]] = currency
        return currencies

    def create_company(self):
        say("company")
        Party = Model.get("party.party")
        User = Model.get("res.user")
        info = self.spec["company"]
        party = Party(name=info["name"])
        address = party.addresses[0] if party.addresses else party.addresses.new()
        address.street = info.get("street", "")
        address.postal_code = info.get("postal_code", "")
        address.city = info.get("city", "")
        address.country = self.countries[info["country"]]
        party.save()

        wizard = Wizard("company.company.config")
        wizard.execute("company")
        company = wizard.form
        company.party = party
        company.currency = self.currencies[info["currency"]]
        if info.get("timezone"):
            company.timezone = info["timezone"]
        wizard.execute("add")
        self.config._context = User.get_preferences(True, {})
        Company = Model.get("company.company")
        (company,) = Company.find([("party", "=", party.id)])
        (self.admin,) = User.find([("login", "=", "admin")])
        return company

    def create_chart(self):
        say("chart of accounts (Universal Chart of Accounts)")
        AccountTemplate = Model.get("account.account.template")
        Account = Model.get("account.account")
        ModelData = Model.get("ir.model.data")
        template = AccountTemplate(ModelData.get_id(self.spec["chart"], self.config.context))
        wizard = Wizard("account.create_chart")
        wizard.execute("account")
        wizard.form.account_template = template
        wizard.form.company = self.company
        wizard.execute("create_account")

        def by_code(code):
            (account,) = Account.find(
                [("company", "=", self.company.id), ("code", "=", code)], limit=1
            )
            return account

        codes = self.spec["account_codes"]
        accounts = {name: by_code(code) for name, code in codes.items()}
        wizard.form.account_receivable = accounts["receivable"]
        wizard.form.account_payable = accounts["payable"]
        wizard.form.category_account_revenue = accounts["revenue"]
        wizard.form.category_account_expense = accounts["expense"]
        wizard.execute("create_properties")

        Configuration = Model.get("account.configuration")
        configuration = Configuration(1)
        configuration.currency_exchange_credit_account = accounts["currency_exchange"]
        configuration.currency_exchange_debit_account = accounts["currency_exchange"]
        # VAT rounded per line, as Kobling's plan (and most webshops) compute it; with the
        # default ("document") a multi-line invoice can differ from the shop by a cent.
        configuration.tax_rounding = "line"
        configuration.save()
        return accounts

    def create_fiscal_years(self):
        FiscalYear = Model.get("account.fiscalyear")
        StrictSequence = Model.get("ir.sequence.strict")
        SequenceType = Model.get("ir.sequence.type")
        (move_type,) = SequenceType.find([("name", "=", "Account Move")], limit=1)
        (invoice_type,) = SequenceType.find([("name", "=", "Invoice")], limit=1)

        def sequence(name, kind, prefix):
            seq = StrictSequence(
                name=name, sequence_type=kind, company=self.company, prefix=prefix, padding=5
            )
            seq.save()
            return seq

        years = {}
        for year in self.spec["years"]:
            say(f"fiscal year {year} with monthly periods and sequences")
            fiscal_year = FiscalYear(
                name=str(year),
                start_date=dt.date(year, 1, 1),
                end_date=dt.date(year, 12, 31),
                company=self.company,
            )
            fiscal_year.move_sequence = sequence(f"Moves {year}", move_type, f"M{year}-")
            (invoice_sequences,) = fiscal_year.invoice_sequences
            invoice_sequences.out_invoice_sequence = sequence(
                f"Customer invoices {year}", invoice_type, f"INV{year}-"
            )
            invoice_sequences.out_credit_note_sequence = sequence(
                f"Customer credit notes {year}", invoice_type, f"CN{year}-"
            )
            supplier = sequence(f"Supplier documents {year}", invoice_type, f"SUP{year}-")
            invoice_sequences.in_invoice_sequence = supplier
            invoice_sequences.in_credit_note_sequence = supplier
            fiscal_year.save()
            fiscal_year.click("create_period")
            years[str(year)] = fiscal_year
        return years

    # --- taxes ---------------------------------------------------------------------------

    def create_tax_group(self):
        Group = Model.get("account.tax.group")
        group = Group(name="VAT (sales)", code="VAT", kind="sale")
        group.save()
        return group

    def new_tax(self, name, rate, *, start=None, end=None, vatex=None, ec_code=None):
        Tax = Model.get("account.tax")
        tax = Tax(
            name=name,
            description=name,
            type="percentage",
            rate=rate,
            group=self.group,
            company=self.company,
            invoice_account=self.accounts["output_vat"],
            credit_note_account=self.accounts["output_vat"],
            start_date=start,
            end_date=end,
        )
        if vatex:
            tax.vatex_code = vatex
        if ec_code:
            tax.ec_sales_list_code = ec_code
        return tax

    def create_taxes(self):
        say("taxes")
        Tax = Model.get("account.tax")
        taxes = {}
        for entry in self.spec["taxes"]:
            country, category = entry["country"], entry["category"]
            periods = entry["periods"]
            if len(periods) == 1:
                (period,) = periods
                rate = Decimal(period["rate"])
                tax = self.new_tax(
                    f"{country} VAT {percent(rate)}",
                    rate / 100,
                    start=day(period["from"]),
                    end=day(period["until"]),
                )
            else:
                rates = "/".join(percent(Decimal(p["rate"])) for p in periods)
                tax = Tax(
                    name=f"{country} VAT {category} {rates}",
                    description=f"{country} VAT {category}",
                    type="none",
                    group=self.group,
                    company=self.company,
                )
                for period in periods:
                    rate = Decimal(period["rate"])
                    start, end = day(period["from"]), day(period["until"])
                    when = validity(start, end)
                    child = tax.childs.new()
                    child.name = f"{country} VAT {percent(rate)} ({when})"
                    child.description = f"{country} VAT {percent(rate)}"
                    child.type = "percentage"
                    child.rate = rate / 100
                    child.invoice_account = self.accounts["output_vat"]
                    child.credit_note_account = self.accounts["output_vat"]
                    child.start_date = start
                    child.end_date = end
            tax.save()
            taxes.setdefault(country, {})[category] = tax

        special = self.spec["special_taxes"]
        self.reverse_charge = self.new_tax(
            special["reverse_charge"]["name"],
            Decimal(0),
            vatex=special["reverse_charge"]["vatex"],
            ec_code=special["reverse_charge"]["ec_sales_list_code"],
        )
        self.reverse_charge.save()
        self.export = self.new_tax(
            special["export"]["name"], Decimal(0), vatex=special["export"]["vatex"]
        )
        self.export.save()
        return taxes

    def taxes_result(self):
        result = {
            country: {category: tax.id for category, tax in categories.items()}
            for country, categories in self.taxes.items()
        }
        result["reverse_charge"] = self.reverse_charge.id
        result["export"] = self.export.id
        return result

    def create_tax_rules(self):
        say("tax rules (OSS by destination, reverse charge, export)")
        Rule = Model.get("account.tax.rule")
        home = self.taxes[self.home]

        def oss_lines(rule, destination, with_country):
            for category, origin in home.items():
                target = self.taxes[destination].get(category)
                if target is None:
                    continue
                line = rule.lines.new()
                line.group = self.group
                line.origin_tax = origin
                line.tax = target
                if with_country:
                    line.to_country = self.countries[destination]

        destinations = [c for c in sorted(self.taxes) if c != self.home]
        oss = Rule(name="EU OSS B2C (by destination country)", kind="sale", company=self.company)
        for destination in destinations:
            oss_lines(oss, destination, with_country=True)
        oss.save()

        per_country = {}
        for destination in destinations:
            rule = Rule(name=f"OSS B2C {destination}", kind="sale", company=self.company)
            oss_lines(rule, destination, with_country=False)
            rule.save()
            per_country[destination] = rule.id

        def replace_all(name, tax):
            rule = Rule(name=name, kind="sale", company=self.company)
            line = rule.lines.new()
            line.group = self.group
            line.tax = tax
            rule.save()
            return rule.id

        return {
            "oss": oss.id,
            "oss_by_country": per_country,
            "reverse_charge": replace_all("EU B2B reverse charge", self.reverse_charge),
            "export": replace_all("Export outside the EU", self.export),
        }

    # --- the rest ------------------------------------------------------------------------

    def payment_terms(self):
        # account_invoice ships the usual terms ("Upon Receipt", "Net 30 days", ...).
        PaymentTerm = Model.get("account.invoice.payment_term")
        return {term.name: term.id for term in PaymentTerm.find([])}

    def create_product_category(self):
        Category = Model.get("product.category")
        category = Category(name="Goods", accounting=True)
        category.account_revenue = self.accounts["revenue"]
        category.account_expense = self.accounts["expense"]
        category.customer_taxes.append(
            Model.get("account.tax")(self.taxes[self.home]["standard"].id)
        )
        category.save()
        return category

    def journals(self):
        Journal = Model.get("account.journal")
        found = {}
        for kind in ["revenue", "expense", "cash", "general"]:
            journals = Journal.find([("type", "=", kind)], limit=1)
            if journals:
                found[kind] = journals[0].id
        return found

    def create_payment_methods(self):
        # What the invoice's pay wizard books a payment with: a journal and the account the
        # money arrives on (a card acquirer's clearing account in real life; cash here).
        say("payment methods")
        Method = Model.get("account.invoice.payment.method")
        Journal = Model.get("account.journal")
        (journal,) = Journal.find([("type", "=", "cash")], limit=1)
        found = {}
        for name in ["Card", "Bank transfer"]:
            method = Method(name=name, company=self.company, journal=journal)
            method.debit_account = self.accounts["cash"]
            method.credit_account = self.accounts["cash"]
            method.save()
            found[name] = method.id
        return found

    def create_application_key(self):
        say("REST application key")
        Application = Model.get("res.user.application")
        application = Application(user=self.admin, application="rest")
        application.save()
        if application.state != "validated":
            application.click("validate_")
        return application.key


main()
