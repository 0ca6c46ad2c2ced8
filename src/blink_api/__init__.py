"""Blink API: tickets, customer portal and inspection forms for facility-services companies."""

__version__ = "0.1.0"
