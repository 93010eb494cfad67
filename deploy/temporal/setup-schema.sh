#!/bin/sh
# One-shot (service temporal-schema-setup, image temporalio/admin-tools): creates or
# upgrades Temporal's PostgreSQL schemas. Safe to run on every start:
#   setup-schema -v 0.0  creates the version tables and records 0.0 only when the
#                        database has no newer version yet;
#   update-schema        applies only the versioned migrations newer than the recorded one.
# The databases themselves are created by deploy/postgres/init.sh.
#
# Connection comes from the environment temporal-sql-tool reads:
#   SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
export SQL_PORT

SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

tries=0
until nc -z "$SQL_HOST" "$SQL_PORT"; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "PostgreSQL at $SQL_HOST:$SQL_PORT not reachable after $tries tries" >&2
		exit 1
	fi
	sleep 2
done

echo "Temporal main database: temporal"
temporal-sql-tool --plugin postgres12_pgx --db temporal setup-schema -v 0.0
temporal-sql-tool --plugin postgres12_pgx --db temporal update-schema -d "$SCHEMA_DIR/temporal/versioned"

echo "Temporal visibility database: temporal_visibility"
temporal-sql-tool --plugin postgres12_pgx --db temporal_visibility setup-schema -v 0.0
temporal-sql-tool --plugin postgres12_pgx --db temporal_visibility update-schema -d "$SCHEMA_DIR/visibility/versioned"

echo "Temporal schema setup complete"
