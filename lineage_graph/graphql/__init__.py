"""The GraphQL API (strawberry): types, resolvers and error mapping."""
