-- title: Token anatomy per template
-- description: Mean tokens per request of each segment kind, and each prompt kind's share of the
--   prompt: how much of every call is static (system, few-shot, tools) and how much live. Counts are
--   scaled to the model's own tokens (token_scale: 1 where tiktoken has its tokenizer, else the
--   calibration of counted_vs_reported) and means are weighted by the volume each request stands
--   for: 1 / its record's sample_rate, else 1 / --param sample_rate (the scenario's [traffic]
--   sample_rate; default 1). Reproduces the report's tokens_per_request, rounded to 1 decimal as
--   there; requests is the logged count.
-- params: sample_rate=1
WITH weighted AS (
    SELECT template_id, token_scale, system_tokens, fewshot_tokens, tools_tokens, history_tokens, input_tokens,
           output_tokens, prompt_tokens,
           1.0 / coalesce(sample_rate, $sample_rate::DOUBLE) AS w
    FROM request_costs
)
SELECT r.template_id,
       coalesce(t.label, r.template_id) AS label,
       count(*) AS requests,
       -- printf then back to a number: half to even on the exact value, as Python's round()
       printf('%.1f', sum(system_tokens * token_scale * w) / sum(w))::DOUBLE AS system,
       printf('%.1f', sum(fewshot_tokens * token_scale * w) / sum(w))::DOUBLE AS fewshot,
       printf('%.1f', sum(tools_tokens * token_scale * w) / sum(w))::DOUBLE AS tools,
       printf('%.1f', sum(history_tokens * token_scale * w) / sum(w))::DOUBLE AS history,
       printf('%.1f', sum(input_tokens * token_scale * w) / sum(w))::DOUBLE AS input,
       printf('%.1f', sum(output_tokens * token_scale * w) / sum(w))::DOUBLE AS output,
       round(sum(system_tokens * token_scale * w) / sum(prompt_tokens * token_scale * w), 4) AS system_share,
       round(sum(fewshot_tokens * token_scale * w) / sum(prompt_tokens * token_scale * w), 4) AS fewshot_share,
       round(sum(tools_tokens * token_scale * w) / sum(prompt_tokens * token_scale * w), 4) AS tools_share,
       round(sum(history_tokens * token_scale * w) / sum(prompt_tokens * token_scale * w), 4) AS history_share,
       round(sum(input_tokens * token_scale * w) / sum(prompt_tokens * token_scale * w), 4) AS input_share
FROM weighted r LEFT JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY requests DESC, r.template_id
