"""Ticket evaluation ("Ticket Auswertung"): closed tickets bucketed by resolution time in days."""
