package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/xuncha/xuncha/internal/i18n"
)

// clientFlags say which server a client command talks to, as whom.
type clientFlags struct {
	server, token string
}

func (c *clientFlags) bind(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.server, "server", envOr("XUNCHA_SERVER", "http://localhost:8080"), "the xuncha server's REST address [XUNCHA_SERVER]")
	f.StringVar(&c.token, "token", envOr("XUNCHA_TOKEN", ""),
		"bearer token to call with (under xuncha dev: $(xuncha token --role team_member); none: the dev server's office user) [XUNCHA_TOKEN]")
	secretDefault(f.Lookup("token"))
}

// request builds a request to path (with query) on the server.
func (c *clientFlags) request(cmd *cobra.Command, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	base, err := url.Parse(strings.TrimRight(c.server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--server must be an http:// or https:// address, not %q", redactURL(c.server))
	}
	u := base.JoinPath(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(cmd.Context(), method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(c.token); t != "" {
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(t, "Bearer "))
	}
	req.Header.Set("Accept-Language", cliLang().String())
	return req, nil
}

// apiStatus is an error as the server writes it (google.rpc.Status).
type apiStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		FieldViolations []struct {
			Field       string `json:"field"`
			Description string `json:"description"`
		} `json:"field_violations"`
	} `json:"details"`
}

// err is the status as an error: its message, then each field violation
// on a line of its own.
func (s apiStatus) err(httpStatus string) error {
	var b strings.Builder
	b.WriteString(s.Message)
	if s.Message == "" {
		b.WriteString("the server answered " + httpStatus)
	}
	for _, d := range s.Details {
		for _, v := range d.FieldViolations {
			fmt.Fprintf(&b, "\n  %s: %s", v.Field, v.Description)
		}
	}
	return errors.New(b.String())
}

// maxErrorAnswer is the most of an error answer the CLI reads: an
// import's refusal names up to problemlist.MaxProblemsShown cells, each
// rule at most a few hundred characters in two languages.
const maxErrorAnswer = 16 << 20

// answerError reads an error answer; what is not the API's JSON is quoted,
// cut short.
func answerError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
	var st apiStatus
	if json.Unmarshal(data, &st) != nil {
		return fmt.Errorf("the server answered %s: %s", resp.Status, i18n.Clip(strings.TrimSpace(string(data)), 2000))
	}
	return st.err(resp.Status)
}

func newFindingsCmd() *cobra.Command {
	return newClientGroupCmd("findings", "The problem list (问题清单) in and out of a server, as workbooks",
		newFindingsImportCmd, newFindingsExportCmd, func(c *clientFlags) *cobra.Command {
			return newTemplateCmd(c, "Download the empty problem list to fill in and import", "/v1/findings:template", "findings-template.xlsx")
		})
}

// newClientGroupCmd is a group of commands that talk to a server: the
// group's client flags (--server, --token) are theirs too.
func newClientGroupCmd(use, short string, subcommands ...func(*clientFlags) *cobra.Command) *cobra.Command {
	c := &clientFlags{}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	c.bind(cmd)
	for _, sub := range subcommands {
		cmd.AddCommand(sub(c))
	}
	return cmd
}

func newFindingsImportCmd(c *clientFlags) *cobra.Command {
	var inspection string
	var partial bool
	cmd := &cobra.Command{
		Use:   "import FILE --inspection ID",
		Short: "Record the findings of a problem list workbook (.xlsx) in an inspection",
		Long: "Uploads FILE to POST /v1/inspections/{ID}/findings:import and shows the progress while the\n" +
			"server records its rows. Every row is checked first: any invalid cell refuses the whole file,\n" +
			"each such cell named (G7: 严重程度 must be …), unless --partial records the valid rows. Rows\n" +
			"already recorded (the same file uploaded again) are not recorded twice. The rows are recorded in\n" +
			"one transaction, numbered and LISTED; their workflows are started after, in the background.",
		Example: "  xuncha findings import 问题清单.xlsx --inspection ins-0123456789abcdef --token \"$(xuncha token --role team_member)\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(inspection) == "" {
				return errors.New("--inspection must name the inspection to record the findings in")
			}
			return importFindings(cmd, c, args[0], inspection, partial)
		},
	}
	cmd.Flags().StringVar(&inspection, "inspection", "", "the inspection's ID (required; --inspection-id too, as findings export names it)")
	// --inspection-id is another name of the same flag (not a second flag
	// on the same variable: each command's unset flags get their defaults
	// back as it starts, ownDefaults, and would clear the one that was set).
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "inspection-id" {
			name = "inspection"
		}
		return pflag.NormalizedName(name)
	})
	cmd.Flags().BoolVar(&partial, "partial", false, "record the valid rows even when others are invalid")
	return cmd
}

// importFindings uploads the workbook and shows the progress: the bytes
// sent, then the rows recorded, as the server reports them.
func importFindings(cmd *cobra.Command, c *clientFlags, file, inspection string, partial bool) error {
	bar := &progressBar{w: cmd.ErrOrStderr(), lang: cliLang()}
	resp, err := postWorkbook(cmd, c, file, "/v1/inspections/"+url.PathEscape(inspection)+"/findings:import", partial,
		"application/x-ndjson, application/json", func(n, size int64) { bar.show("uploading", n, size, "bytes") })
	if err != nil {
		bar.done()
		return err
	}
	defer resp.Body.Close()
	bar.show("checking", 0, 0, "")
	if resp.StatusCode != http.StatusOK {
		bar.done()
		return answerError(resp)
	}
	var report importReport
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		bar.done()
		if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		return report.print(cmd.OutOrStdout())
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 64<<20)
	for lines.Scan() {
		var line struct {
			Progress *struct{ Done, Total int64 } `json:"progress"`
			Report   *importReport                `json:"report"`
			Error    *apiStatus                   `json:"error"`
		}
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			bar.done()
			return fmt.Errorf("reading the answer: %w", err)
		}
		switch {
		case line.Progress != nil:
			bar.show("recording", line.Progress.Done, line.Progress.Total, "rows")
		case line.Report != nil:
			bar.done()
			return line.Report.print(cmd.OutOrStdout())
		case line.Error != nil:
			bar.done()
			return line.Error.err(resp.Status)
		}
	}
	bar.done()
	if err := lines.Err(); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	return errors.New("the server's answer ended before its report: upload the same file again (rows recorded are not recorded twice)")
}

// importReport is the server's report (api.ImportReport).
type importReport struct {
	InspectionID     string `json:"inspection_id"`
	ImportWorkflowID string `json:"import_workflow_id"`
	workbookReport
}

// print writes the report in the locale's language (cliLang), as the
// server's answers come: it was English whatever the locale.
func (r importReport) print(w io.Writer) error {
	lang := cliLang()
	_, err := fmt.Fprintln(w, lang.Say("inspection %s, sheet %s: %d rows; %d findings recorded, %d already recorded, %d invalid rows skipped",
		r.InspectionID, r.Sheet, r.Rows, r.Recorded, r.AlreadyRecorded, r.Skipped))
	if err == nil && r.ImportWorkflowID != "" {
		_, err = fmt.Fprintln(w, lang.Say("the findings' workflows are being started by workflow %s", r.ImportWorkflowID))
	}
	return r.printProblems(w, err)
}

// countingReader reports the bytes read.
type countingReader struct {
	r    io.Reader
	n    int64
	each func(n int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.each(c.n)
	return n, err
}

// progressBar draws one line of progress on a terminal (carriage returns),
// at most every tenth of a second.
type progressBar struct {
	w     io.Writer
	lang  i18n.Lang
	last  time.Time
	shown bool
}

// progressWords are the bar's labels and units in Chinese.
var progressWords = map[string]string{"uploading": "上传", "checking": "检查", "recording": "登记", "bytes": "字节", "rows": "行"}

// show draws the bar; what and unit are English, said in the bar's
// language.
func (b *progressBar) show(what string, done, total int64, unit string) {
	if b.lang == i18n.Chinese {
		what, unit = progressWords[what], progressWords[unit]
	}
	if time.Since(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.last = time.Now()
	b.shown = true
	if total <= 0 {
		fmt.Fprintf(b.w, "\r%-10s …%40s", what, "")
		return
	}
	const width = 30
	filled := int(done * width / total)
	fmt.Fprintf(b.w, "\r%-10s [%s%s] %d/%d %s %3d%%", what, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		done, total, unit, done*100/total)
}

func (b *progressBar) done() {
	if b.shown {
		fmt.Fprintln(b.w)
		b.shown = false
	}
}

// exportFilters are the export's filters, GET /v1/findings' own.
var exportFilters = []string{"inspection_id", "unit_code", "stage", "kind", "severity", "overdue"}

func newFindingsExportCmd(c *clientFlags) *cobra.Command {
	var format, out string
	filters := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Download the problem list as a workbook (.xlsx) or CSV, with the list's filters",
		Long: "Downloads GET /v1/findings:export: every finding the filters select (those of GET /v1/findings),\n" +
			"in the caller's scope, oldest first; the workbook has a second sheet of their statistics.",
		Example: "  xuncha findings export --unit-code 430100 --stage REFERRED -o 长沙市问题清单.xlsx",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query := url.Values{"format": {format}}
			for _, name := range exportFilters {
				if v := *filters[name]; v != "" {
					query.Set(name, v)
				}
			}
			return download(cmd, c, "/v1/findings:export", query, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "xlsx", "xlsx or csv")
	f.StringVarP(&out, "output", "o", "", "file to write (default: the name the server gives, in the current directory)")
	for _, name := range exportFilters {
		filters[name] = f.String(strings.ReplaceAll(name, "_", "-"), "", "only findings with this "+name+" (as GET /v1/findings)")
	}
	return cmd
}

// download writes the answer to GET path to out, or to the file name the
// server gives.
func download(cmd *cobra.Command, c *clientFlags, path string, query url.Values, out string) error {
	req, err := c.request(cmd, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	named := out == "" // by the server: a new file of a workbook's or list's name
	if named {
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		out = params["filename"]
		if err != nil || !downloadName.MatchString(out) {
			return fmt.Errorf("the server named no file this command writes (%q: a name of a .xlsx or .csv file in this directory): give one with -o", out)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".xuncha-download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// The office's problem list: for whoever downloaded it.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	n, err := io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("downloading: %w", err)
	}
	if named {
		// A name the server gave replaces nothing: a file of that name
		// was replaced (a server could name .bashrc).
		if err := os.Link(tmp.Name(), out); errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: give -o to replace it, or another name", out)
		} else if err != nil {
			return err
		}
	} else if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, n)
	return err
}

// downloadName is a file name a server may choose for a download: a
// workbook's or a list's, in this directory, not hidden.
var downloadName = regexp.MustCompile(`^[^./\\\x00-\x1f][^/\\\x00-\x1f]*\.(xlsx|csv)$`)
