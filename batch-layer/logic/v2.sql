-- Batch logic v2 = YSB without bot users: events whose user_id is a bot (GET /api/reference/bots)
-- are not counted. Same contract as v1.sql.
SELECT
  a.campaign_id,
  (e.event_time // 10000) * 10000 AS window_start,
  count(*) AS views,
  list(e.user_id) AS users
FROM read_parquet({{split}}) AS e
JOIN ads AS a ON a.ad_id = e.ad_id
WHERE e.event_type = 'view'
  AND e.user_id NOT IN (SELECT user_id FROM bots)
GROUP BY ALL
