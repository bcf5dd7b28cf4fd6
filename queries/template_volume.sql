-- title: Volume per template
-- description: Per template, the requests logged and the volume they stand for once sample rates
--   are undone: each request counts 1 / its record's sample_rate, else 1 / --param sample_rate (the
--   scenario's [traffic] sample_rate; default 1). Over the window (the calendar days from the first
--   to the last request of the whole database, both included; a day without requests counts as 0):
--   mean_daily = estimated / window days; weekday_mean and weekend_mean over its Mon–Fri and Sat–Sun
--   days; daily_requests = (5 × weekday mean + 2 × weekend mean) / 7, the plain mean standing in for
--   a kind of day the window lacks; monthly_requests = daily_requests × 30.4. Reproduces the report's
--   requests, daily_requests (2 decimals), monthly_requests (1 decimal) and its volume means.
-- params: sample_rate=1
WITH span AS (
    SELECT min(ts)::DATE AS first_day, max(ts)::DATE AS last_day FROM requests
), days AS (
    SELECT d::DATE AS day, isodow(d) >= 6 AS weekend
    FROM span, generate_series(first_day, last_day, INTERVAL 1 DAY) AS g(d)
), per_day AS (
    SELECT template_id, ts::DATE AS day, count(*) AS requests,
           sum(1.0 / coalesce(sample_rate, $sample_rate::DOUBLE)) AS volume
    FROM requests
    GROUP BY ALL
), means AS (
    SELECT tm.template_id,
           sum(coalesce(p.requests, 0)) AS requests,
           sum(coalesce(p.volume, 0)) AS estimated,
           count(*) AS window_days,
           sum(coalesce(p.volume, 0)) / count(*) AS mean_daily,
           sum(coalesce(p.volume, 0)) FILTER (WHERE NOT d.weekend) / nullif(count(*) FILTER (WHERE NOT d.weekend), 0)
               AS weekday_mean,
           sum(coalesce(p.volume, 0)) FILTER (WHERE d.weekend) / nullif(count(*) FILTER (WHERE d.weekend), 0)
               AS weekend_mean
    FROM (SELECT DISTINCT template_id FROM requests) tm CROSS JOIN days d
    LEFT JOIN per_day p ON p.template_id = tm.template_id AND p.day = d.day
    GROUP BY tm.template_id
), typical AS (
    SELECT *, (5 * coalesce(weekday_mean, mean_daily) + 2 * coalesce(weekend_mean, mean_daily)) / 7 AS daily
    FROM means
)
SELECT v.template_id,
       coalesce(t.label, v.template_id) AS label,
       v.requests::BIGINT AS requests,
       round(v.estimated, 1) AS estimated_requests,
       v.window_days,
       -- printf then back to a number: half to even on the exact value, as Python's round()
       printf('%.2f', v.mean_daily)::DOUBLE AS mean_daily,
       printf('%.2f', coalesce(v.weekday_mean, 0))::DOUBLE AS weekday_mean,
       printf('%.2f', coalesce(v.weekend_mean, 0))::DOUBLE AS weekend_mean,
       printf('%.2f', v.daily)::DOUBLE AS daily_requests,
       printf('%.1f', v.daily * 30.4)::DOUBLE AS monthly_requests
FROM typical v LEFT JOIN templates t USING (template_id)
ORDER BY v.daily DESC, v.template_id
