"""The OpenAI Responses API in front (`/v1/responses`): passed natively to OpenAI, translated
through chat for every other provider, and stored for the caller's org."""
