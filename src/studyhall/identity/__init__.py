"""Identity: users, authentication, sessions, organisations, roles and permission policies."""
