"""Each job's question asked of PostgreSQL as one SQL query, for the jobs benchmark to time
against the Ray Data job: the same answer (checked on the counts), without Ray."""

QUERIES: dict[str, str] = {
    # Per course and module: enrolled, started, module completed, completed (one row per step).
    "funnel": """
        WITH sizes AS (SELECT module_id, count(*) AS n FROM lessons GROUP BY module_id),
        done AS (
            SELECT lc.enrollment_id, l.course_id, l.module_id, count(*) AS n
            FROM lesson_completions lc JOIN lessons l ON l.id = lc.lesson_id
            GROUP BY lc.enrollment_id, l.course_id, l.module_id
        ),
        totals AS (
            SELECT course_id, count(*) AS enrolled,
                   count(*) FILTER (WHERE status = 'completed') AS completed
            FROM enrollments GROUP BY course_id
        )
        SELECT course_id, 'enrolled' AS stage, NULL::bigint AS module_id, enrolled AS count
        FROM totals
        UNION ALL
        SELECT course_id, 'started', NULL, count(DISTINCT enrollment_id) FROM done
        GROUP BY course_id
        UNION ALL
        SELECT d.course_id, 'module', d.module_id, count(*) FROM done d
        JOIN sizes s ON s.module_id = d.module_id AND s.n = d.n GROUP BY d.course_id, d.module_id
        UNION ALL
        SELECT course_id, 'completed', NULL, completed FROM totals
    """,
    "time_to_complete": """
        SELECT course_id, count(*) AS completed, avg(h) AS mean_hours,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS p50_hours,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY h) AS p90_hours,
               min(h) AS min_hours, max(h) AS max_hours
        FROM (
            SELECT course_id, extract(epoch FROM completed_at - enrolled_at) / 3600 AS h
            FROM enrollments WHERE status = 'completed' AND completed_at IS NOT NULL
        ) t
        GROUP BY course_id
    """,
    # Per course, the first lesson (in course order) most open enrollments have not done.
    "dropoff": """
        WITH ordered AS (
            SELECT l.id AS lesson_id, l.course_id,
                   row_number() OVER (
                       PARTITION BY l.course_id
                       ORDER BY m.position, m.id, l.position, l.id
                   ) AS step
            FROM lessons l JOIN modules m ON m.id = l.module_id
        ),
        firsts AS (
            SELECT DISTINCT ON (e.id) e.id, e.course_id, o.lesson_id, o.step
            FROM enrollments e JOIN ordered o ON o.course_id = e.course_id
            WHERE e.status <> 'completed' AND NOT EXISTS (
                SELECT 1 FROM lesson_completions lc
                WHERE lc.enrollment_id = e.id AND lc.lesson_id = o.lesson_id
            )
            ORDER BY e.id, o.step
        ),
        stuck AS (
            SELECT course_id, lesson_id, min(step) AS step, count(*) AS stuck
            FROM firsts GROUP BY course_id, lesson_id
        )
        SELECT DISTINCT ON (course_id) course_id, lesson_id, stuck,
               sum(stuck) OVER (PARTITION BY course_id) AS open_enrollments
        FROM stuck ORDER BY course_id, stuck DESC, step
    """,
    "leaderboard": """
        WITH per_course AS (
            SELECT course_id, count(*) AS enrollments,
                   count(*) FILTER (WHERE status = 'completed') AS completions
            FROM enrollments GROUP BY course_id
        )
        SELECT u.id AS instructor_id, u.full_name,
               count(c.id) FILTER (WHERE c.status = 'published') AS published_courses,
               count(c.id) AS courses,
               coalesce(sum(p.enrollments), 0) AS enrollments,
               coalesce(sum(p.completions), 0) AS completions
        FROM users u
        LEFT JOIN courses c ON c.instructor_id = u.id
        LEFT JOIN per_course p ON p.course_id = c.id
        WHERE u.role = 'instructor'
        GROUP BY u.id, u.full_name
        ORDER BY completions DESC, enrollments DESC, u.id
    """,
}
