"""`make bench`: the service measured against minimal baselines in the same run (see README)."""
