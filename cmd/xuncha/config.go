package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// config holds every setting; each flag's default comes from its environment
// variable when set, and an explicit flag wins over both.
type config struct {
	// DatabaseURL is the ledger's PostgreSQL as the application role, the
	// one server and worker connect as (DATABASE_URL). Required for server
	// and worker; `migrate` takes the application role's name and password
	// from it; `dev` starts a private PostgreSQL when empty.
	DatabaseURL string
	// MigrateDatabaseURL is the ledger's PostgreSQL as the role that owns
	// its tables, for `migrate` and `dev` (MIGRATE_DATABASE_URL; default
	// none: migrate connects with DATABASE_URL and sets up no application
	// role, and server and worker then run as the owner; `dev` with its
	// private PostgreSQL: the superuser).
	MigrateDatabaseURL string
	// AppRole is the application role `migrate` creates if missing and
	// grants the application's privileges (XUNCHA_APP_ROLE; default:
	// DATABASE_URL's user when MIGRATE_DATABASE_URL is set; `dev` with its
	// private PostgreSQL: xuncha_app).
	AppRole string
	// TemporalAddress is the Temporal frontend (TEMPORAL_ADDRESS, default
	// 127.0.0.1:7233).
	TemporalAddress string
	// TemporalNamespace (TEMPORAL_NAMESPACE, default "default").
	TemporalNamespace string
	// TaskQueue (XUNCHA_TASK_QUEUE, default "xuncha").
	TaskQueue string
	// GRPCAddr is the gRPC listen address (XUNCHA_GRPC_ADDR, default :9090).
	GRPCAddr string
	// HTTPAddr is the REST listen address (XUNCHA_HTTP_ADDR, default :8080).
	HTTPAddr string
	// AdminAddr is the admin listen address of server, worker and dev:
	// /metrics, /healthz, /readyz, /debug/pprof/ (XUNCHA_ADMIN_ADDR, default
	// :9464).
	AdminAddr string
	// LogLevel (XUNCHA_LOG_LEVEL, default info).
	LogLevel string
	// LogFormat is console or json (XUNCHA_LOG_FORMAT, default console).
	LogFormat string
	// EvidenceDir is where the API stores uploaded evidence blobs
	// (XUNCHA_EVIDENCE_DIR; default /var/lib/xuncha/evidence for `server`,
	// <data-dir>/evidence, i.e. .data/evidence, for `dev`).
	EvidenceDir string
	// MaxEvidenceBytes is the largest evidence upload accepted
	// (XUNCHA_EVIDENCE_MAX_BYTES, default 100 MiB).
	MaxEvidenceBytes int64
	// RequestTimeout bounds every API call, changes and reads
	// (XUNCHA_REQUEST_TIMEOUT, default 10s); past it the caller gets 503 /
	// UNAVAILABLE with Retry-After and may retry with the same request_id.
	RequestTimeout time.Duration
	// WriteIdleTimeout bounds how long one write of an HTTP response may
	// wait for a client that stopped reading (XUNCHA_WRITE_IDLE_TIMEOUT,
	// default 60s); a download may take longer in all.
	WriteIdleTimeout time.Duration
	// ReadIdleTimeout bounds how long one read of an HTTP request's body
	// may wait for a client that stopped sending (XUNCHA_READ_IDLE_TIMEOUT,
	// default 60s); an upload may take longer in all.
	ReadIdleTimeout time.Duration
	// DrainDelay is how long the API keeps serving, not ready, once asked
	// to stop (XUNCHA_DRAIN_DELAY; server 5s, dev 0).
	DrainDelay time.Duration
	// TipKey seals tips' content and their reporters' identities: 32 random
	// bytes in base64 (XUNCHA_TIP_KEY; no default: `server` refuses to start
	// without it, `dev` creates <data-dir>/tip.key once). It also seals
	// webhook secrets, so the worker, which signs deliveries, needs it too;
	// `migrate` needs it to seal tip content stored in plaintext.
	TipKey string
	// PayloadKeys is the payload key ring, comma-separated entries
	// ID:KEY or ID:CIPHER:KEY (KEY in base64), the first encrypting
	// (XUNCHA_PAYLOAD_KEYS; read only when used, so --help never prints
	// it). PayloadKeyFile names a file of such entries, one per line
	// (XUNCHA_PAYLOAD_KEY_FILE). Exactly one of them is required by
	// `server` and `worker`; `dev` creates <data-dir>/payload.keys once.
	PayloadKeys    string
	PayloadKeyFile string
	// PayloadCipher is the cipher of key entries that name none:
	// aes-256-gcm or sm4-gcm (XUNCHA_PAYLOAD_CIPHER, default aes-256-gcm).
	PayloadCipher string
	// AcceptUnsigned makes the workers take Updates and starts that carry
	// no signature, for the rollout that first signs them
	// (XUNCHA_ACCEPT_UNSIGNED=true; default false).
	AcceptUnsigned bool
	// CodecCORSOrigin lists, comma-separated, the Web UI origins that may
	// call the codec routes from a browser (XUNCHA_CODEC_CORS_ORIGIN;
	// default none; `dev`: its Web UI, http://localhost:<ui port> and
	// http://127.0.0.1:<ui port>).
	CodecCORSOrigin string
	// WebhookAllow lists receivers webhooks may reach although their
	// addresses are not public: comma-separated CIDR networks, IP addresses
	// or host:port (XUNCHA_WEBHOOK_ALLOW; default empty, public addresses
	// only; `dev`: loopback, egress.LoopbackAllowList).
	WebhookAllow string
	// OIDC is the OpenID Connect verification: XUNCHA_OIDC_ISSUER (no
	// default), XUNCHA_OIDC_AUDIENCE (default xuncha) and the claim names
	// XUNCHA_OIDC_ROLES_CLAIM (xuncha_roles), XUNCHA_OIDC_UNITS_CLAIM
	// (xuncha_units), XUNCHA_OIDC_NAME_CLAIM (name), XUNCHA_OIDC_ORG_CLAIM
	// (org). `server` verifies every API call's token with them and refuses
	// to start without an issuer; `dev` serves its own issuer (at the
	// issuer URL, default http://localhost:<http port>/oidc); `token` mints
	// for it.
	OIDC authn.Config
	// AuditHash is the hash of new audit rows (events, access records,
	// anchors): sha256 or sm3 (XUNCHA_AUDIT_HASH, default sha256). Each row
	// records its own, so it may change at any time.
	AuditHash string
	// AccessLogRetention is how long access records are kept, in days
	// (XUNCHA_ACCESS_LOG_RETENTION, default 180; "365" or "365d"); the
	// daily anchor prunes older days. Less than 180 is refused.
	AccessLogRetention string
	// StatisticsCompactEvery is how often the worker folds the statistics'
	// pending changes into their tallies per round
	// (XUNCHA_STATISTICS_COMPACT_EVERY, default 30s; 0 turns it off, and a
	// statistics question then folds them itself once more than 10,000
	// wait).
	StatisticsCompactEvery time.Duration

	// badEnv lists the environment variables the flags read that do not
	// parse, each key with "KEY=value: what it must be" (envParsed,
	// checkEnv).
	badEnv []badEnv
}

func envOr(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return fallback
}

// envParsed reads key with parse; an unset or empty key gives fallback, an
// unparsable one fallback and an entry of c.badEnv, which the commands
// refuse to run with (checkEnv). Such a value gave the flag's default in
// silence: XUNCHA_REQUEST_TIMEOUT=30 ran with 10s.
func envParsed[T any](c *config, key string, fallback T, parse func(string) (T, error), want string) T {
	s, ok := os.LookupEnv(key)
	if !ok || s == "" {
		return fallback
	}
	v, err := parse(s)
	if err != nil {
		// Several commands' flags read some keys: each is named once.
		if !slices.ContainsFunc(c.badEnv, func(b badEnv) bool { return b.key == key }) {
			c.badEnv = append(c.badEnv, badEnv{key: key, says: fmt.Sprintf("%s=%q: must be %s", key, s, want)})
		}
		return fallback
	}
	return v
}

// badEnv is an environment variable a flag reads that does not parse.
type badEnv struct{ key, says string }

// checkEnv refuses to run cmd with an environment variable that does not
// parse and that one of its flags reads (its usage names it, "[KEY]"),
// unless the command line sets that flag; it names each. A variable only
// other commands read does not stop cmd (XUNCHA_DEV_TEMPORAL_PORT=x
// refused `calendar deadline`).
func (c *config) checkEnv(cmd *cobra.Command, _ []string) error {
	var says []string
	for _, b := range c.badEnv {
		read := false
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			read = read || (!f.Changed && strings.Contains(f.Usage, "["+b.key+"]"))
		})
		if read {
			says = append(says, b.says)
		}
	}
	if len(says) > 0 {
		return fmt.Errorf("the environment sets %s", strings.Join(says, "; "))
	}
	return nil
}

func (c *config) envIntOr(key string, fallback int) int {
	return envParsed(c, key, fallback, strconv.Atoi, "a whole number")
}

func (c *config) envInt64Or(key string, fallback int64) int64 {
	return envParsed(c, key, fallback, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }, "a whole number")
}

// envDurationOr reads a duration such as "10s" from key (an unset key gives
// fallback; a bad one is refused by checkEnv, as the flag's own parsing
// refuses a bad explicit value).
func (c *config) envDurationOr(key string, fallback time.Duration) time.Duration {
	return envParsed(c, key, fallback, time.ParseDuration, "a duration with its unit, e.g. 10s or 2m")
}

// secretDefault keeps a flag's default, taken from the environment, out of
// --help: a database URL holds its role's password, a token is a
// credential, and help goes to terminals, logs and support tickets. The
// default itself is kept aside for ownDefaults.
func secretDefault(f *pflag.Flag) {
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[defaultAnnotation] = []string{f.DefValue}
	f.DefValue = ""
}

// defaultAnnotation holds the default of a flag whose DefValue is hidden.
const defaultAnnotation = "xuncha/default"

// ownDefaults gives every flag of cmd that the command line did not set its
// default as cmd bound it. Several commands bind their flags to the same
// config field (dev's --http-addr and server's), and binding sets the
// field: each command's binding overwrote the one before, so dev ran with
// server's defaults, listening on every interface and answering anyone
// without a token as its office user. Run before any command (the root's
// PersistentPreRunE).
func ownDefaults(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		if _, slice := f.Value.(pflag.SliceValue); slice {
			return // slices are not bound to shared fields (tokenFlags.units)
		}
		def := f.DefValue
		if a, ok := f.Annotations[defaultAnnotation]; ok && len(a) == 1 {
			def = a[0]
		}
		if serr := f.Value.Set(def); serr != nil {
			err = fmt.Errorf("--%s: its default %q: %w", f.Name, def, serr)
		}
	})
	return err
}

func (c *config) bindCommon(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.DatabaseURL, "database-url", envOr("DATABASE_URL", ""), "ledger PostgreSQL URL as the application role server and worker connect as [DATABASE_URL]")
	secretDefault(f.Lookup("database-url"))
	f.StringVar(&c.TemporalAddress, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port [TEMPORAL_ADDRESS]")
	f.StringVar(&c.TemporalNamespace, "temporal-namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace [TEMPORAL_NAMESPACE]")
	f.StringVar(&c.TaskQueue, "task-queue", envOr("XUNCHA_TASK_QUEUE", workflows.DefaultTaskQueue), "Temporal task queue [XUNCHA_TASK_QUEUE]")
	f.StringVar(&c.LogLevel, "log-level", envOr("XUNCHA_LOG_LEVEL", "info"), "debug, info, warn or error [XUNCHA_LOG_LEVEL]")
	f.StringVar(&c.LogFormat, "log-format", envOr("XUNCHA_LOG_FORMAT", "console"), "console or json [XUNCHA_LOG_FORMAT]")
}

// bindListen adds the API's listen addresses, on host by default (empty:
// every interface; dev's is 127.0.0.1, see newDevCmd), and its other
// settings; drain is --drain-delay's default.
func (c *config) bindListen(cmd *cobra.Command, host string, drain time.Duration) {
	f := cmd.Flags()
	f.StringVar(&c.GRPCAddr, "grpc-addr", envOr("XUNCHA_GRPC_ADDR", host+":9090"), "gRPC listen address [XUNCHA_GRPC_ADDR]")
	f.StringVar(&c.HTTPAddr, "http-addr", envOr("XUNCHA_HTTP_ADDR", host+":8080"), "REST listen address [XUNCHA_HTTP_ADDR]")
	f.DurationVar(&c.RequestTimeout, "request-timeout", c.envDurationOr("XUNCHA_REQUEST_TIMEOUT", api.DefaultRequestTimeout),
		"longest an API call may take before it answers 503 with Retry-After, e.g. 10s [XUNCHA_REQUEST_TIMEOUT]")
	f.DurationVar(&c.WriteIdleTimeout, "write-idle-timeout", c.envDurationOr("XUNCHA_WRITE_IDLE_TIMEOUT", api.DefaultWriteIdleTimeout),
		"longest one write of an HTTP response may wait for a client that stopped reading, e.g. 60s [XUNCHA_WRITE_IDLE_TIMEOUT]")
	f.DurationVar(&c.DrainDelay, "drain-delay", c.envDurationOr("XUNCHA_DRAIN_DELAY", drain),
		"how long the API keeps serving, /readyz answering 503, once asked to stop, so that a load balancer takes it out first, e.g. 5s [XUNCHA_DRAIN_DELAY]")
	f.DurationVar(&c.ReadIdleTimeout, "read-idle-timeout", c.envDurationOr("XUNCHA_READ_IDLE_TIMEOUT", api.DefaultReadIdleTimeout),
		"longest one read of an HTTP request's body may wait for a client that stopped sending, e.g. 60s [XUNCHA_READ_IDLE_TIMEOUT]")
}

// bindEvidence adds the evidence store's flags to a command that serves the
// API; defaultDir applies when XUNCHA_EVIDENCE_DIR is unset (cobra shows it),
// and defaultNote describes a default resolved later (dev: under --data-dir).
func (c *config) bindEvidence(cmd *cobra.Command, defaultDir, defaultNote string) {
	f := cmd.Flags()
	f.StringVar(&c.EvidenceDir, "evidence-dir", envOr("XUNCHA_EVIDENCE_DIR", defaultDir),
		"directory of uploaded evidence blobs, created if missing"+defaultNote+" [XUNCHA_EVIDENCE_DIR]")
	f.Int64Var(&c.MaxEvidenceBytes, "evidence-max-bytes", c.envInt64Or("XUNCHA_EVIDENCE_MAX_BYTES", api.DefaultMaxEvidenceBytes),
		"largest evidence upload accepted, in bytes (104857600 is 100 MiB) [XUNCHA_EVIDENCE_MAX_BYTES]")
}

// evidenceStore opens the evidence directory, creating it if needed, so that
// a directory the process cannot write is reported at start, not at the
// first upload.
func (c *config) evidenceStore() (*evidence.Store, error) {
	if c.EvidenceDir == "" {
		return nil, fmt.Errorf("no evidence directory: set XUNCHA_EVIDENCE_DIR or --evidence-dir")
	}
	if c.MaxEvidenceBytes <= 0 {
		return nil, fmt.Errorf("XUNCHA_EVIDENCE_MAX_BYTES / --evidence-max-bytes must be positive, not %d", c.MaxEvidenceBytes)
	}
	dir, err := filepath.Abs(c.EvidenceDir)
	if err != nil {
		return nil, fmt.Errorf("--evidence-dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating evidence directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("evidence directory %s is not writable: %w", dir, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return &evidence.Store{Dir: dir}, nil
}

// bindMigrate adds the flags of a command that migrates the ledger:
// --migrate-database-url and --app-role.
func (c *config) bindMigrate(cmd *cobra.Command, appRoleNote string) {
	f := cmd.Flags()
	f.StringVar(&c.MigrateDatabaseURL, "migrate-database-url", envOr("MIGRATE_DATABASE_URL", ""),
		"ledger PostgreSQL URL as the role that owns the tables, for migrations (default: DATABASE_URL) [MIGRATE_DATABASE_URL]")
	secretDefault(f.Lookup("migrate-database-url"))
	f.StringVar(&c.AppRole, "app-role", envOr("XUNCHA_APP_ROLE", ""),
		"role server and worker connect as, created if missing and granted the application's privileges (default: DATABASE_URL's user when MIGRATE_DATABASE_URL is set"+appRoleNote+") [XUNCHA_APP_ROLE]")
}

// migrateTarget is what migrations connect to, the owner's URL
// (MIGRATE_DATABASE_URL, else DATABASE_URL), and the application role they
// set up: --app-role, else DATABASE_URL's user when MIGRATE_DATABASE_URL is
// set, with DATABASE_URL's password when it is that user. With DATABASE_URL
// alone and no --app-role, there is no application role: server and worker
// run as the owner, as before xuncha had one.
func (c *config) migrateTarget() (ownerURL string, opts ledger.MigrateOptions, err error) {
	ownerURL, opts.AppRole = c.MigrateDatabaseURL, c.AppRole
	if ownerURL == "" {
		ownerURL = c.DatabaseURL
	}
	if ownerURL == "" {
		return "", opts, fmt.Errorf("no database: set MIGRATE_DATABASE_URL to the owner's postgres://owner:pass@host:5432/xuncha " +
			"and DATABASE_URL to the application role's (or --migrate-database-url and --database-url)")
	}
	if c.MigrateDatabaseURL == "" || c.DatabaseURL == "" {
		return ownerURL, opts, nil
	}
	app, err := pgconn.ParseConfig(c.DatabaseURL)
	if err != nil {
		// The parse error can quote the password: keep only the kind.
		return "", opts, fmt.Errorf("DATABASE_URL / --database-url is not a valid PostgreSQL connection string")
	}
	if opts.AppRole == "" {
		opts.AppRole = app.User
	}
	if opts.AppRole == app.User {
		opts.AppPassword = app.Password
	}
	return ownerURL, opts, nil
}

// optionalTipSealer is the sealer of --tip-key or XUNCHA_TIP_KEY, or nil
// when neither is set: migrations need the key only to seal tip content
// stored in plaintext, and say so when they do.
func (c *config) optionalTipSealer() (*tipcrypt.Sealer, error) {
	if c.TipKey == "" && os.Getenv("XUNCHA_TIP_KEY") == "" {
		return nil, nil
	}
	return c.tipSealer()
}

// bindTipKey adds --tip-key. Its default is read from XUNCHA_TIP_KEY only
// when used (tipSealer), so that --help never prints the key.
func (c *config) bindTipKey(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.TipKey, "tip-key", "",
		"key sealing tips (content, reporters' identities) and webhook secrets: 32 random bytes, base64 (openssl rand -base64 32) [XUNCHA_TIP_KEY]")
}

// bindPayloadKeys adds the payload key ring's flags to a command that
// dials Temporal to run or start workflows. --payload-keys defaults to
// XUNCHA_PAYLOAD_KEYS only when used (payloadCodec), so that --help never
// prints keys.
func (c *config) bindPayloadKeys(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.PayloadKeys, "payload-keys", "",
		"payload key ring: comma-separated ID:KEY or ID:CIPHER:KEY entries (KEY: base64), the first encrypting [XUNCHA_PAYLOAD_KEYS]")
	f.StringVar(&c.PayloadKeyFile, "payload-key-file", envOr("XUNCHA_PAYLOAD_KEY_FILE", ""),
		"file of the payload key ring: one ID:KEY or ID:CIPHER:KEY entry per line, the first encrypting [XUNCHA_PAYLOAD_KEY_FILE]")
	f.StringVar(&c.PayloadCipher, "payload-cipher", envOr("XUNCHA_PAYLOAD_CIPHER", payloadcrypt.DefaultCipher),
		"cipher of key entries that name none: aes-256-gcm or sm4-gcm [XUNCHA_PAYLOAD_CIPHER]")
	f.BoolVar(&c.AcceptUnsigned, "accept-unsigned", envParsed(c, "XUNCHA_ACCEPT_UNSIGNED", false, strconv.ParseBool, "true or false"),
		"workers take Updates and starts that carry no signature, with a warning: only while upgrading to signed changes [XUNCHA_ACCEPT_UNSIGNED]")
}

// bindCodecCORS adds --codec-cors-origin to a command that serves the
// codec routes; def applies when XUNCHA_CODEC_CORS_ORIGIN is unset.
func (c *config) bindCodecCORS(cmd *cobra.Command, def, defNote string) {
	cmd.Flags().StringVar(&c.CodecCORSOrigin, "codec-cors-origin", envOr("XUNCHA_CODEC_CORS_ORIGIN", def),
		"comma-separated origins (scheme://host:port) of the Temporal Web UIs that may call /codec/decode and /codec/encode"+defNote+" [XUNCHA_CODEC_CORS_ORIGIN]")
}

// payloadCodec builds the payload codec from --payload-keys
// (XUNCHA_PAYLOAD_KEYS) or --payload-key-file (XUNCHA_PAYLOAD_KEY_FILE);
// without a key ring no worker or server starts.
func (c *config) payloadCodec() (*payloadcrypt.Codec, error) {
	list := c.PayloadKeys
	if list == "" {
		list = os.Getenv("XUNCHA_PAYLOAD_KEYS")
	}
	var keys []payloadcrypt.Key
	var err error
	switch {
	case list != "" && c.PayloadKeyFile != "":
		return nil, fmt.Errorf("both XUNCHA_PAYLOAD_KEYS (--payload-keys) and XUNCHA_PAYLOAD_KEY_FILE (--payload-key-file) are set: give the payload key ring once")
	case list != "":
		if keys, err = payloadcrypt.ParseList(list, c.PayloadCipher); err != nil {
			return nil, fmt.Errorf("XUNCHA_PAYLOAD_KEYS / --payload-keys: %w", err)
		}
	case c.PayloadKeyFile != "":
		content, rerr := os.ReadFile(c.PayloadKeyFile)
		if rerr != nil {
			return nil, fmt.Errorf("reading the payload key file (XUNCHA_PAYLOAD_KEY_FILE / --payload-key-file): %w", rerr)
		}
		if keys, err = payloadcrypt.ParseFile(string(content), c.PayloadCipher); err != nil {
			return nil, fmt.Errorf("payload key file %s: %w", c.PayloadKeyFile, err)
		}
	default:
		return nil, fmt.Errorf("no payload key: set XUNCHA_PAYLOAD_KEYS (or --payload-keys) to ID:KEY, e.g. %s:$(openssl rand -base64 32), or XUNCHA_PAYLOAD_KEY_FILE to a file of such lines; every Temporal payload is encrypted with it",
			time.Now().Format("2006-01"))
	}
	codec, err := payloadcrypt.New(keys)
	if err != nil {
		return nil, err
	}
	codec.AcceptUnsigned = c.AcceptUnsigned
	return codec, nil
}

// devPayloadKeys makes `xuncha dev` work without a payload key ring: it
// creates <dataDir>/payload.keys (mode 0600) with one key of
// --payload-cipher once, and reuses it.
func (c *config) devPayloadKeys(dataDir string, log *zap.Logger) error {
	if c.PayloadKeys != "" || c.PayloadKeyFile != "" || os.Getenv("XUNCHA_PAYLOAD_KEYS") != "" {
		return nil
	}
	path := filepath.Join(dataDir, "payload.keys")
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		entry, werr := payloadcrypt.GenerateEntry("dev-"+time.Now().Format("20060102"), c.PayloadCipher)
		if werr == nil {
			_, werr = f.WriteString("# xuncha dev's payload key ring: the first line encrypts, every line decrypts.\n" + entry + "\n")
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("writing payload key file %s: %w", path, werr)
		}
		log.Info("created the payload key ring; keep it with the data directory", zap.String("path", path))
	} else if !os.IsExist(err) {
		return fmt.Errorf("creating payload key file %s: %w", path, err)
	}
	c.PayloadKeyFile = path
	return nil
}

// bindWebhookAllow adds --webhook-allow to a command that accepts or
// delivers webhooks; def applies when XUNCHA_WEBHOOK_ALLOW is unset.
func (c *config) bindWebhookAllow(cmd *cobra.Command, def string) {
	cmd.Flags().StringVar(&c.WebhookAllow, "webhook-allow", envOr("XUNCHA_WEBHOOK_ALLOW", def),
		"non-public webhook receivers to allow: comma-separated CIDR networks, IP addresses or host:port (empty: public addresses only) [XUNCHA_WEBHOOK_ALLOW]")
}

// bindOIDC adds the OpenID Connect flags (--oidc-issuer, --oidc-audience,
// --oidc-roles-claim, --oidc-units-claim, --oidc-name-claim,
// --oidc-org-claim), each defaulting to its XUNCHA_OIDC_* variable.
func (c *config) bindOIDC(cmd *cobra.Command, issuerHelp string) {
	f := cmd.Flags()
	f.StringVar(&c.OIDC.Issuer, "oidc-issuer", envOr("XUNCHA_OIDC_ISSUER", ""), issuerHelp+" [XUNCHA_OIDC_ISSUER]")
	f.StringVar(&c.OIDC.Audience, "oidc-audience", envOr("XUNCHA_OIDC_AUDIENCE", authn.DefaultAudience), "audience (aud) a token must carry [XUNCHA_OIDC_AUDIENCE]")
	f.StringVar(&c.OIDC.Claims.Roles, "oidc-roles-claim", envOr("XUNCHA_OIDC_ROLES_CLAIM", authn.DefaultRolesClaim),
		"claim (or dotted path, e.g. realm_access.roles) listing the caller's roles [XUNCHA_OIDC_ROLES_CLAIM]")
	f.StringVar(&c.OIDC.Claims.Units, "oidc-units-claim", envOr("XUNCHA_OIDC_UNITS_CLAIM", authn.DefaultUnitsClaim),
		"claim (or dotted path) listing the unit codes a unit user acts for [XUNCHA_OIDC_UNITS_CLAIM]")
	f.StringVar(&c.OIDC.Claims.Name, "oidc-name-claim", envOr("XUNCHA_OIDC_NAME_CLAIM", authn.DefaultNameClaim),
		"claim (or dotted path) holding the caller's name [XUNCHA_OIDC_NAME_CLAIM]")
	f.StringVar(&c.OIDC.Claims.Org, "oidc-org-claim", envOr("XUNCHA_OIDC_ORG_CLAIM", authn.DefaultOrgClaim),
		"claim (or dotted path) holding the caller's organisation [XUNCHA_OIDC_ORG_CLAIM]")
}

// bindAudit adds --audit-hash and --access-log-retention to a command that
// writes audit rows or anchors.
func (c *config) bindAudit(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.AuditHash, "audit-hash", envOr("XUNCHA_AUDIT_HASH", string(ledger.HashSHA256)),
		"hash of new audit chain rows: sha256, or sm3 for national cryptography [XUNCHA_AUDIT_HASH]")
	f.StringVar(&c.AccessLogRetention, "access-log-retention",
		envOr("XUNCHA_ACCESS_LOG_RETENTION", strconv.Itoa(ledger.DefaultAccessLogRetentionDays)),
		"days access records are kept before the daily anchor prunes them, at least 180 (e.g. 365 or 365d) [XUNCHA_ACCESS_LOG_RETENTION]")
}

// bindStatistics adds --statistics-compact-every to a command that runs
// the worker.
func (c *config) bindStatistics(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&c.StatisticsCompactEvery, "statistics-compact-every",
		c.envDurationOr("XUNCHA_STATISTICS_COMPACT_EVERY", ledger.DefaultStatisticsCompactEvery),
		"how often the statistics' pending changes are folded into their tallies per round, e.g. 30s; 0 turns it off [XUNCHA_STATISTICS_COMPACT_EVERY]")
}

// auditHash is --audit-hash, checked; unset (a command without the flag)
// is the default, SHA-256.
func (c *config) auditHash() (ledger.HashAlg, error) {
	if c.AuditHash == "" {
		return ledger.HashSHA256, nil
	}
	alg, err := ledger.ParseHashAlg(c.AuditHash)
	if err != nil {
		return "", fmt.Errorf("XUNCHA_AUDIT_HASH / --audit-hash: %w", err)
	}
	return alg, nil
}

// accessLogRetentionDays is --access-log-retention in days, at least
// ledger.MinAccessLogRetentionDays.
func (c *config) accessLogRetentionDays() (int, error) {
	days, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(c.AccessLogRetention), "d"))
	if err != nil {
		return 0, fmt.Errorf("XUNCHA_ACCESS_LOG_RETENTION / --access-log-retention %q: must be a number of days such as 180 or 365d", c.AccessLogRetention)
	}
	if err := ledger.CheckAccessLogRetention(days); err != nil {
		return 0, fmt.Errorf("XUNCHA_ACCESS_LOG_RETENTION / --access-log-retention: %w", err)
	}
	return days, nil
}

// webhookPolicy builds the webhook address policy from --webhook-allow.
func (c *config) webhookPolicy() (*egress.Policy, error) {
	p, err := egress.ParseAllowList(c.WebhookAllow)
	if err != nil {
		return nil, fmt.Errorf("XUNCHA_WEBHOOK_ALLOW / --webhook-allow: %w", err)
	}
	return p, nil
}

// tipSealer builds the sealer of tips and webhook secrets from --tip-key or
// XUNCHA_TIP_KEY; without one the API does not start.
func (c *config) tipSealer() (*tipcrypt.Sealer, error) {
	key := c.tipKey()
	if key == "" {
		return nil, fmt.Errorf("no tip key: set XUNCHA_TIP_KEY or --tip-key to 32 random bytes in base64 (generate one with: openssl rand -base64 32)")
	}
	raw, err := tipcrypt.ParseKey(key)
	if err != nil {
		return nil, fmt.Errorf("XUNCHA_TIP_KEY / --tip-key: %w", err)
	}
	return tipcrypt.New(raw)
}

// tipKeyPlaceholder reports whether the tip key is one byte repeated
// (tipcrypt.Placeholder); false when it is missing or cannot be parsed
// (tipSealer says why).
func (c *config) tipKeyPlaceholder() bool {
	raw, err := tipcrypt.ParseKey(c.tipKey())
	return err == nil && tipcrypt.Placeholder(raw)
}

// tipKey is the tip key as configured: --tip-key, else XUNCHA_TIP_KEY.
func (c *config) tipKey() string {
	if c.TipKey != "" {
		return c.TipKey
	}
	return os.Getenv("XUNCHA_TIP_KEY")
}

// devTipKey makes `xuncha dev` work without XUNCHA_TIP_KEY: it creates
// <dataDir>/tip.key (mode 0600) once and reuses it.
func (c *config) devTipKey(dataDir string, log *zap.Logger) error {
	if c.tipKey() != "" {
		return nil
	}
	path := filepath.Join(dataDir, "tip.key")
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_, werr := f.WriteString(tipcrypt.GenerateKey() + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("writing tip key %s: %w", path, werr)
		}
		log.Info("created the tip key; keep it with the data directory", zap.String("path", path))
	} else if !os.IsExist(err) {
		return fmt.Errorf("creating tip key %s: %w", path, err)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading tip key %s: %w", path, err)
	}
	c.TipKey = string(key)
	return nil
}

// logger is the process's logger. It also refuses a malformed
// XUNCHA_TEST_DAY_ENDS_AT and warns when that benchmark-only setting moves
// the deadlines' day, so that it is never in force unnoticed.
func (c *config) logger() (*zap.Logger, error) {
	zone, err := calendar.CheckTestSetting()
	if err != nil {
		return nil, err
	}
	log, err := logging.New(c.LogLevel, c.LogFormat)
	switch {
	case errors.Is(err, logging.ErrLevel):
		return nil, fmt.Errorf("XUNCHA_LOG_LEVEL / --log-level: %w", err)
	case errors.Is(err, logging.ErrFormat):
		return nil, fmt.Errorf("XUNCHA_LOG_FORMAT / --log-format: %w", err)
	}
	if err == nil && zone != "" {
		log.Warn("BENCHMARK SETTING: deadlines are computed in a test zone, not Asia/Shanghai; never set this for an office",
			zap.String("setting", calendar.TestDayEndsAtEnv), zap.String("zone", zone))
	}
	return log, err
}

func (c *config) requireDatabase() error {
	if c.DatabaseURL == "" {
		return fmt.Errorf("no database: set DATABASE_URL or --database-url (postgres://user:pass@host:5432/xuncha)")
	}
	return nil
}

// dialTemporal connects to the Temporal frontend and checks that it
// answers. With codec, every payload the client (and a worker built on it)
// writes is encrypted and every one it reads decrypted; only `temporal
// setup`, which handles no payload, dials without. With tel, the SDK's
// metrics go to the process's registry and its spans join the traces.
func (c *config) dialTemporal(ctx context.Context, log *zap.Logger, codec *payloadcrypt.Codec, tel *telemetry.Telemetry) (client.Client, error) {
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    logging.Temporal(log),
	}
	if codec != nil {
		opts = codec.ClientOptions(opts)
	}
	if tel != nil { // the SDK's metrics and its tracing interceptor, for the client and its worker
		var err error
		if opts, err = tel.TemporalClient(opts); err != nil {
			return nil, err
		}
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("the Temporal server at %s is unreachable: start it (make run starts a dev server) or set TEMPORAL_ADDRESS: %v", c.TemporalAddress, err)
	}
	return cl, nil
}

// redactURL hides a password in a database URL for printing.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		// A key=value connection string: its password (quoted or not).
		return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	// A password in the query (postgres://u@db/x?password=…) as well as in
	// the user info.
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// dsnPassword matches a key=value connection string's password: its key
// and the value, quoted ('…', with \' inside) or up to white space.
var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
