package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/ledger"
)

func newMigrateCmd(cfg *config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the ledger's database migrations (forward-only, safe to run concurrently)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := cfg.logger()
			if err != nil {
				return err
			}
			if err := cfg.requireDatabase(); err != nil {
				return err
			}
			v, err := ledger.Migrate(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return fmt.Errorf("migrating the ledger: %w", err)
			}
			log.Info("ledger migrated", zap.Int32("schema_version", v))
			return nil
		},
	}
}
