"""The persistent store: campaigns, customers, call attempts and their audit trail.

SQLModel tables (:mod:`~callbot.store.models`), Alembic migrations and engines
(:mod:`~callbot.store.db`), the retry policy (:mod:`~callbot.store.retry`), the service
functions the dialer and the API call (:mod:`~callbot.store.repo`) and campaign reports
(:mod:`~callbot.store.report`). SQLite (WAL) is the embedded default; PostgreSQL is supported
for several dialer workers.
"""
