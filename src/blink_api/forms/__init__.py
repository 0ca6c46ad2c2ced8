"""Check forms: templates with conditional elements, submissions that raise tickets with the form as PDF."""
