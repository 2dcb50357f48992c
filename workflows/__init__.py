"""Temporal workflows with their activities and worker."""
