-- title: Daily volume by template and model
-- description: Requests logged per day for each template and model, and the volume they stand for
--   once the logs' sample rate is undone (a record's own sample_rate, else 1).
SELECT ts::DATE AS day,
       r.template_id,
       t.label,
       r.model,
       count(*) AS requests,
       round(sum(1.0 / coalesce(r.sample_rate, 1.0)), 1) AS estimated_requests
FROM requests r JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY day, estimated_requests DESC
