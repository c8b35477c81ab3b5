"""Tryton 8.2 (an open-source ERP with real double-entry accounting) as a target: foundation.

Tryton is GPL. Kobling never imports ``trytond`` or ``proteus``: Tryton runs from its own
virtualenv (``.venv-tryton``, ``make tryton-env``) as a separate server, and Kobling talks to it
over its REST API with an application key (``client.py``). ``local.py`` creates and serves a
local sandbox database; ``setup_database.py`` is a data file run by the Tryton virtualenv's
python. Not registered as a connector yet: there is no ``target.py`` (see docs/tryton.md).
"""
