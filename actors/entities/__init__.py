"""The virtual actors' state and rules (Orleans grains): a course entity (`course.py`) and a
student's enrollment entities (`enrollment.py`). They apply core's rules to their state and
collect the events of each change; hosting, loading and flushing are the shard's job
(actors/shard.py)."""
