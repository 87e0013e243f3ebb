-- No-reason-return monthly reports in their latest state as of the run: one row per
-- (enterprise_uscc, report_month), with the assessment unit. A report carries no update
-- timestamp, so the later delivery replaces the earlier one (docs/feeds.md): delivery_date desc,
-- load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/incremental/newest_versions.sql).

{{ config(**newest_versions_config('stg_returns__reports', ['enterprise_uscc', 'report_month'])) }}

{{ latest_state('stg_returns__reports', ['enterprise_uscc', 'report_month'], none, [
    'enterprise_uscc', 'report_month', 'enterprise_name', 'region_code', 'unit_code',
    'committed_on', 'return_items', 'refund_amount'
]) }}
