package ledger

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/xuncha/xuncha/internal/derrors"
)

// Page sizes (DESIGN §6).
const (
	// DefaultPageSize applies when a request gives none.
	DefaultPageSize = 50
	// MaxPageSize is the largest page served.
	MaxPageSize = 500
)

// cursor is the position after the last row of a page, in (time, id) order.
type cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// PageSize checks a requested page size and applies the default.
func PageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, derrors.Invalid("page_size", "must not be negative")
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return 0, derrors.Invalid("page_size", "must be at most %d", MaxPageSize)
	}
	return int(n), nil
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a page token; the empty token is the first page.
func decodeCursor(token string) (*cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return nil, derrors.Invalid("page_token", "must be a next_page_token from an earlier response")
	}
	return &c, nil
}
