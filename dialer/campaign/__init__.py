"""The campaign dialer's rules, without I/O: pacing (calls per second, concurrency) and
calling hours in each customer's own time zone. The runner that applies them to a stored
campaign lives in :mod:`callbot.campaign`."""
