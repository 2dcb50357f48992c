"""The enrollment idempotency keys: one per (student, course, day), never shared by two pairs."""

from storage.idempotency import enrollment_keys


def test_daily_key_is_stable_for_one_student_and_course() -> None:
    assert enrollment_keys(7, 42, None) == enrollment_keys(7, 42, None)


def test_pairs_whose_digits_run_together_get_different_keys() -> None:
    # Plain concatenation would give "123" for both, and one student would be answered with
    # the other's enrollment.
    assert enrollment_keys(1, 23, None) != enrollment_keys(12, 3, None)


def test_a_header_key_is_scoped_to_its_student() -> None:
    first, second = enrollment_keys(1, 5, "retry-1"), enrollment_keys(2, 5, "retry-1")
    assert len(first) == 2 and first[0] != second[0]
