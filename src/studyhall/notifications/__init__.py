"""In-app notifications, their per-type preferences, and the emails that go with them."""
