"""The one listener Ray Serve does not let us place: every replica starts its inter-deployment
gRPC server on "[::]:0", written into `Replica._on_initialized` (ray/serve/_private/replica.py,
Ray 2.60) with no setting. A deployment calls `bind_replica_grpc(settings.bind_host)` in its
constructor, which Serve runs before `_on_initialized`, so the server listens on the host the
rest of the stack binds to (loopback by default; a cluster node sets its own address).

This reaches into Serve's private module; tests/e2e/test_edge_ports.py fails if a Ray upgrade
moves the call, so the patch cannot silently stop working."""

from ray.serve._private import replica

_serve_add_port = replica.add_port_to_grpc_server
WILDCARD = "[::]:0"


def bind_replica_grpc(host: str) -> None:
    """Make this replica process's inter-deployment gRPC server listen on `host`."""
    address = f"[{host}]:0" if ":" in host else f"{host}:0"

    def bound(server, wanted: str) -> int:
        return _serve_add_port(server, address if wanted == WILDCARD else wanted)

    replica.add_port_to_grpc_server = bound
