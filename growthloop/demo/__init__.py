"""The seeded synthetic demo business and the CDNOW real-data example."""

from growthloop.demo.generate import write_demo_files

__all__ = ["write_demo_files"]
