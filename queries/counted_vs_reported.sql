-- title: Counted vs reported prompt tokens by model
-- description: How far tiktoken's count (cookbook overheads) is from the prompt tokens the provider
--   billed, per model, over successful requests that reported usage: the share counted exactly, the
--   median signed error, the median and p95 of the absolute error (shares of the billed count),
--   whether the model's tokenizer is tiktoken's (false = estimate), and the scale applied to such
--   estimates so that segments add up to what was billed: the median billed ÷ counted over the
--   requests billed within half to twice their count (scale_fitted_on of them); 1 when exact. The
--   figures are over the requests whose tokens were counted; derived_requests had their live input
--   taken from the bill instead, after a checked sample of their template agreed (never for estimates).
SELECT model,
       encoding,
       exact_tokenizer,
       requests,
       counted,
       reported,
       round(exact_share, 4) AS exact_share,
       round(median_error, 4) AS median_error,
       round(median_abs_error, 4) AS median_abs_error,
       round(p95_abs_error, 4) AS p95_abs_error,
       round(scale, 4) AS scale,
       CASE WHEN exact_tokenizer THEN NULL ELSE fitted_on END AS scale_fitted_on,
       derived AS derived_requests
FROM model_calibration
ORDER BY requests DESC
