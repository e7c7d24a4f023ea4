"""The `videogen` command: a client of the HTTP API, importing nothing of the service."""
