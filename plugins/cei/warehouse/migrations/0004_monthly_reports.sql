-- The monthly 12315 reports written (cei.report): one row per month, the latest writing.
create table if not exists meta.monthly_reports (
    period        text primary key,  -- YYYY-MM
    run_id        bigint not null references meta.pipeline_runs,  -- the run whose marts it reads
    as_of         timestamptz not null,
    status        text not null,  -- final | provisional
    html_name     text not null,
    html_sha256   text not null,
    pdf_name      text,  -- null: no PDF (pdf_problem says why)
    pdf_problem   text,
    generated_at  timestamptz not null
);
