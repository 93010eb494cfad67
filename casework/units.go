package casework

import (
	"strings"
)

// DivisionPrefix is what every code under an administrative division code
// begins with: "43" for the province 430000, "4301" for 430100 (Changsha
// and its districts 4301xx), "430102" for a district, "430102001" for the
// township 430102001000. For any other code (an organisation code) it is
// "": such a unit has no sub-units.
func DivisionPrefix(code string) string {
	if !isDigits(code) || (len(code) != 6 && len(code) != 9 && len(code) != 12) || code[0] == '0' {
		return ""
	}
	for {
		switch {
		case len(code) > 6 && strings.HasSuffix(code, "000"):
			code = code[:len(code)-3]
		case len(code) > 2 && len(code) <= 6 && strings.HasSuffix(code, "00"):
			code = code[:len(code)-2]
		default:
			return code
		}
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
