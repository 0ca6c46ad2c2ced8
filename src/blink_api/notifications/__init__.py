"""E-mail notifications: an outbox written with each change, delivered by a worker."""
