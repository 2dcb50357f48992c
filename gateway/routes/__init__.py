"""FastAPI routers, one module a resource: thin routes that validate, call one service method
and return; errors are mapped once, in gateway/errors.py."""
