"""Infrastructure shared by every domain. Nothing here knows about courses or users."""
