"""Service functions of the API: what the routes call. Each takes the session, the acting
user and the current time, checks access, writes the change and its audit entry in one
transaction, and raises the errors :mod:`api.errors` translates."""
