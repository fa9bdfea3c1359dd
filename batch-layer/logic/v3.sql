-- Batch logic v3 = v2 with the campaign reorganisation: an ad in table moved_ads(ad_id, campaign_id)
-- counts for its new campaign (GET /api/reference/moved-ads). Same contract as v1.sql.
SELECT
  coalesce(m.campaign_id, a.campaign_id) AS campaign_id,
  (e.event_time // 10000) * 10000 AS window_start,
  count(*) AS views,
  list(e.user_id) AS users
FROM read_parquet({{split}}) AS e
JOIN ads AS a ON a.ad_id = e.ad_id
LEFT JOIN moved_ads AS m ON m.ad_id = e.ad_id
WHERE e.event_type = 'view'
  AND e.user_id NOT IN (SELECT user_id FROM bots)
GROUP BY ALL
