"""One router per resource. Routers import the service layer and the domain, never adapters."""
