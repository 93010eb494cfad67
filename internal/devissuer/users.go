package devissuer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/internal/actor"
)

// User is a dev sign-in identity: who a token minted for it says the caller is.
type User struct {
	// Subject is the token's "sub".
	Subject string
	// Name and Organisation fill the name and org claims.
	Name, Organisation string
	// Roles fill the roles claim.
	Roles []string
	// Units fill the units claim (unit codes).
	Units []string
}

// Dev users, one for each role. The team's names are the demo inspection's
// (README, the banner's sample: 赵强 leads, 孙伟 is a member); the unit user
// acts for 长沙市 (430100), the demo's unit.
var (
	// OfficeClerk is a clerk of 省安委办, the office.
	OfficeClerk = User{Subject: "dev-office", Name: "王芳", Organisation: "省安委办", Roles: []string{actor.RoleOffice}}
	// CommitteeMember is a member of 省安全生产委员会.
	CommitteeMember = User{Subject: "dev-committee", Name: "刘洋", Organisation: "省安全生产委员会", Roles: []string{actor.RoleCommittee}}
	// TeamLeader leads the demo inspection's team.
	TeamLeader = User{Subject: "dev-team-leader", Name: "赵强", Organisation: "省安委办巡查组", Roles: []string{actor.RoleTeamLeader}}
	// TeamMember is a member of the demo inspection's team.
	TeamMember = User{Subject: "dev-team-member", Name: "孙伟", Organisation: "省安委办巡查组", Roles: []string{actor.RoleTeamMember}}
	// UnitUser acts for the inspected unit 430100 (长沙市).
	UnitUser = User{Subject: "dev-unit-430100", Name: "陈静", Organisation: "长沙市", Roles: []string{actor.RoleUnit}, Units: []string{"430100"}}
	// Auditor reads everything (discipline inspection).
	Auditor = User{Subject: "dev-auditor", Name: "周敏", Organisation: "驻厅纪检监察组", Roles: []string{actor.RoleAuditor}}
	// Receiver receives the clues referred to 长沙市纪委监委 (the demo
	// unit's city discipline inspection and supervision commission).
	Receiver = User{Subject: "dev-receiver", Name: "黄磊", Organisation: "长沙市纪委监委", Roles: []string{actor.RoleReceiver}}
	// PoolExpert is a person of the expert pool: link the pool entry with
	// subject "dev-expert" (or mint with --subject) to answer invitations.
	PoolExpert = User{Subject: "dev-expert", Name: "张伟", Organisation: "省应急管理厅", Roles: []string{actor.RoleExpert}}
)

// Users returns the dev users, one per role in the order of actor.Roles.
func Users() []User {
	return []User{OfficeClerk, CommitteeMember, TeamLeader, TeamMember, UnitUser, Auditor, Receiver, PoolExpert}
}

// UserForRole returns the dev user of role.
func UserForRole(role string) (User, error) {
	for _, u := range Users() {
		if slices.Contains(u.Roles, role) {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("no dev user has role %q: roles are %s", role, strings.Join(actor.Roles, ", "))
}

// ServiceAccount is a dev system: an office system that gets tokens with
// the client-credentials grant at the token endpoint. Its secret is created
// in the issuer's directory (<dir>/clients/<ID>.secret) on first use.
type ServiceAccount struct {
	// ID is the OAuth client ID, also the token's "sub" and "client_id".
	ID string
	// Name and Organisation fill the name and org claims.
	Name, Organisation string
	// Roles fill the roles claim.
	Roles []string
	// Units fill the units claim.
	Units []string
}

// OfficeSystem is the office's case-management system, acting as the office.
var OfficeSystem = ServiceAccount{ID: "office-system", Name: "省安委办业务系统", Organisation: "省安委办", Roles: []string{actor.RoleOffice}}

// ServiceAccounts returns the dev systems.
func ServiceAccounts() []ServiceAccount { return []ServiceAccount{OfficeSystem} }
