BEGIN;
DROP TABLE IF EXISTS content_request_comments;
DROP TABLE IF EXISTS content_requests;
DROP TABLE IF EXISTS content_opens;
DROP TABLE IF EXISTS content_links;
DROP INDEX IF EXISTS lead_activities_asset_idx;
DROP TABLE IF EXISTS content_assets;
COMMIT;
