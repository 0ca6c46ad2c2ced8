"""Tickets: their lifecycle, comments, internal notes, history and search."""
