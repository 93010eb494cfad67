package casework

import "testing"

// TestIsLocalGovernment: a local government is a six-digit administrative
// division code, its first digit not 0; a township's nine-digit code, an
// organisation code or six digits led by 0 are not (the non-repetition
// rule, a referral's unit level and an expert's home region read it).
func TestIsLocalGovernment(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"430000": true, "430100": true, "430102": true,
		"000000": false, "012345": false, "430102001": false, "43010": false,
		"91430100MA4L0": false, "4301 0": false, "": false,
	} {
		if got := IsLocalGovernment(code); got != want {
			t.Errorf("IsLocalGovernment(%q) = %v, want %v", code, got, want)
		}
	}
}
