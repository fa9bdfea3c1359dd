-- Batch logic v1 = the YSB query (WORKLOAD.md), as the MAP step over one split of the master dataset.
-- Inputs: {{split}} = a Parquet split; table ads(ad_id, campaign_id); table bots(user_id).
-- Output: one partial aggregate per (campaign, window) of this split: views = its view events,
-- users = the users behind them (repeats kept: deduplicating here costs more than it saves); the
-- reduce step sums views and counts the distinct users of every split's lists exactly.
SELECT
  a.campaign_id,
  (e.event_time // 10000) * 10000 AS window_start,
  count(*) AS views,
  list(e.user_id) AS users
FROM read_parquet({{split}}) AS e
JOIN ads AS a ON a.ad_id = e.ad_id
WHERE e.event_type = 'view'
GROUP BY ALL
