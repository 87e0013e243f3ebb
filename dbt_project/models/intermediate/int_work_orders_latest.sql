-- Hotline work orders in their latest state as of the run: one row per work_order_id, with the
-- assessment unit. Versions delivered after the as-of date are not seen (a rerun for an earlier
-- night reproduces its figures). Newest wins: updated_at desc, then delivery_date desc,
-- load_file_id desc, source_row desc. The consumer's phone hash stays behind in staging.

-- Incremental: each build recomputes only the keys new versions touch (macros/incremental/newest_versions.sql).
-- The indicator families read it by month: its dates are indexed.

{{ config(**newest_versions_config('stg_hotline__work_orders', ['work_order_id'],
                                  indexes=['registered_at_local', 'closed_at_local'])) }}

{{ latest_state('stg_hotline__work_orders', ['work_order_id'], 'updated_at', [
    'work_order_id', 'kind', 'channel', 'registered_at', 'registered_at_local', 'accepted_at',
    'accepted_at_local', 'closed_at', 'closed_at_local', 'updated_at', 'region_code', 'unit_code',
    'handling_unit', 'respondent_name', 'respondent_uscc', 'category', 'is_tourism',
    'disputed_amount', 'recovered_loss', 'outcome', 'callback'
]) }}
