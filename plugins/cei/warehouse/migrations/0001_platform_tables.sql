-- The platform's own tables (dbt owns staging / intermediate / marts): the run log, the load
-- ledger, the quality results, the dbt watermarks, the calendar imports, the alerts, the
-- publications, the quarantined rows and the export registry.
--
-- The baseline of the numbered migrations. It also completes a warehouse made before migrations
-- were recorded, so every statement is idempotent: tables and indexes are created if missing, and
-- each column a table gained after its first release is added if missing (`add column if not
-- exists`) rather than written into its `create table`, which an existing table never runs.
create table if not exists meta.pipeline_runs (
    run_id          bigserial primary key,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    status          text not null default 'running',  -- running | succeeded | failed
    landing         text,
    airflow_run_id  text,
    delivery_dates  date[] not null,
    as_of           timestamptz not null,  -- last delivery date, 23:59:59 local (indicators.md)
    message         text
);
-- What the landing sensor found when the night started: feeds without files, files still being
-- written at the cut-off (cei.landing); null when every feed delivered, complete.
alter table meta.pipeline_runs add column if not exists landing_note text;
create table if not exists meta.load_files (
    file_id           bigserial primary key,
    run_id            bigint not null references meta.pipeline_runs,
    feed              text not null,
    delivery_date     date not null,
    file_name         text not null,  -- path below <landing>/<feed>/<date>/
    sha256            text,
    size_bytes        bigint,
    status            text not null,  -- loaded | rejected | duplicate_file | ignored | withdrawn
    reason            text,
    duplicate_of      bigint references meta.load_files,
    encoding          text,
    rows_read         bigint not null default 0,
    rows_loaded       bigint not null default 0,
    rows_quarantined  bigint not null default 0,
    rows_duplicate    bigint not null default 0,
    rows_warned       bigint not null default 0,
    processed_at      timestamptz not null default now(),
    constraint accounting check (rows_read = rows_loaded + rows_quarantined + rows_duplicate)
);
create unique index if not exists load_files_delivery_uix
    on meta.load_files (feed, delivery_date, file_name, coalesce(sha256, ''));
create index if not exists load_files_sha_ix on meta.load_files (feed, sha256);
-- The run whose feeds gate passed this file's rows; null until one has. The gate takes every
-- loaded file still ungated, so a batch that failed it is checked again by the re-run (which
-- skips loading it), never published unchecked.
alter table meta.load_files add column if not exists gated_run bigint references meta.pipeline_runs;
create index if not exists load_files_ungated_ix on meta.load_files (feed) where gated_run is null;
-- The months (first days) of the business dates of a loaded file's raw rows, recorded the first
-- time an export needs them (cei.export.provenance.summarise_new_files); null until then.
alter table meta.load_files add column if not exists business_months date[];
-- A loaded file the data steward took out of the warehouse's truth (cei.steward.withdraw): status
-- 'withdrawn', its raw rows kept and marked, who / when / why here.
alter table meta.load_files add column if not exists withdrawn_at timestamptz;
alter table meta.load_files add column if not exists withdrawn_by text;
alter table meta.load_files add column if not exists withdrawn_reason text;
create table if not exists meta.quality_results (
    run_id        bigint not null references meta.pipeline_runs,
    suite         text not null,
    target        text not null,  -- what was validated: a feed's batches or a mart
    expectation   text not null,
    severity      text not null,  -- critical | warning
    success       boolean not null,
    observed      text,
    expected      text,
    checked_at    timestamptz not null default now()
);
create table if not exists meta.quality_gates (
    run_id           bigint not null references meta.pipeline_runs,
    gate             text not null,  -- feeds | marts
    suite            text not null,
    target           text not null,  -- a feed, or a published mart marts.<table>
    status           text not null,  -- passed | warned | failed | skipped
    evaluated        integer not null,
    failed_critical  integer not null,
    failed_warning   integer not null,
    note             text,  -- e.g. why a suite was skipped, or a first night without volume history
    checked_at       timestamptz not null default now()
);
-- The incremental dbt models' watermarks (dbt_project/macros/incremental/newest_versions.sql): one row per
-- table, keyed by the table's OID, which stays with it when publishing renames its schema.
create table if not exists meta.dbt_watermarks (
    relation_oid     oid primary key,
    relation_name    text not null,  -- where it was last built, for people
    through_file_id  bigint not null,  -- the newest load file its rows have seen
    as_of_date       date not null,  -- the as-of date of that build
    inputs_hash      text not null,  -- its SQL, the region mapping, listed tables, upstream hashes
    -- what that build rewrote: the keys with a version loaded after this file or delivered after
    -- this date (both null: every key); the models' tests read those rows
    rebuilt_after_file_id  bigint,
    rebuilt_after_date     date,
    saved_at         timestamptz not null default now()
);
-- The bureau's imports of official calendar schedules (cei calendar import; cei.calendar.store):
-- who imported which file of which year, and when. The newest of a year is in force.
create table if not exists meta.calendar_imports (
    import_id    bigserial primary key,
    year         integer not null,
    file_name    text not null,
    sha256       text not null,
    holidays     integer not null,  -- weekdays off listed
    workdays     integer not null,  -- weekend make-up working days listed
    imported_by  text not null,
    imported_at  timestamptz not null default now()
);
-- Failed nights (cei.nightly's failure notifier): what `cei status` lists and the webhook got.
create table if not exists meta.alerts (
    alert_id        bigserial primary key,
    raised_at       timestamptz not null default now(),
    run_id          bigint references meta.pipeline_runs,  -- null when the night failed before it had one
    airflow_run_id  text not null,
    task            text not null,
    try_number      integer not null,
    reason          text not null,  -- one line
    log_url         text,
    webhook         text            -- the webhook's answer (HTTP status or error), null when none is set
);
create table if not exists meta.marts_publications (
    run_id        bigint not null references meta.pipeline_runs,
    published_at  timestamptz not null default now(),
    as_of         timestamptz not null,  -- the as-of of the figures analysts now read
    tables        text[] not null
);
create table if not exists quarantine.quarantined_rows (
    load_file_id  bigint not null references meta.load_files,
    feed          text not null,
    source_row    integer not null,
    reason_code   text not null,
    reason_detail text,
    original      jsonb not null  -- as delivered, with personal data masked
);
create index if not exists quarantined_rows_file_ix on quarantine.quarantined_rows (load_file_id);
create table if not exists meta.exports (  -- the assessment export's registry (cei.export)
    export_id       bigserial primary key,
    period          text not null,  -- 2026-03 | 2026Q1 | 2026
    period_type     text not null,  -- month | quarter | year
    status          text not null,  -- provisional | final
    revision        integer not null default 0,  -- 0: assessment_<P>.*; N: assessment_<P>.rev<N>.*
    out_dir         text not null,
    csv_name        text not null,
    csv_sha256      text not null,
    xlsx_name       text not null,
    xlsx_sha256     text not null,
    manifest_name   text not null,
    rows            integer not null,
    as_of           timestamptz not null,
    run_id          bigint references meta.pipeline_runs,
    figures_sha256  text not null,
    figures         jsonb,  -- of a final export: unit_code -> code -> field -> published text
    differences     jsonb,           -- of a revision: [{unit, code, field, old, new}]
    generated_at    timestamptz not null
);
create unique index if not exists exports_final_uix on meta.exports (out_dir, period, revision)
    where status = 'final';
