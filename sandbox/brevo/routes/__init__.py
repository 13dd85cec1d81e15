"""The Brevo endpoints, one module per group; each has ``register(app, state)``."""
