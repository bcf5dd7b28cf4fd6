-- title: Training examples per template
-- description: What the logs offer to fine-tune on, per template: examples_available, the distinct
--   live inputs (input_hash) among successful requests that returned an output (status ok,
--   output_kind not none); the most frequent output kind and its share of the template's logged
--   requests (unweighted; a tie goes to the kind first in alphabetical order); and the requests of each output kind.
--   Reproduces the report's examples_available and output_kind. Sample rates play no part.
WITH kinds AS (
    SELECT template_id, output_kind, count(*) AS n
    FROM requests
    GROUP BY ALL
), top AS (
    SELECT template_id, output_kind, n
    FROM kinds
    QUALIFY row_number() OVER (PARTITION BY template_id ORDER BY n DESC, output_kind) = 1
), examples AS (
    SELECT template_id,
           count(*) AS requests,
           count(*) FILTER (WHERE status = 'ok') AS ok_requests,
           count(DISTINCT input_hash) FILTER (WHERE status = 'ok' AND output_kind <> 'none') AS examples_available,
           count(*) FILTER (WHERE output_kind = 'label') AS label_outputs,
           count(*) FILTER (WHERE output_kind = 'json') AS json_outputs,
           count(*) FILTER (WHERE output_kind = 'tool_call') AS tool_call_outputs,
           count(*) FILTER (WHERE output_kind = 'text') AS text_outputs,
           count(*) FILTER (WHERE output_kind = 'none') AS no_outputs
    FROM requests
    GROUP BY template_id
)
SELECT e.template_id,
       coalesce(t.label, e.template_id) AS label,
       e.requests,
       e.ok_requests,
       e.examples_available,
       k.output_kind,
       k.n::DOUBLE / e.requests::DOUBLE AS output_kind_share,
       e.label_outputs,
       e.json_outputs,
       e.tool_call_outputs,
       e.text_outputs,
       e.no_outputs
FROM examples e JOIN top k USING (template_id) LEFT JOIN templates t USING (template_id)
ORDER BY e.examples_available DESC, e.template_id
