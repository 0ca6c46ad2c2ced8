"""Sites: the buildings and locations served for a customer."""
