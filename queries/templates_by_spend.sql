-- title: Templates ranked by spend
-- description: Each template's logged spend at list prices, the spend the logs stand for once
--   sample rates are undone (each request counts 1 / its record's sample_rate, else 1 / --param
--   sample_rate, the scenario's [traffic] sample_rate; default 1), its share of that spend, and the
--   cost per request: the volume-weighted mean over the requests that have a price (unpriced_requests
--   have none), 8 decimals. Reproduces the report's current_cost_per_request at list prices (a
--   scenario's [prices] overrides are not applied here).
-- params: sample_rate=1
WITH weighted AS (
    SELECT template_id, model, cost_usd, 1.0 / coalesce(sample_rate, $sample_rate::DOUBLE) AS w
    FROM request_costs
)
SELECT r.template_id,
       coalesce(t.label, r.template_id) AS label,
       count(*) AS requests,
       string_agg(DISTINCT r.model, ', ') AS models,
       round(sum(cost_usd), 6) AS logged_cost_usd,
       round(sum(cost_usd * w), 4) AS estimated_cost_usd,
       round(sum(cost_usd * w) / sum(sum(cost_usd * w)) OVER (), 4) AS share_of_spend,
       -- printf then back to a number: half to even on the exact value, as Python's round()
       printf('%.8f', sum(cost_usd * w) / sum(w) FILTER (WHERE cost_usd IS NOT NULL))::DOUBLE AS current_cost_per_request,
       count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_requests
FROM weighted r LEFT JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY estimated_cost_usd DESC NULLS LAST, r.template_id
