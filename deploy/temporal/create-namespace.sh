#!/bin/sh
# One-shot (service temporal-namespace, image temporalio/admin-tools): waits until the
# Temporal frontend answers, then creates the namespace xuncha runs in if it does not
# exist yet. Idempotent. Search attributes are registered afterwards by
# `xuncha temporal setup` (service xuncha-temporal-setup).
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
# How long Temporal keeps a closed workflow's history. The ledger in PostgreSQL is the
# long-term record; this only bounds what Temporal itself retains.
: "${TEMPORAL_NAMESPACE_RETENTION:=720h}"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "Temporal at $TEMPORAL_ADDRESS not serving after $tries tries" >&2
		exit 1
	fi
	sleep 2
done

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
	echo "Namespace $TEMPORAL_NAMESPACE already exists"
else
	temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
		--retention "$TEMPORAL_NAMESPACE_RETENTION" \
		--description "xuncha inspection lifecycles" \
		--address "$TEMPORAL_ADDRESS"
	echo "Namespace $TEMPORAL_NAMESPACE created"
fi
