"""admission() and promotions(): who gets a seat, who waits, who is refused (no server)."""

from core.enrollments import Admitted, Refused, Seats, Waitlisted, admission, promotions


def seats(**overrides: object) -> Seats:
    values = {
        "status": "published",
        "prerequisite_ids": (),
        "limit": 5,
        "taken": 0,
        "waitlist": False,
        "waiting": 0,
    }
    return Seats(**(values | overrides))


def test_a_free_seat_in_a_published_course_admits() -> None:
    assert admission(seats(taken=4), frozenset()) == Admitted()


def test_an_unlimited_course_always_admits() -> None:
    assert admission(seats(limit=None, taken=10_000), frozenset()) == Admitted()


def test_only_a_published_course_takes_enrollments() -> None:
    for status in ("draft", "publishing", "archived"):
        decision = admission(seats(status=status), frozenset())
        assert isinstance(decision, Refused) and status in decision.reason


def test_missing_prerequisites_are_named() -> None:
    decision = admission(seats(prerequisite_ids=(3, 1, 2)), frozenset({2}))
    assert isinstance(decision, Refused)
    assert decision.details == {"missing_prerequisite_ids": [1, 3]}
    assert decision.error().status == 409


def test_completed_prerequisites_admit() -> None:
    assert admission(seats(prerequisite_ids=(1, 2)), frozenset({1, 2, 9})) == Admitted()


def test_prerequisites_are_checked_before_the_waitlist() -> None:
    full = seats(prerequisite_ids=(1,), taken=5, waitlist=True)
    assert isinstance(admission(full, frozenset()), Refused)


def test_a_full_course_without_waitlist_refuses() -> None:
    decision = admission(seats(taken=5), frozenset())
    assert decision == Refused("The course is full")


def test_a_full_waitlisted_course_queues_at_the_end() -> None:
    assert admission(seats(taken=5, waitlist=True), frozenset()) == Waitlisted(position=1)
    assert admission(seats(taken=5, waitlist=True, waiting=7), frozenset()) == Waitlisted(8)


def test_a_newcomer_never_jumps_the_queue_for_a_freed_seat() -> None:
    decision = admission(seats(taken=4, waitlist=True, waiting=2), frozenset())
    assert decision == Waitlisted(position=3)


def test_promotions_fill_free_seats_from_the_head_only() -> None:
    assert promotions(seats(taken=3, waitlist=True, waiting=10)) == 2
    assert promotions(seats(taken=3, waitlist=True, waiting=1)) == 1
    assert promotions(seats(taken=5, waitlist=True, waiting=10)) == 0
    assert promotions(seats(limit=None, waitlist=True, waiting=4)) == 4


def test_promotions_never_overbook_a_course_over_its_limit() -> None:
    # A limit lowered below the seats held admits nobody (no negative seats).
    assert promotions(seats(limit=2, taken=4, waitlist=True, waiting=3)) == 0


def test_an_unpublished_course_promotes_nobody() -> None:
    assert promotions(seats(status="archived", taken=0, waitlist=True, waiting=3)) == 0
