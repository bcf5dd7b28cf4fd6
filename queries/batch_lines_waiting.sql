-- title: Batch lines waiting for their other half
-- description: Batch request lines without their result line, and result lines without their
--   request line, per file: what to add (the batch's input or output file) for them to be read.
SELECT file,
       provider,
       half,
       count(*) AS lines,
       min(line) AS first_line,
       min(custom_id) AS first_custom_id,
       CASE half WHEN 'request' THEN 'add the batch output (results) file'
                 ELSE 'add the batch input (requests) file' END AS missing
FROM batch_parts
WHERE NOT joined
GROUP BY file, provider, half
ORDER BY file, half
