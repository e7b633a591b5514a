"""The seeded synthetic demo business and the CDNOW real-data example."""

from growthloop.demo.build import DemoSummary, build_demo, import_cdnow
from growthloop.demo.generate import write_demo_files

__all__ = ["DemoSummary", "build_demo", "import_cdnow", "write_demo_files"]
