package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/ledger"
)

func newMigrateCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the ledger's migrations as its owner, set up the application role and chain events written without a hash (forward-only, safe to run concurrently and again)",
		Long: "Connects as the role that owns the ledger (MIGRATE_DATABASE_URL), applies the migrations,\n" +
			"takes CREATE on the schema from PUBLIC, creates the application role server and worker\n" +
			"connect as if missing (DATABASE_URL's user and password, or --app-role) and grants it\n" +
			"exactly the application's privileges, seals tip content stored in plaintext\n" +
			"(XUNCHA_TIP_KEY) and chains events written without a hash into the audit chain\n" +
			"(XUNCHA_AUDIT_HASH). Running it again changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := cfg.logger()
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			_, err = cfg.migrate(cmd.Context(), log)
			return err
		},
	}
	cfg.bindMigrate(cmd, "")
	cfg.bindTipKey(cmd)
	cmd.Flags().StringVar(&cfg.AuditHash, "audit-hash", envOr("XUNCHA_AUDIT_HASH", string(ledger.HashSHA256)),
		"hash the events written without one are chained with: sha256 or sm3 [XUNCHA_AUDIT_HASH]")
	return cmd
}

// migrate applies the migrations, sets up the application role and chains
// the events written without a hash, as `xuncha migrate` does, logging what
// it changed.
func (cfg *config) migrate(ctx context.Context, log *zap.Logger) (ledger.MigrateResult, error) {
	ownerURL, opts, err := cfg.migrateTarget()
	if err != nil {
		return ledger.MigrateResult{}, err
	}
	alg, err := cfg.auditHash()
	if err != nil {
		return ledger.MigrateResult{}, err
	}
	sealer, err := cfg.optionalTipSealer()
	if err != nil {
		return ledger.MigrateResult{}, err
	}
	if sealer != nil {
		opts.Sealer = sealer
	}
	res, err := ledger.Migrate(ctx, ownerURL, opts)
	if err != nil {
		return res, fmt.Errorf("migrating the ledger: %w", err)
	}
	log.Info("ledger migrated", zap.Int32("schema_version", res.SchemaVersion), zap.String("app_role", opts.AppRole),
		zap.Bool("role_created", res.RoleCreated), zap.Bool("grants_changed", res.GrantsChanged),
		zap.Bool("public_create_revoked", res.PublicCreateRevoked), zap.Int("tips_sealed", res.TipsSealed),
		zap.Strings("indexes_rebuilt", res.IndexesRebuilt))
	if opts.AppRole == "" {
		log.Warn("no application role: server and worker connecting with this URL run as the ledger's owner, " +
			"who could rewrite its history; set MIGRATE_DATABASE_URL to the owner and DATABASE_URL to an application role (README: Database roles)")
	}
	// Events written before the audit chain (migration 008), or by an
	// older binary, join their subjects' chains.
	store, err := ledger.Open(ctx, ownerURL)
	if err != nil {
		return res, err
	}
	defer store.Close()
	store.AuditHash = alg
	n, err := store.SealAuditChains(ctx)
	if err != nil {
		return res, fmt.Errorf("chaining events written without a hash: %w", err)
	}
	if n > 0 {
		log.Info("chained events written without a hash", zap.Int("events", n), zap.String("hash", string(alg)))
	}
	return res, nil
}
