"""The admin panel at `/admin` (sqladmin): its own sign-in, CSRF-protected forms, and views
whose changes go through the domain services (docs/admin.md)."""
