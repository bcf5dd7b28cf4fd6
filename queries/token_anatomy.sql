-- title: Token anatomy per template
-- description: Mean counted tokens per request of each segment kind, and each prompt kind's share of
--   the counted prompt: how much of every call is static (system, few-shot, tools) and how much live.
SELECT r.template_id,
       t.label,
       count(*) AS requests,
       round(avg(system_tokens), 1) AS system,
       round(avg(fewshot_tokens), 1) AS fewshot,
       round(avg(tools_tokens), 1) AS tools,
       round(avg(history_tokens), 1) AS history,
       round(avg(input_tokens), 1) AS input,
       round(avg(output_tokens), 1) AS output,
       round(sum(system_tokens) / sum(prompt_tokens), 4) AS system_share,
       round(sum(fewshot_tokens) / sum(prompt_tokens), 4) AS fewshot_share,
       round(sum(tools_tokens) / sum(prompt_tokens), 4) AS tools_share,
       round(sum(history_tokens) / sum(prompt_tokens), 4) AS history_share,
       round(sum(input_tokens) / sum(prompt_tokens), 4) AS input_share
FROM requests r JOIN templates t USING (template_id)
GROUP BY ALL
ORDER BY requests DESC
