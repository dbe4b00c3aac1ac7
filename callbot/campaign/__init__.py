"""Running outbound campaigns: setting one up from files, and the worker that calls."""
