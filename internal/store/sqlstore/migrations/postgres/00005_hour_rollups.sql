-- +goose Up
-- Hour rollups (granularity 'hour'): Settle writes them with the minute and
-- day ones, and hourly usage reads them, so an hourly chart of a month sums
-- about 720 rows per key and model instead of 43,200 minutes. Existing usage
-- gets its hour rollups from the minute rollups still kept (the last
-- billing.minute_rollup_retention), the only ones an hourly query could read
-- before. Buckets are microseconds since the Unix epoch, UTC; an hour's
-- bucket is its first minute's, rounded down to the hour.
INSERT INTO usage_rollups (granularity, bucket, org_id, group_id, key_id, model, requests, errors,
    prompt_tokens, completion_tokens, reasoning_tokens, citation_tokens, search_queries, cost)
SELECT 'hour', bucket - bucket % 3600000000, org_id, group_id, key_id, model, SUM(requests), SUM(errors),
    SUM(prompt_tokens), SUM(completion_tokens), SUM(reasoning_tokens), SUM(citation_tokens),
    SUM(search_queries), SUM(cost)
FROM usage_rollups
WHERE granularity = 'minute'
GROUP BY bucket - bucket % 3600000000, org_id, group_id, key_id, model;

-- +goose Down
DELETE FROM usage_rollups WHERE granularity = 'hour';
