"""Employees and the permission groups that grant them permissions."""
