package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
)

func newCalendarCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Statutory deadlines and the working-day calendar, no server needed",
		Long: "Without a database the built-in calendar is used; with DATABASE_URL (or --database-url)\n" +
			"the versions loaded into the ledger apply too, exactly as the API computes.",
	}
	var from string
	var workingDays, months int
	deadlineCmd := &cobra.Command{
		Use:   "deadline",
		Short: "Print the due date (first line) and its explanation",
		Example: "  xuncha calendar deadline --from 2024-09-30 --working-days 5\n" +
			"  xuncha calendar deadline --from 2025-01-31 --months 1",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cal, err := cfg.calendar(cmd)
			if err != nil {
				return err
			}
			d, err := deadline.Compute(cal, from, workingDays, months)
			if err != nil {
				return err
			}
			return printDeadline(cmd.OutOrStdout(), d)
		},
	}
	deadlineCmd.Flags().StringVar(&from, "from", "", "start date YYYY-MM-DD (not counted)")
	deadlineCmd.Flags().IntVar(&workingDays, "working-days", 0, "N working days after --from")
	deadlineCmd.Flags().IntVar(&months, "months", 0, "N months after --from (1 to 12)")
	show := &cobra.Command{
		Use:   "show YEAR",
		Short: "Print a year's statutory holidays and make-up working days",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			year, err := strconv.Atoi(args[0])
			if err != nil {
				return derrors.Invalid("YEAR", "must be a number such as 2026, not %q", args[0])
			}
			cal, err := cfg.calendar(cmd)
			if err != nil {
				return err
			}
			lines, err := cal.YearLinesIn(year, cliLang())
			if err != nil {
				return err
			}
			for _, l := range lines {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.AddCommand(deadlineCmd, show)
	return cmd
}

// calendar is the calendar in force: the ledger's when a database is
// configured, else the built-in one.
func (cfg *config) calendar(cmd *cobra.Command) (*calendar.Calendar, error) {
	if cfg.DatabaseURL == "" {
		return calendar.Builtin(), nil
	}
	store, err := ledger.Open(cmd.Context(), cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return store.Calendar(cmd.Context())
}

// printDeadline writes the due date alone on the first line, then the
// explanation, in the user's language (cliLang).
func printDeadline(w io.Writer, d calendar.Deadline) error {
	if _, err := fmt.Fprintln(w, d.Due); err != nil {
		return err
	}
	for _, l := range d.ExplanationIn(cliLang()) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// cliLang is the language of the commands' output and of the answers they
// ask the server for: English when the user's locale (LC_ALL, LC_MESSAGES,
// LANG, the first one set) is English, Chinese otherwise, as the API.
func cliLang() i18n.Lang {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(name); v != "" {
			if strings.HasPrefix(v, "en") {
				return i18n.English
			}
			return i18n.Chinese
		}
	}
	return i18n.Chinese
}
