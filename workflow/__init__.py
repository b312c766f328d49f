"""lienthong's engine core: procedures as state machines, dossiers and their control sheet.

This package is pure: it does no I/O and imports nothing from ``adapters``. What it needs from
the outside world (the time, a store, a bus) it asks for through the small abstract classes in
:mod:`workflow.ports`.
"""
