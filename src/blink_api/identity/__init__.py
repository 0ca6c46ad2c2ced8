"""Accounts, log-in, tokens and the principals every request is made by."""
