package egress

import "testing"

// TestEveryRuleHasChinese: each special-purpose range's rule is named in
// Chinese, so a Chinese refusal never quotes the English.
func TestEveryRuleHasChinese(t *testing.T) {
	for _, r := range nonPublic {
		if r.zh == "" || ruleZH(r.rule) != r.zh {
			t.Errorf("rule %q has no Chinese", r.rule)
		}
	}
	for _, rule := range []string{"invalid", "unspecified", "loopback", "private (RFC 1918)", "unique local (fc00::/7)",
		"link-local", "multicast", "broadcast"} {
		if ruleZH(rule) == rule {
			t.Errorf("rule %q has no Chinese (rulesZH)", rule)
		}
	}
	if got := ruleZH("scoped (zone eth0)"); got != "带作用域（zone eth0）" {
		t.Errorf(`ruleZH("scoped (zone eth0)") = %q`, got)
	}
}
