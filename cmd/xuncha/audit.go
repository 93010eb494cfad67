package main

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

func newAuditCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the tamper-evident audit chains, or anchor them by hand",
	}
	var subject, since, expect string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit chains; exit non-zero naming the first broken row",
		Long: "Recomputes every event's and access record's hash, the links between them, each chain's\n" +
			"seq, its end against its head row and the anchors, and the anchor chain itself, on one\n" +
			"snapshot of the database. Prints one line per problem (hash mismatch, broken link,\n" +
			"seq gap, missing tail, head mismatch, anchor mismatch, unsealed) and exits 1 if any.",
		Example: "  xuncha audit verify\n" +
			"  xuncha audit verify --subject finding/f-1a2b3c\n" +
			"  xuncha audit verify --since 2026-11-01 --expect-anchor 12:9f86d081884c7d65…",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.requireDatabase(); err != nil {
				return err
			}
			opts := ledger.VerifyOptions{Subject: subject}
			if since != "" {
				d, err := calendar.ParseDate(since)
				if err != nil {
					return fmt.Errorf("--since %q: must be a date YYYY-MM-DD", since)
				}
				opts.Since = d.Start()
			}
			if expect != "" {
				ref, err := ledger.ParseAnchorRef(expect)
				if err != nil {
					return fmt.Errorf("--expect-anchor: %w", err)
				}
				opts.ExpectAnchor = &ref
			}
			store, err := ledger.Open(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer store.Close()
			r, err := store.VerifyAudit(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printAuditReport(cmd.OutOrStdout(), r)
		},
	}
	verify.Flags().StringVar(&subject, "subject", "", `one chain: "finding/ID", "inspection/ID", "access/DAY/CALLER", or a bare subject ID`)
	verify.Flags().StringVar(&since, "since", "", "only the chains written to on or after this day (Asia/Shanghai), YYYY-MM-DD, each in full")
	verify.Flags().StringVar(&expect, "expect-anchor", "", "`SEQ:HASH` of an anchor recorded outside the database, as xuncha audit anchor prints it")

	anchor := &cobra.Command{
		Use:   "anchor",
		Short: "Write an anchor of the audit chains now (the worker writes one every day)",
		Long: "Chains any event written without a hash, prunes access records older than the retention,\n" +
			"and appends an anchor over every chain head. Prints SEQ:HASH: keep it outside the database\n" +
			"(xuncha audit verify --expect-anchor checks it).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.requireDatabase(); err != nil {
				return err
			}
			alg, err := cfg.auditHash()
			if err != nil {
				return err
			}
			retention, err := cfg.accessLogRetentionDays()
			if err != nil {
				return err
			}
			store, err := ledger.Open(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer store.Close()
			store.AuditHash = alg
			a, err := store.WriteAnchor(cmd.Context(), ledger.AnchorOptions{TakenBy: casework.AnchorByCommand, AccessLogRetentionDays: retention})
			if err != nil {
				return err
			}
			// SEQ:HASH alone on standard output, for --expect-anchor
			// "$(xuncha audit anchor)"; the summary for people on standard
			// error (both went to standard output, and that did not parse).
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%d:%s\n", a.Seq, hex.EncodeToString(a.Hash)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "anchor %d (%s) over %d chain heads, %d moved since the previous anchor, %d access records pruned\n",
				a.Seq, a.HashAlg, a.HeadsCount, a.EntriesCount, a.AccessPrunedRows)
			return err
		},
	}
	cfg.bindAudit(anchor)
	cmd.AddCommand(verify, anchor)
	return cmd
}

// printAuditReport writes what verification checked and found, and returns
// an error naming the first problem when there is one.
func printAuditReport(w io.Writer, r ledger.AuditReport) error {
	for _, p := range r.Problems {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	if r.Truncated {
		if _, err := fmt.Fprintln(w, "… more problems were found; fix or explain these and run again"); err != nil {
			return err
		}
	}
	summary := fmt.Sprintf("checked %d chains: %d events, %d access records, %d anchors", r.Chains, r.Events, r.AccessRecords, r.Anchors)
	if a := r.LatestAnchor; a != nil {
		summary += fmt.Sprintf("; latest anchor %d:%s (%s, %s)", a.Seq, hex.EncodeToString(a.Hash), a.HashAlg,
			a.TakenAt.In(calendar.Location()).Format("2006-01-02 15:04:05 MST"))
	}
	if _, err := fmt.Fprintln(w, summary); err != nil {
		return err
	}
	if !r.OK() {
		return fmt.Errorf("audit verification failed: %d problem(s); the first: %s", len(r.Problems), r.Problems[0])
	}
	_, err := fmt.Fprintln(w, "audit chains intact")
	return err
}
