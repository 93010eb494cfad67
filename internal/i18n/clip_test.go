package i18n

import "testing"

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"短文本", 3, "短文本"},
		{"四个汉字", 3, "四个…"},
		{"abcdef", 1, "…"},
		{"", 0, ""},
	} {
		if got := Clip(tc.s, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := (Text{EN: "abcdef", ZH: "六个汉字汉字"}).Clip(4); got != (Text{EN: "abc…", ZH: "六个汉…"}) {
		t.Errorf("Text.Clip: %+v", got)
	}
}
