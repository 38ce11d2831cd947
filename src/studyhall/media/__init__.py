"""Media: uploaded files and lesson videos (the local provider or Mux), with Mux webhooks."""
