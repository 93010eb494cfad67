package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/devissuer"
)

// devIssuerDir is where, under the dev data directory, the dev OpenID
// provider keeps its signing keys, its service accounts' secrets and the
// issuer URL `xuncha dev` serves.
const devIssuerDir = "oidc"

// tokenFlags are `xuncha token`'s own flags.
type tokenFlags struct {
	dataDir, role, name, org, subject string
	units                             []string
	ttl                               time.Duration
}

func newTokenCmd(cfg *config) *cobra.Command {
	tf := &tokenFlags{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a bearer token from the dev OpenID provider, on one line",
		Long: "Mints an access token for a dev user of the role (flags override its subject, name,\n" +
			"organisation and units) and prints it on one line. It signs with the dev issuer's current\n" +
			"key, read from <data-dir>/oidc/keys (created if missing), so no server needs to run; the\n" +
			"token is a standard JWT that any verifier accepts through the issuer's discovery document.\n" +
			"The issuer URL is --oidc-issuer (XUNCHA_OIDC_ISSUER) or, when unset, the one `xuncha dev`\n" +
			"recorded in <data-dir>/oidc/issuer. For local use only.",
		Example: "  curl -H \"Authorization: Bearer $(bin/xuncha token --role office)\" http://localhost:8080/v1/inspections\n" +
			"  xuncha token --role unit --unit 430100 --unit 430200 --name 陈静 --ttl 8h",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := mintDevToken(cfg, tf)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	cfg.bindOIDC(cmd, "issuer URL to put in the token (default: the one xuncha dev recorded in <data-dir>/oidc/issuer)")
	f := cmd.Flags()
	f.StringVar(&tf.dataDir, "data-dir", envOr("XUNCHA_DATA_DIR", ".data"), "dev data directory; the issuer's keys are in <data-dir>/oidc [XUNCHA_DATA_DIR]")
	f.StringVar(&tf.role, "role", "", "role: "+strings.Join(actor.Roles, ", ")+" (required)")
	f.StringArrayVar(&tf.units, "unit", nil, "unit code the caller acts for; repeat for several (default: the dev user's, 430100 for unit)")
	f.StringVar(&tf.name, "name", "", "the caller's name (default: the dev user's)")
	f.StringVar(&tf.org, "org", "", "the caller's organisation (default: the dev user's)")
	f.StringVar(&tf.subject, "subject", "", "the token's subject, sub (default: the dev user's, e.g. dev-office)")
	f.DurationVar(&tf.ttl, "ttl", devissuer.DefaultTTL, "how long the token is valid, at most 720h")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func mintDevToken(cfg *config, tf *tokenFlags) (string, error) {
	if !slices.Contains(actor.Roles, tf.role) {
		return "", fmt.Errorf("--role must be one of %s, not %q", strings.Join(actor.Roles, ", "), tf.role)
	}
	dir, err := filepath.Abs(filepath.Join(tf.dataDir, devIssuerDir))
	if err != nil {
		return "", fmt.Errorf("--data-dir: %w", err)
	}
	issuer := cfg.OIDC.Issuer
	if issuer == "" {
		if issuer, err = devissuer.RecordedIssuer(dir); err != nil {
			return "", err
		}
	}
	if issuer == "" {
		return "", fmt.Errorf("no issuer URL: run `xuncha dev` once (it records the issuer it serves in %s) or set --oidc-issuer / XUNCHA_OIDC_ISSUER",
			filepath.Join(dir, devissuer.IssuerFile))
	}
	user, err := devissuer.UserForRole(tf.role)
	if err != nil {
		return "", err
	}
	for _, o := range []struct {
		flag, value string
		field       *string
	}{{"--subject", tf.subject, &user.Subject}, {"--name", tf.name, &user.Name}, {"--org", tf.org, &user.Organisation}} {
		if v := strings.TrimSpace(o.value); v != "" {
			*o.field = v
		} else if o.value != "" {
			return "", fmt.Errorf("%s must not be blank", o.flag)
		}
	}
	if len(tf.units) > 0 {
		user.Units = nil
		for _, u := range tf.units {
			if u = strings.TrimSpace(u); u == "" {
				return "", fmt.Errorf("--unit must not be blank")
			}
			user.Units = append(user.Units, u)
		}
	}
	iss, err := devissuer.New(devissuer.Config{Issuer: issuer, Dir: dir, Audience: cfg.OIDC.Audience, Claims: cfg.OIDC.Claims})
	if err != nil {
		return "", err
	}
	return iss.Mint(devissuer.MintRequest{User: user, TTL: tf.ttl})
}
