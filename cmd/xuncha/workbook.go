package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"
)

// xlsxType is the media type of a workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// newTemplateCmd is `… template`: the download of an empty workbook from
// path, written to defaultFile unless -o names another.
func newTemplateCmd(c *clientFlags, short, path, defaultFile string) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "template",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return download(cmd, c, path, nil, out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: "+defaultFile+")")
	return cmd
}

// postWorkbook uploads the workbook file to POST path, with partial=true
// when partial, asking for accept when set; sent, when set, is told the
// bytes sent so far and the file's size. The answer is the caller's to
// read and close.
func postWorkbook(cmd *cobra.Command, c *clientFlags, file, path string, partial bool, accept string, sent func(n, size int64)) (*http.Response, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	query := url.Values{}
	if partial {
		query.Set("partial", "true")
	}
	var body io.Reader = f
	if sent != nil {
		body = &countingReader{r: f, each: func(n int64) { sent(n, info.Size()) }}
	}
	req, err := c.request(cmd, http.MethodPost, path, query, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = info.Size()
	req.Header.Set("Content-Type", xlsxType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("uploading %s: %w", file, err)
	}
	return resp, nil
}

// workbookReport is what the server reports of an imported workbook
// (api.ImportReport, api.ExpertImportReport): its rows, what they added,
// and the cells refused.
type workbookReport struct {
	Sheet           string `json:"sheet"`
	Rows            int    `json:"rows"`
	Recorded        int    `json:"recorded"`
	AlreadyRecorded int    `json:"already_recorded"`
	Skipped         int    `json:"skipped"`
	Problems        []struct {
		Cell, Column, Rule string
	} `json:"problems"`
}

// printProblems prints the cells refused, one a line, after a head whose
// error was err; it returns the first error.
func (r workbookReport) printProblems(w io.Writer, err error) error {
	for _, p := range r.Problems {
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "  %s: %s %s\n", p.Cell, p.Column, p.Rule)
	}
	return err
}
