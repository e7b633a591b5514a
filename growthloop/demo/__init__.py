"""The seeded synthetic demo business and the CDNOW real-data example."""
