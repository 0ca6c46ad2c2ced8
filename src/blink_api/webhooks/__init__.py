"""Webhooks: subscriptions of other systems to what happens here, and their signed deliveries."""
