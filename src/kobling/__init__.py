"""Kobling: webshop orders into the books, exactly once and right to the cent."""

__version__ = "0.1.0"
