"""GraphQL at `/graphql`: one schema over the same services and access rules as REST
(docs/graphql.md)."""
