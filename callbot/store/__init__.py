"""The persistent store: campaigns, customers, call attempts and their audit trail.

SQLModel tables (:mod:`~callbot.store.models`), engines and Alembic migrations
(:mod:`~callbot.store.db`, ``migrations/``), the retry policy (:mod:`~callbot.store.retry`),
the dialer's claims and results (:mod:`~callbot.store.dialing`), campaign reports
(:mod:`~callbot.store.report`) and the service functions the dialer and the API call, all
importable from :mod:`~callbot.store.repo`. SQLite (WAL) is the embedded default; PostgreSQL
is supported for several dialer workers sharing one campaign.
"""
