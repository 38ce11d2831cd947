"""Analytics: learning-activity ingestion, rollups, insights, skills, transcripts, audit log."""
