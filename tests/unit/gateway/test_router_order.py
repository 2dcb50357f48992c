"""The gateway's routers may come in any order (gateway/main.py puts the busiest first): no
route of one router matches a path that another router serves, with the same method, so the
first match is the same route whatever the order."""

import itertools

from gateway.main import ROUTERS


def test_no_route_of_one_router_matches_a_path_of_another() -> None:
    routes = [(module.__name__, route) for module in ROUTERS for route in module.router.routes]
    assert len(routes) > 40
    # A template's `{name}` is itself matched by a parameter's `[^/]+`, and by a literal only
    # where the other route has that literal: the templates stand for every path they serve.
    overlapping = [
        (first.path, second.path)
        for (owner, first), (other, second) in itertools.permutations(routes, 2)
        if owner != other and first.methods & second.methods and first.path_regex.match(second.path)
    ]
    assert overlapping == []
