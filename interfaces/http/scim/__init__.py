"""SCIM 2.0 (RFC 7643/7644) for identity providers: `/scim/v2`, one org per bearer token."""
