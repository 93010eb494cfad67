package casework

import (
	"regexp"
	"strings"
)

// DivisionCodePattern is an administrative division code: 6, 9 or 12
// digits, the first not 0. It is written so that Go and PostgreSQL read
// it alike: the ledger's statistics take the codes under a division with it.
const DivisionCodePattern = `^[1-9][0-9]{5}([0-9]{3}){0,2}$`

var divisionCode = regexp.MustCompile(DivisionCodePattern)

// IsLocalGovernment reports whether code is a six-digit administrative
// division code: the province, a city or prefecture, a county (a local
// government), as opposed to a township's longer code or a department's or
// enterprise's organisation code.
func IsLocalGovernment(code string) bool { return len(code) == 6 && divisionCode.MatchString(code) }

// DivisionPrefix is what every code under an administrative division code
// begins with: "43" for the province 430000, "4301" for 430100 (Changsha
// and its districts 4301xx), "430102" for a district, "430102001" for the
// township 430102001000. For any other code (an organisation code) it is
// "": such a unit has no sub-units.
func DivisionPrefix(code string) string {
	if !divisionCode.MatchString(code) {
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
