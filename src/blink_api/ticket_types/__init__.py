"""Ticket types: per tenant, either standard tickets or absence requests."""
