"""FastAPI routers, one module a resource; thin routes that validate, call one service, map errors."""
