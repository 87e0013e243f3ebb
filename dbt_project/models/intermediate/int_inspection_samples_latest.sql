-- Sampled batches in their latest state as of the run: one row per sample_id, with the
-- assessment unit. Newest wins (a re-test may overturn a result): updated_at desc, then
-- delivery_date desc, load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/incremental/newest_versions.sql).

{{ config(**newest_versions_config('stg_inspection__samples', ['sample_id'])) }}

{{ latest_state('stg_inspection__samples', ['sample_id'], 'updated_at', [
    'sample_id', 'sampled_on', 'region_code', 'unit_code', 'product_category', 'sales_channel',
    'platform_name', 'enterprise_name', 'enterprise_uscc', 'inspection_result', 'failed_items',
    'updated_at'
]) }}
