-- title: Templates ranked by spend
-- description: Each template's logged spend at list prices, the spend the logs stand for once
--   sample rates are undone (a record's own sample_rate, else 1), and its share of that spend.
SELECT r.template_id,
       t.label,
       count(*) AS requests,
       string_agg(DISTINCT r.model, ', ') AS models,
       round(sum(cost_usd), 6) AS logged_cost_usd,
       round(sum(cost_usd / coalesce(r.sample_rate, 1.0)), 4) AS estimated_cost_usd,
       round(sum(cost_usd / coalesce(r.sample_rate, 1.0)) / sum(sum(cost_usd / coalesce(r.sample_rate, 1.0))) OVER (), 4)
           AS share_of_spend,
       round(avg(cost_usd), 8) AS cost_per_request
FROM request_costs r JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY estimated_cost_usd DESC NULLS LAST
