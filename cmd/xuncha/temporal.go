package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xuncha/xuncha/internal/searchattr"
)

func newTemporalCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{Use: "temporal", Short: "Prepare a Temporal cluster for xuncha"}
	var retention time.Duration
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create the namespace if missing and register xuncha's search attributes on it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log, err := cfg.logger()
			if err != nil {
				return err
			}
			tc, err := cfg.dialTemporal(ctx, log, nil, nil) // namespaces and search attributes: no payload
			if err != nil {
				return err
			}
			defer tc.Close()
			_, err = tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        cfg.TemporalNamespace,
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			})
			var exists *serviceerror.NamespaceAlreadyExists
			switch {
			case errors.As(err, &exists):
				log.Info("namespace exists", zap.String("namespace", cfg.TemporalNamespace))
			case err != nil:
				return fmt.Errorf("creating namespace %q: %w", cfg.TemporalNamespace, err)
			default:
				log.Info("namespace created", zap.String("namespace", cfg.TemporalNamespace), zap.Duration("retention", retention))
			}
			if err := searchattr.Register(ctx, tc.OperatorService(), cfg.TemporalNamespace); err != nil {
				return fmt.Errorf("registering search attributes: %w", err)
			}
			log.Info("search attributes registered", zap.String("namespace", cfg.TemporalNamespace), zap.Strings("attributes", searchattr.DevServerFlags()))
			return nil
		},
	}
	setup.Flags().DurationVar(&retention, "retention", 30*24*time.Hour, "retention of closed workflow histories when the namespace is created")
	cmd.AddCommand(setup)
	return cmd
}
