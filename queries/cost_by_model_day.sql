-- title: Cost by model and day
-- description: What the logged requests cost at the list price of their model on their day
--   (genai-prices), cached input at the cached price; requests of a model with no price are
--   counted in unpriced_requests and left out of the cost. Sample rates are not undone here.
SELECT ts::DATE AS day,
       model,
       count(*) AS requests,
       sum(billed_prompt_tokens) AS prompt_tokens,
       sum(billed_cached_tokens) AS cached_tokens,
       sum(billed_output_tokens) AS output_tokens,
       round(sum(cost_usd), 6) AS cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_requests,
       any_value(price_source) AS price_source
FROM request_costs
GROUP BY ALL
ORDER BY day, cost_usd DESC NULLS LAST
