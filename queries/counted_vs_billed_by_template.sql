-- title: Counted vs billed prompt tokens by template
-- description: How far each template's counted prompt (tiktoken, with the counting rules) is from the
--   prompt tokens the provider billed, over its successful requests that logged usage and whose live
--   input was counted, not derived from the bill: the requests, the share counted exactly, the median
--   signed error and the median and p95 of the absolute error (shares of the billed count), raw and
--   after the per-model calibration the report applies to estimated tokenizers (model_calibration's
--   scale; 1 for OpenAI models). A template whose error is large has something its requests do not
--   show (server tools, media behind URLs, a provider's own prompt) or a tokenizer that is not tiktoken's.
WITH counted AS (
    SELECT r.template_id, r.model, r.prompt_tokens AS counted, r.reported_prompt_tokens AS billed,
           r.prompt_tokens * coalesce(c.scale, 1.0) AS calibrated
    FROM requests r LEFT JOIN model_calibration c USING (model)
    WHERE r.status = 'ok' AND r.reported_prompt_tokens > 0 AND r.prompt_tokens > 0 AND NOT r.input_derived
)
SELECT template_id,
       coalesce(t.label, template_id) AS label,
       string_agg(DISTINCT model, ', ' ORDER BY model) AS models,
       count(*) AS requests,
       round(avg((counted = billed)::INTEGER), 4) AS exact_share,
       round(median((counted - billed) / billed), 4) AS median_error,
       round(median(abs(counted - billed) / billed), 4) AS median_abs_error,
       round(quantile_cont(abs(counted - billed) / billed, 0.95), 4) AS p95_abs_error,
       round(median(abs(calibrated - billed) / billed), 4) AS calibrated_median_abs_error,
       round(quantile_cont(abs(calibrated - billed) / billed, 0.95), 4) AS calibrated_p95_abs_error
FROM counted LEFT JOIN templates t USING (template_id)
GROUP BY template_id, t.label
ORDER BY requests DESC, template_id
