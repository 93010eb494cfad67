package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"
)

// newExpertsCmd is the expert pool's list (巡查专家库) in, as a workbook,
// following xuncha findings import|template.
func newExpertsCmd() *cobra.Command {
	c := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "experts",
		Short: "The inspection expert pool (巡查专家库) into a server, as a workbook",
		Args:  cobra.NoArgs,
	}
	c.bind(cmd)
	cmd.AddCommand(newExpertsImportCmd(c), newExpertsTemplateCmd(c))
	return cmd
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
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	query := url.Values{}
	if partial {
		query.Set("partial", "true")
	}
	req, err := c.request(cmd, http.MethodPost, "/v1/experts:import", query, f)
	if err != nil {
		return err
	}
	req.ContentLength = info.Size()
	req.Header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", file, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	var report expertImportReport
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	return report.print(cmd.OutOrStdout())
}

// expertImportReport is the server's report (api.ExpertImportReport).
type expertImportReport struct {
	Sheet           string `json:"sheet"`
	Rows            int    `json:"rows"`
	Recorded        int    `json:"recorded"`
	AlreadyRecorded int    `json:"already_recorded"`
	Skipped         int    `json:"skipped"`
	Problems        []struct {
		Cell, Column, Rule string
	} `json:"problems"`
}

func (r expertImportReport) print(w io.Writer) error {
	_, err := fmt.Fprintf(w, "sheet %s: %d rows; %d people added, %d already in the pool, %d invalid rows skipped\n",
		r.Sheet, r.Rows, r.Recorded, r.AlreadyRecorded, r.Skipped)
	for _, p := range r.Problems {
		if _, err := fmt.Fprintf(w, "  %s: %s %s\n", p.Cell, p.Column, p.Rule); err != nil {
			return err
		}
	}
	return err
}

func newExpertsTemplateCmd(c *clientFlags) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Download the empty pool list to fill in and import",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return download(cmd, c, "/v1/experts:template", nil, out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: experts-template.xlsx)")
	return cmd
}
