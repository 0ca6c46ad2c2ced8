"""Site documents ("Dokumente pro Objekt"): attachments of chosen ticket types offered on a site."""
