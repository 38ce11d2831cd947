"""Media: uploaded files (presigned uploads, downloads, attachments, cleanup) and lesson
videos (the local provider or Mux, with its webhooks)."""
