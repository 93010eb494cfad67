package actor_test

import (
	"testing"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
)

// TestTextInChinese: who acted, as a Chinese sentence names them; an
// organisation that is the role's own name is said once (it read
// 王芳（省安委办，省安委办）).
func TestTextInChinese(t *testing.T) {
	for _, tc := range []struct {
		a    actor.Actor
		want string
	}{
		{actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: i18n.Role(actor.RoleOffice)}, "王芳（" + i18n.Role(actor.RoleOffice) + "）"},
		{actor.Actor{Name: "李四", Role: actor.RoleUnit, Organisation: "长沙市应急管理局"}, "李四（" + i18n.Role(actor.RoleUnit) + "，长沙市应急管理局）"},
		{actor.Actor{Name: "李四", Role: actor.RoleUnit, Organisation: "长沙市应急管理局", OnBehalfOf: "430100"}, "李四（" + i18n.Role(actor.RoleUnit) + "，长沙市应急管理局，代单位 430100）"},
	} {
		if got := tc.a.Text().ZH; got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.a, got, tc.want)
		}
	}
}
