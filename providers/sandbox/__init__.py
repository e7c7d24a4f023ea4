"""A stand-in for PiAPI that speaks its task API, so the pipeline runs with no key or network."""
