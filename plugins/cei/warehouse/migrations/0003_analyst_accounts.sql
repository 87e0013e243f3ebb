-- Who added, re-keyed and removed each analyst's login (cei.warehouse.analysts). PostgreSQL keeps
-- the roles themselves, cluster-wide, but not when or by whom they were made.
create table if not exists meta.analyst_accounts (
    analyst_name     text primary key,
    added_at         timestamptz not null default now(),
    added_by         text not null,
    password_set_at  timestamptz not null default now(),
    password_set_by  text not null,
    removed_at       timestamptz,  -- the login is dropped; a later `add` of the name starts a new row
    removed_by       text
);
