"""Postal addresses with ISO 3166-1 alpha-2 country codes."""

from __future__ import annotations

from dataclasses import dataclass


def check_country(code: str) -> str:
    """Return an upper-case ISO 3166-1 alpha-2 code, or raise naming the fix."""
    normal = code.strip().upper()
    if len(normal) != 2 or not normal.isalpha():
        raise ValueError(
            f"country {code!r} is not an ISO 3166-1 alpha-2 code such as 'DK' or 'DE': "
            "set the country on the address in the shop"
        )
    return normal


@dataclass(frozen=True, slots=True)
class Address:
    """A billing or shipping address as the customer gave it."""

    country: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""
    state: str = ""
    email: str = ""
    phone: str = ""

    def __post_init__(self) -> None:
        # An empty country is allowed here: the plan holds such an order with the reason
        # ("its VAT cannot be determined") instead of the order failing to be read at all.
        if self.country:
            object.__setattr__(self, "country", check_country(self.country))

    @property
    def person_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip()

    @property
    def display_name(self) -> str:
        """The name a document is addressed to: the company if there is one, else the person."""
        return self.company or self.person_name

    @property
    def street(self) -> str:
        return ", ".join(part for part in (self.street1, self.street2) if part)
