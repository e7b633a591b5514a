"""Web app: JSON API under /api and server-rendered pages."""
