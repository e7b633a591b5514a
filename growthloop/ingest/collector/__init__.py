"""The event collector: PostHog, Segment/RudderStack and Sensors Data SDKs send events over
HTTP; each request is fsync'd to a spool before it is acknowledged, and a loader thread moves
the spool into the event store through the importer's path.

Public surface: `collector_router(ws)` (include it in the web app; its lifespan runs spool and
loader), `CollectorFastPath` (middleware that answers those routes ahead of the rest of the app),
`CollectorConfig`, and `PUBLIC_ROUTES` (the routes that need no login).
"""

from growthloop.ingest.collector.routes import PUBLIC_ROUTES, CollectorFastPath, collector_router
from growthloop.ingest.collector.service import Collector, CollectorConfig

__all__ = ["PUBLIC_ROUTES", "Collector", "CollectorConfig", "CollectorFastPath", "collector_router"]
