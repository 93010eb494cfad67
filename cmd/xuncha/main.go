// Command xuncha is the one binary of the xuncha inspection-case engine:
// `dev` runs everything locally; `server`, `worker`, `migrate` and
// `temporal setup` are the production commands; `calendar` computes
// statutory deadlines without a server; `token` mints a dev bearer token;
// `audit` verifies the tamper-evident audit chains; `findings` takes the
// problem list in and out of a server as workbooks.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "xuncha:", errorText(err))
		stop()
		os.Exit(1)
	}
}

// errorText is err as the CLI prints it: a refusal (a flag's value, a
// year without calendar data, the server's answer) in the user's language
// (cliLang), the flag or variable it was about kept in front
// ("--expect-anchor: …", "XUNCHA_AUDIT_HASH / --audit-hash: …"), other
// context, which is English, left out as the server leaves it out;
// anything else as it is. Refusals were English whatever the locale, and
// under the Chinese one a variable's name was left out with the context.
func errorText(err error) string {
	lang := cliLang()
	if msg := derrors.MessageInContext(err, lang); namesItsSetting.MatchString(msg) {
		return msg
	}
	var says interface{ In(i18n.Lang) string }
	if derrors.IsRefusal(err) || errors.As(err, &says) {
		return derrors.Message(err, lang)
	}
	return err.Error()
}

// namesItsSetting matches a message that begins with the flag, or the
// variable and flag, it is about.
var namesItsSetting = regexp.MustCompile(`^(--[a-z]|[A-Z][A-Z0-9_]* / --[a-z])`)

func newRootCmd() *cobra.Command {
	cfg := &config{}
	root := &cobra.Command{
		Use:           "xuncha",
		Short:         "Inspection cases from finding to closure, on Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := ownDefaults(cmd); err != nil {
				return err
			}
			return cfg.checkEnv(cmd, args)
		},
	}
	cfg.bindCommon(root)
	root.AddCommand(
		newDevCmd(cfg),
		newServerCmd(cfg),
		newWorkerCmd(cfg),
		newMigrateCmd(cfg),
		newTemporalCmd(cfg),
		newCalendarCmd(cfg),
		newHealthcheckCmd(),
		newTokenCmd(cfg),
		newAuditCmd(cfg),
		newFindingsCmd(),
		newExpertsCmd(),
	)
	return root
}
