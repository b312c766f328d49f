"""The SQLAlchemy store: embedded SQLite by default, PostgreSQL in production.

Drivers' errors are translated here into :mod:`workflow.errors` (``StoreUnavailable``,
``ConcurrentUpdate``, ...); nothing above this package sees a SQLAlchemy exception.
"""
