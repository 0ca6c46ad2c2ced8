"""Schedules: recurring jobs and inspections that raise tickets on their dates."""
