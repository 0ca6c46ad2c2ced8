"""What an upload becomes: checked against the allow-list, images normalised, bytes stored under
generated keys with their attachment rows, and sent back with safe headers. Who may reach which file
is decided above, in `tickets` and `attachments`."""
