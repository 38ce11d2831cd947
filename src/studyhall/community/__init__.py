"""Community: posts (open to every signed-in user, or inside a course), their comments, and
each user's personal collections of posts."""
