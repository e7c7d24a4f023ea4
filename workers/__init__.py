"""Celery workers: `celery -A workers worker -Q submit,poll` finds the app here."""

from workers.celery_app import app

__all__ = ["app"]
