#!/usr/bin/env bash
# PostgreSQL roles and databases of the production topology, least privilege (docker-compose.yml mounts this into
# /docker-entrypoint-initdb.d: it runs once, as the superuser, when the data volume is first initialised).
#
#   temporal      owns the Temporal databases `temporal` and `temporal_visibility` (its schema tool creates the tables
#                 there); no other rights.
#   dl_migrator   owns the application database `data_lifecycle` and its tables: used only by the one-shot migration.
#   dl_app        what the API and the workers connect as: read and write rows of the application's tables, nothing
#                 else (no DDL, no superuser, no CREATEDB; no UPDATE or DELETE of audit rows, revoked by migration
#                 20261202101000). Rights on tables the migrator creates later come from its default privileges.
#
# Passwords come from the environment of the postgres container (TEMPORAL_DB_PASSWORD, MIGRATOR_DB_PASSWORD,
# APP_DB_PASSWORD).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" -v migrator_pw="$MIGRATOR_DB_PASSWORD" -v app_pw="$APP_DB_PASSWORD" <<'SQL'
create role temporal login password :'temporal_pw' nosuperuser nocreatedb nocreaterole;
create database temporal owner temporal;
create database temporal_visibility owner temporal;

create role dl_migrator login password :'migrator_pw' nosuperuser nocreatedb nocreaterole;
create role dl_app login password :'app_pw' nosuperuser nocreatedb nocreaterole;
create database data_lifecycle owner dl_migrator;
revoke all on database data_lifecycle from public;
grant connect on database data_lifecycle to dl_migrator, dl_app;
revoke all on database temporal, temporal_visibility from public;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname data_lifecycle <<'SQL'
-- PostgreSQL 15+ no longer lets every role create objects in public; the migrator owns the schema, the app uses it.
alter schema public owner to dl_migrator;
revoke create on schema public from public;
grant usage on schema public to dl_app;
alter default privileges for role dl_migrator in schema public
  grant select, insert, update, delete on tables to dl_app;
alter default privileges for role dl_migrator in schema public
  grant usage, select on sequences to dl_app;
-- Functions the migrator creates (the audit purge, SECURITY DEFINER) are for dl_app only, not for every role. UPDATE and
-- DELETE on the audit tables are taken back from dl_app by the migration that makes the chain keyed.
alter default privileges for role dl_migrator in schema public
  revoke execute on functions from public;
alter default privileges for role dl_migrator in schema public
  grant execute on functions to dl_app;
SQL
