"""The chaos run: the sandbox under the failures real systems have, checked against the books.

``kobling chaos --orders N [--workers K]`` (docs/chaos.md) starts real worker processes
against the simulators with faults injected, kills them at random, restarts PostgreSQL once,
and at the end reconciles the shop with the target: no order may be missing, none booked
twice, no total off by a cent.
"""
