-- ODR disputes in their latest state as of the run: one row per dispute_id, with the assessment
-- unit. Newest wins: updated_at desc, then delivery_date desc, load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/incremental/newest_versions.sql).

{{ config(**newest_versions_config('stg_odr__disputes', ['dispute_id'], indexes=['filed_at_local', 'closed_at_local'])) }}

{{ latest_state('stg_odr__disputes', ['dispute_id'], 'updated_at', [
    'dispute_id', 'enterprise_uscc', 'enterprise_name', 'region_code', 'unit_code', 'status',
    'disputed_amount', 'filed_at', 'filed_at_local', 'closed_at', 'closed_at_local', 'updated_at'
]) }}
