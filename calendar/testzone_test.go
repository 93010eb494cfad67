package calendar

import (
	"testing"
	"time"
)

func TestTestZoneEndsTheDayAtTheInstant(t *testing.T) {
	for _, v := range []string{"2026-11-29T20:15:00Z", "2026-11-29T03:07:00Z", "2026-11-29T12:00:00Z", "2026-11-29T00:00:00Z", "2026-11-30T04:30:00+08:00"} {
		loc, err := testZone(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		at, _ := time.Parse(time.RFC3339, v)
		_, offset := at.In(loc).Zone()
		if offset < -12*3600 || offset > 12*3600 {
			t.Errorf("%s: offset %ds outside ±12h", v, offset)
		}
		if h, m, s := at.In(loc).Clock(); h != 0 || m != 0 || s != 0 {
			t.Errorf("%s: %s in the test zone, want midnight", v, at.In(loc))
		}
		before := at.Add(-time.Second).In(loc)
		day := Date{Year: before.Year(), Month: before.Month(), Day: before.Day()}
		if end := day.AddDays(1).timeIn(loc); !end.Equal(at) {
			t.Errorf("%s: the day before ends at %s", v, end)
		}
	}
	if _, err := testZone("tonight"); err == nil {
		t.Error("a malformed instant is accepted")
	}
	if _, err := testZone("2026-11-29T21:09:29Z"); err == nil {
		t.Error("an instant off the minute is accepted: its zone's offset would not survive RFC 3339")
	}
}
