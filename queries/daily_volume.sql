-- title: Daily volume by template and model
-- description: Requests logged per day for each template and model, and the volume they stand for
--   once sample rates are undone: each request counts 1 / its record's sample_rate, else 1 / --param
--   sample_rate (the scenario's [traffic] sample_rate; default 1). Summed over the days, a template's
--   estimated_requests are template_volume's.
-- params: sample_rate=1
SELECT ts::DATE AS day,
       r.template_id,
       coalesce(t.label, r.template_id) AS label,
       r.model,
       count(*) AS requests,
       round(sum(1.0 / coalesce(r.sample_rate, $sample_rate::DOUBLE)), 1) AS estimated_requests
FROM requests r LEFT JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY day, estimated_requests DESC, r.template_id, r.model
