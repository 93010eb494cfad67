#!/bin/sh
# Runs once, when the postgres container initialises an EMPTY data volume
# (docker-entrypoint-initdb.d). Later changes here do not apply to an existing volume.
#
# Creates one login role per application and the three databases:
#   temporal, temporal_visibility  owned by role "temporal"  (Temporal persistence + visibility)
#   xuncha                         owned by role "xuncha"    (the ledger)
# Both roles use $POSTGRES_PASSWORD; psql substitutes it as a quoted literal (:'pw'),
# so the password never passes through shell or SQL string concatenation.
# "xuncha" owns the ledger and runs its migrations only; it may create roles
# (CREATEROLE) so that `xuncha migrate` creates the application role xuncha_app,
# which server and worker connect as. On a volume initialised before that, run once:
#   ALTER ROLE xuncha CREATEROLE;   (or create xuncha_app yourself: README, "Database roles")
#
# The entrypoint may source this file rather than execute it, so it sets no shell
# options and does not exit; ON_ERROR_STOP makes psql fail (and the init abort) on error.
psql -v ON_ERROR_STOP=1 -v pw="$POSTGRES_PASSWORD" \
	--username "$POSTGRES_USER" --dbname postgres <<'EOSQL'
CREATE ROLE temporal LOGIN PASSWORD :'pw';
CREATE ROLE xuncha LOGIN CREATEROLE PASSWORD :'pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE DATABASE xuncha OWNER xuncha;
EOSQL
