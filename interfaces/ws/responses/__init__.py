"""The Responses API's WebSocket mode: `GET /v1/responses` upgraded, `response.create` in, the
Responses stream events out (docs/responses.md)."""
