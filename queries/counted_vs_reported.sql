-- title: Counted vs reported prompt tokens by model
-- description: How far tiktoken's count (cookbook overheads) is from the prompt tokens the provider
--   reported, per model, over requests that reported usage: exact matches, median and p95 of the
--   absolute relative error, and whether the model's tokenizer is tiktoken's (false = estimate).
SELECT model,
       any_value(encoding) AS encoding,
       bool_and(exact_tokenizer) AS exact_tokenizer,
       count(*) AS requests,
       sum(prompt_tokens) AS counted,
       sum(reported_prompt_tokens) AS reported,
       round(avg((prompt_tokens = reported_prompt_tokens)::INTEGER), 4) AS exact_share,
       round(median(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens), 4) AS median_error,
       round(quantile_cont(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens, 0.95), 4) AS p95_error
FROM requests
WHERE reported_prompt_tokens > 0
GROUP BY ALL
ORDER BY requests DESC
