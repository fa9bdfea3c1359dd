-- Batch logic v1 = the YSB query (WORKLOAD.md), as the MAP step over one split of the master dataset.
-- Inputs: {{split}} = a Parquet split; table ads(ad_id, campaign_id); table bots(user_id).
-- Output: partial aggregates per (campaign, window, user); the reduce step sums views and counts
-- distinct users exactly.
SELECT
  a.campaign_id,
  (e.event_time // 10000) * 10000 AS window_start,
  e.user_id,
  count(*) AS views
FROM read_parquet({{split}}) AS e
JOIN ads AS a ON a.ad_id = e.ad_id
WHERE e.event_type = 'view'
GROUP BY ALL
