package casework

import (
	"time"

	"github.com/xuncha/xuncha/internal/actor"
)

// Evidence is metadata of one uploaded blob.
type Evidence struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"` // DOCUMENT, PHOTO, AUDIO, VIDEO
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	Location    string      `json:"location"`
	FileName    string      `json:"file_name,omitempty"`
	ContentType string      `json:"content_type,omitempty"`
	CapturedAt  time.Time   `json:"captured_at"`
	CapturedBy  string      `json:"captured_by"`
	UploadedBy  actor.Actor `json:"uploaded_by"`
	UploadedAt  time.Time   `json:"uploaded_at"`
}
