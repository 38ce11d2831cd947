"""Media: uploaded files (presigned uploads, downloads, attachments, cleanup)."""
