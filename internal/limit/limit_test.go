package limit

import (
	"testing"
	"time"
)

func TestOr(t *testing.T) {
	if got := Or(0, 5); got != 5 {
		t.Errorf("Or(0, 5) = %d, want the default 5", got)
	}
	if got := Or(-1, int64(5)); got != 5 {
		t.Errorf("Or(-1, 5) = %d, want the default 5: a bound below zero is not set", got)
	}
	if got := Or(3, 5); got != 3 {
		t.Errorf("Or(3, 5) = %d, want the set bound 3", got)
	}
	if got := Or(time.Second, time.Minute); got != time.Second {
		t.Errorf("Or(1s, 1m) = %v, want 1s", got)
	}
}
