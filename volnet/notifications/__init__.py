"""Notifications: a durable outbox in the database, delivered by RQ jobs (or in-process without Redis)."""
