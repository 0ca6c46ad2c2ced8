"""Attachments: files on tickets, sniffed, stored under generated keys, streamed back."""
