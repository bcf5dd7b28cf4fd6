-- title: Rejects by file and reason
-- description: What could not be read, per file and reason, with the first line it happened on;
--   with --param file=PATH (relative or absolute, resolved as ingest resolves it), only that file.
-- params: file=
SELECT file, reason, count(*) AS rejected, min(line) AS first_line
FROM rejects
WHERE $file = '' OR file = $file
GROUP BY ALL
ORDER BY file, rejected DESC
