"""The HTTP API: a thin Flask layer that validates, commits a job row, and enqueues."""
