package api_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/xuncha/xuncha/internal/testenv"
)

// The tests read the API's English: they were written against it, and the
// English is the code's own text. http.DefaultClient and the stack's gRPC
// connection ask for it (Accept-Language: en) unless a request names its
// own language; TestAnswersInChinese checks the default, Chinese, with a
// client of its own.
func TestMain(m *testing.M) {
	http.DefaultClient.Transport = english{http.DefaultTransport}
	os.Exit(testenv.Run(m))
}

// english is a transport that asks for English unless the request names a
// language.
type english struct{ next http.RoundTripper }

func (e english) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := r.Header["Accept-Language"]; !ok {
		r = r.Clone(r.Context())
		r.Header.Set("Accept-Language", "en")
	}
	return e.next.RoundTrip(r)
}

// askEnglish is the gRPC side of english.
func askEnglish(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get("accept-language")) == 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, "accept-language", "en")
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
