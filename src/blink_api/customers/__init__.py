"""Customers: the companies served, with access to the customer portal."""
