package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/ledger"
)

func newMigrateCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the ledger's database migrations (forward-only, safe to run concurrently) and chain events written without a hash",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := cfg.logger()
			if err != nil {
				return err
			}
			if err := cfg.requireDatabase(); err != nil {
				return err
			}
			alg, err := cfg.auditHash()
			if err != nil {
				return err
			}
			v, err := ledger.Migrate(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return fmt.Errorf("migrating the ledger: %w", err)
			}
			log.Info("ledger migrated", zap.Int32("schema_version", v))
			// Events written before the audit chain (migration 008), or
			// by an older binary, join their subjects' chains.
			store, err := ledger.Open(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer store.Close()
			store.AuditHash = alg
			n, err := store.SealAuditChains(cmd.Context())
			if err != nil {
				return fmt.Errorf("chaining events written without a hash: %w", err)
			}
			if n > 0 {
				log.Info("chained events written without a hash", zap.Int("events", n), zap.String("hash", string(alg)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.AuditHash, "audit-hash", envOr("XUNCHA_AUDIT_HASH", string(ledger.HashSHA256)),
		"hash the events written without one are chained with: sha256 or sm3 [XUNCHA_AUDIT_HASH]")
	return cmd
}
