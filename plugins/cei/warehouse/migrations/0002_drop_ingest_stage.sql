-- An older release staged files in tables in schema ingest_stage; files are spooled to disk now.
drop schema if exists ingest_stage cascade;
