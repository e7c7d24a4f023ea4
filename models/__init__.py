"""Shared persistence: settings, engine/session plumbing, and the job table with its transitions."""
