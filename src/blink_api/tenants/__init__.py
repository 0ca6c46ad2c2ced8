"""Tenants: the legal entities or branches of the service company."""
