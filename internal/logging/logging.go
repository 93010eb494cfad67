// Package logging builds the one zap logger a process uses and adapts it for
// the Temporal SDK.
package logging

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Errors of New's two settings, for a caller to name the setting.
var (
	ErrLevel  = errors.New("log level")
	ErrFormat = errors.New("log format")
)

// New builds a logger. level is debug, info, warn or error; format is console
// (human, the default for `xuncha dev`) or json (production). A level or
// format it does not know is an error matching ErrLevel or ErrFormat.
func New(level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w %q: must be debug, info, warn or error", ErrLevel, level)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	default:
		return nil, fmt.Errorf("%w %q: must be console or json", ErrFormat, format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Development = false
	logger, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("building logger: %w", err)
	}
	return logger, nil
}

// Temporal adapts a zap logger to the Temporal SDK's logger interface.
func Temporal(l *zap.Logger) log.Logger {
	return temporalLogger{s: l.WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

type temporalLogger struct{ s *zap.SugaredLogger }

func (l temporalLogger) Debug(msg string, kv ...any) { l.s.Debugw(msg, kv...) }
func (l temporalLogger) Info(msg string, kv ...any)  { l.s.Infow(msg, kv...) }
func (l temporalLogger) Warn(msg string, kv ...any)  { l.s.Warnw(msg, kv...) }
func (l temporalLogger) Error(msg string, kv ...any) { l.s.Errorw(msg, kv...) }

// With returns a logger with the key-value pairs attached. The SDK's tracing
// interceptor attaches TraceID and SpanID: they become trace_id and span_id,
// as in xuncha's own lines.
func (l temporalLogger) With(kv ...any) log.Logger {
	out := make([]any, len(kv))
	copy(out, kv)
	for i := 0; i+1 < len(out); i += 2 {
		key, _ := out[i].(string)
		var renamed string
		switch key {
		case "TraceID":
			renamed = TraceIDKey
		case "SpanID":
			renamed = SpanIDKey
		default:
			continue
		}
		out[i] = renamed
		if s, ok := out[i+1].(fmt.Stringer); ok {
			out[i+1] = s.String()
		}
	}
	return temporalLogger{s: l.s.With(out...)}
}

// Trace keys name the OpenTelemetry trace and span of a log line, the same
// in xuncha's own lines and in the Temporal SDK's (which says TraceID and
// SpanID; Temporal renames them), so that one search finds a request's
// lines in the gateway, the API and the worker.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// TraceFields are the trace_id and span_id of the span in ctx, or none when
// ctx carries no valid span context.
func TraceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{zap.String(TraceIDKey, sc.TraceID().String()), zap.String(SpanIDKey, sc.SpanID().String())}
}

// Ctx returns l with the trace fields of ctx (TraceFields) attached: the
// logger of one request or one activity.
func Ctx(ctx context.Context, l *zap.Logger) *zap.Logger {
	if f := TraceFields(ctx); f != nil {
		return l.With(f...)
	}
	return l
}

// TraceObject is TraceFields as one value to inline (zap.Inline): nothing
// when ctx carries no valid span context.
func TraceObject(ctx context.Context) zapcore.ObjectMarshaler {
	return traceObject(trace.SpanContextFromContext(ctx))
}

type traceObject trace.SpanContext

func (o traceObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	sc := trace.SpanContext(o)
	if sc.IsValid() {
		enc.AddString(TraceIDKey, sc.TraceID().String())
		enc.AddString(SpanIDKey, sc.SpanID().String())
	}
	return nil
}
