"""One router per resource; routers translate HTTP to service calls and nothing more."""
