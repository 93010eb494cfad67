package egress

import "testing"

// TestEveryRuleHasChinese: each special-purpose range's rule is named in
// Chinese, so a Chinese refusal never quotes the English.
func TestEveryRuleHasChinese(t *testing.T) {
	for _, r := range nonPublic {
		if ruleZH(r.rule) == r.rule {
			t.Errorf("rule %q has no Chinese (rulesZH)", r.rule)
		}
	}
	if got := ruleZH("scoped (zone eth0)"); got != "带作用域（zone eth0）" {
		t.Errorf(`ruleZH("scoped (zone eth0)") = %q`, got)
	}
}
