package ledger

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

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
	// A token is the client's to send back, and so to forge: its ID goes to
	// PostgreSQL as a text parameter, which refuses NUL (an internal error,
	// not the caller's mistake) — no ID of the ledger holds a control
	// character or is longer than the longest ID a request may name.
	if err != nil || c.ID == "" || len(c.ID) > maxCursorID || strings.IndexFunc(c.ID, unicode.IsControl) >= 0 {
		return nil, derrors.Invalid("page_token", "must be a next_page_token from an earlier response")
	}
	return &c, nil
}

// maxCursorID is the longest ID a page token may carry, in bytes: IDs are
// at most 128 characters (the API's boundary), 4 bytes each at the most.
const maxCursorID = 4 * 128

// CheckPageToken refuses a page token no list gave (INVALID_ARGUMENT naming
// page_token), for a caller that answers without listing; the empty token
// is the first page.
func CheckPageToken(token string) error {
	_, err := decodeCursor(token)
	return err
}

// listPage reads one page of a keyset-paginated query. fetch runs the query
// with the cursor (the previous page's last time and ID: nil and "" on the
// first page) and a row limit: one row more than pageSize is read to know
// whether another page follows. convert makes a row a domain value.
// pageSize <= 0 means DefaultPageSize.
func listPage[R, T any](what string, pageSize int, pageToken string,
	fetch func(afterAt *time.Time, afterID string, limit int64) ([]R, error),
	convert func(R) (T, error), position func(T) cursor,
) (_ []T, nextPageToken string, _ error) {
	after, err := decodeCursor(pageToken)
	if err != nil {
		return nil, "", err
	}
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	var afterAt *time.Time
	var afterID string
	if after != nil {
		afterAt, afterID = &after.At, after.ID
	}
	rows, err := fetch(afterAt, afterID, int64(pageSize)+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing %s: %w", what, err)
	}
	list, err := convertAll(rows, convert)
	if err != nil {
		return nil, "", fmt.Errorf("listing %s: %w", what, err)
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		nextPageToken = encodeCursor(position(list[len(list)-1]))
	}
	return list, nextPageToken, nil
}

// convertAll converts rows to domain values, stopping at the first error;
// no rows is an empty slice.
func convertAll[R, T any](rows []R, convert func(R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, err := convert(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
