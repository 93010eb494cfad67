package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// newExpertsCmd is the expert pool's list (巡查专家库) in, as a workbook,
// following xuncha findings import|template.
func newExpertsCmd() *cobra.Command {
	return newClientGroupCmd("experts", "The inspection expert pool (巡查专家库) into a server, as a workbook",
		newExpertsImportCmd, func(c *clientFlags) *cobra.Command {
			return newTemplateCmd(c, "Download the empty pool list to fill in and import", "/v1/experts:template", "experts-template.xlsx")
		})
}

func newExpertsImportCmd(c *clientFlags) *cobra.Command {
	var partial bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the people of a pool list workbook (.xlsx) to the expert pool",
		Long: "Uploads FILE to POST /v1/experts:import. Every row is checked first: any invalid cell refuses\n" +
			"the whole file, each such cell named (D7: 职级 must be …), unless --partial adds the valid rows.\n" +
			"Rows already added (the same file uploaded again) are not added twice.",
		Example: "  xuncha experts import 专家库.xlsx --token \"$(xuncha token --role office)\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importExperts(cmd, c, args[0], partial)
		},
	}
	cmd.Flags().BoolVar(&partial, "partial", false, "add the valid rows even when others are invalid")
	return cmd
}

// importExperts uploads the workbook and prints the server's report.
func importExperts(cmd *cobra.Command, c *clientFlags, file string, partial bool) error {
	resp, err := postWorkbook(cmd, c, file, "/v1/experts:import", partial, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	var report workbookReport
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), cliLang().Say("sheet %s: %d rows; %d people added, %d already in the pool, %d invalid rows skipped",
		report.Sheet, report.Rows, report.Recorded, report.AlreadyRecorded, report.Skipped))
	return report.printProblems(cmd.OutOrStdout(), err)
}
