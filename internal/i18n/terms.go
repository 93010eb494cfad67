package i18n

import "strings"

// The Chinese names of the domain's values, as the charter and the offices'
// forms name them: the problem list's cells (problemlist), the Temporal Web
// UI's summaries and details (workflows). The values themselves (HAZARD,
// REFERRED, …) stay the machines' identifiers; a value without a name is
// written as it is.
var (
	findingKinds = map[string]string{
		"HAZARD":         "事故隐患",
		"RESPONSIBILITY": "责任落实不力",
		"VIOLATION_CLUE": "违法违规违纪问题线索",
		"SYSTEMIC_RISK":  "系统性安全风险",
	}
	severities = map[string]string{
		"GENERAL": "一般",
		"MAJOR":   "重大",
	}
	findingStages = map[string]string{
		"FOUND":      "已发现",
		"LISTED":     "已建立清单",
		"DIAGNOSED":  "已诊断分析",
		"CLASSIFIED": "已分类处置",
		"REFERRED":   "已移交督办",
		"RECTIFIED":  "已报整改",
		"CLOSED":     "已销号",
		"WITHDRAWN":  "已撤销",
	}
	dispositions = map[string]string{
		"RECTIFY":    "责令整改",
		"REFER_CLUE": "移交问题线索",
		"SUPERVISE":  "挂牌督办",
		"EXPOSE":     "公开曝光",
	}
	// riskLevels are the four levels of safety risk (重大、较大、一般、低).
	riskLevels = map[string]string{
		"LOW":      "低风险",
		"MEDIUM":   "一般风险",
		"HIGH":     "较大风险",
		"CRITICAL": "重大风险",
	}
	steps = map[string]string{
		"REMINDER":           "到期提醒",
		"OVERDUE":            "逾期升级",
		"INTERVIEW_PROPOSED": "提请约谈",
	}
	inspectionKinds = map[string]string{
		"COMPREHENSIVE": "综合巡查",
		"SPECIAL":       "专项巡查",
		"FOLLOW_UP":     "巡查“回头看”",
	}
	inspectionStages = map[string]string{
		"PLANNED":                "已列入计划",
		"NOTIFIED":               "已发出巡查预告",
		"STATIONED":              "已进驻",
		"ONSITE_ENDED":           "现场巡查结束",
		"REPORTED":               "已提交巡查报告",
		"REVIEWED":               "已审议",
		"APPROVED":               "已审定",
		"FEEDBACK_GIVEN":         "已反馈",
		"RECTIFICATION_REPORTED": "已报送整改情况",
		"CLOSED":                 "已结束",
		"CANCELLED":              "已取消",
	}
	interviewStages = map[string]string{
		"PROPOSED":           "已提请",
		"APPROVED":           "已批准",
		"HELD":               "已约谈",
		"FOLLOW_UP_REPORTED": "已报送整改落实情况",
		"CLOSED":             "已办结",
		"CANCELLED":          "已取消",
	}
	interviewSources = map[string]string{
		"LADDER": "逾期升级提请",
		"TEAM":   "巡查组提请",
		"OFFICE": "省安委办提请",
	}
	invitationStages = map[string]string{
		"INVITED":             "已邀请",
		"ACCEPTED":            "已接受",
		"DECLINED":            "已婉拒",
		"DECLINE_JUSTIFIED":   "婉拒理由成立",
		"DECLINE_UNJUSTIFIED": "婉拒理由不成立",
		"EXPIRED":             "逾期未答复",
		"WITHDRAWN":           "已撤回",
	}
	lineupStates = map[string]string{
		"PROPOSED":  "已抽选",
		"INVITING":  "邀请中",
		"COMPLETE":  "已齐备",
		"APPROVED":  "已审定",
		"USED":      "已用于巡查",
		"CANCELLED": "已取消",
	}
	lineupActions = map[string]string{
		"invite":  "发出邀请",
		"approve": "审定",
		"cancel":  "取消",
		"swap":    "调换成员",
		"use":     "用于巡查",
	}
	tipStages = map[string]string{
		"RECEIVED":  "已收到",
		"FINDING":   "已转为问题",
		"DISMISSED": "不予采纳",
	}
	// unitLevels, clueKinds and cadreRanks are the referral routing
	// table's keys (巡查对象层级、线索类别、干部管理权限).
	unitLevels = map[string]string{
		"PROVINCE": "省级单位",
		"CITY":     "市州级单位",
		"COUNTY":   "县市区级单位",
	}
	clueKinds = map[string]string{
		"DISCIPLINE":       "违纪线索",
		"DUTY_CRIME":       "职务违法犯罪线索",
		"DERELICTION":      "失职失责线索",
		"SECTOR_VIOLATION": "行业领域违法违规线索",
	}
	cadreRanks = map[string]string{
		"DEPARTMENT": "厅局级干部",
		"DIVISION":   "县处级干部",
		"SECTION":    "乡科级干部",
		"OTHER":      "其他人员",
	}
	referralStates = map[string]string{
		"AWAITING_RECEIPT": "待回执",
		"ACKNOWLEDGED":     "已回执",
		"FILED":            "已立案",
		"CONCLUDED":        "已办结",
		"NOT_FILED":        "不予立案",
	}
	memberStates = map[string]string{
		"PROPOSED":    "已抽中",
		"INVITED":     "已邀请",
		"ACCEPTED":    "已接受",
		"DECLINED":    "已婉拒",
		"EXPIRED":     "逾期未答复",
		"SWAPPED_OUT": "已调出",
		"WITHDRAWN":   "已撤回",
	}
	exclusionCodes = map[string]string{
		"CONFLICT_OF_INTEREST": "利益冲突回避",
		"DOUBLE_BOOKED":        "时间冲突",
		"UNAVAILABLE":          "不能参加",
		"LEFT_POOL":            "已退出专家库",
		"ALREADY_ON_LINEUP":    "已在本名单",
		"DECLINED_THIS_LINEUP": "已婉拒本名单",
	}
	exposureKinds = map[string]string{
		"ENTRY_ANNOUNCEMENT":   "进驻公告",
		"MAJOR_HAZARD":         "重大事故隐患曝光",
		"SYSTEMIC_RISK":        "系统性风险曝光",
		"RECTIFICATION_RESULT": "整改情况公开",
		"LOOK_BACK_RESULT":     "回头看情况公开",
	}
	// actions are the changes the lifecycles take (workflows' Action…).
	actions = map[string]string{
		"record":                "登记",
		"create":                "列入计划",
		"propose":               "提请约谈",
		"invite":                "发出邀请",
		"list":                  "列入清单",
		"diagnose":              "诊断分析",
		"classify":              "分类处置",
		"refer":                 "移交督办",
		"reportRectification":   "报送整改情况",
		"verify":                "核查销号",
		"withdraw":              "撤销",
		"recheck":               "复查",
		"requestExtension":      "申请延期",
		"decideExtension":       "审批延期",
		"referClue":             "移交线索",
		"acknowledgeReferral":   "回执",
		"reportReferralOutcome": "报告办理结果",
		"signOff":               "会签",
		"approveTeam":           "批准巡查组组成",
		"notify":                "发出巡查预告",
		"station":               "进驻",
		"endOnsite":             "结束现场巡查",
		"submitReport":          "提交巡查报告",
		"review":                "审议",
		"approve":               "批准",
		"giveFeedback":          "反馈",
		"close":                 "办结",
		"cancel":                "取消",
		"hold":                  "举行约谈",
		"reportFollowUp":        "报送整改落实情况",
		"accept":                "接受邀请",
		"decline":               "婉拒",
		"judgeDecline":          "认定婉拒理由",
		"expire":                "逾期失效",
	}
	teamRoles = map[string]string{
		"LEADER":   "组长",
		"DEPUTY":   "副组长",
		"MEMBER":   "组员",
		"EXPERT":   "专家",
		"OBSERVER": "列席人员",
	}
	roles = map[string]string{
		"office":      "省安委办",
		"committee":   "省安委会成员单位",
		"team_leader": "巡查组组长",
		"team_member": "巡查组成员",
		"unit":        "被巡查单位",
		"auditor":     "审计",
		"receiver":    "线索接收单位",
		"expert":      "专家",
		"system":      "系统",
	}
)

// subjectKinds are the kinds of a subject ("finding/f-1": finding) as a
// sentence names one.
var subjectKinds = map[string]string{
	"finding":           "问题",
	"inspection":        "巡查",
	"unit":              "单位",
	"interview":         "约谈",
	"invitation":        "邀请",
	"expert":            "专家",
	"expert of subject": "与此登录主体关联的专家",
	"lineup":            "巡查组名单",
	"line-up":           "巡查组名单",
	"tip":               "举报",
	"evidence":          "证据",
	"webhook":           "webhook 订阅",
	"queued delivery":   "待投递的通知",
	"calendar":          "日历",
	"escalation_policy": "升级策略",
	"referral_route":    "移交路由",
}

// term is value's name in names, or value itself.
func term(names map[string]string, value string) string {
	if name, ok := names[value]; ok {
		return name
	}
	return value
}

// The Chinese name of a value of each kind.
func FindingKind(v string) string     { return term(findingKinds, v) }
func Severity(v string) string        { return term(severities, v) }
func FindingStage(v string) string    { return term(findingStages, v) }
func Disposition(v string) string     { return term(dispositions, v) }
func RiskLevel(v string) string       { return term(riskLevels, v) }
func Step(v string) string            { return term(steps, v) }
func InspectionKind(v string) string  { return term(inspectionKinds, v) }
func InspectionStage(v string) string { return term(inspectionStages, v) }
func InterviewStage(v string) string  { return term(interviewStages, v) }
func InterviewSource(v string) string { return term(interviewSources, v) }
func InvitationStage(v string) string { return term(invitationStages, v) }
func LineupState(v string) string     { return term(lineupStates, v) }
func TipStage(v string) string        { return term(tipStages, v) }
func MemberState(v string) string     { return term(memberStates, v) }
func Action(v string) string          { return term(actions, v) }
func ExposureKind(v string) string    { return term(exposureKinds, v) }
func ExclusionCode(v string) string   { return term(exclusionCodes, v) }
func ReferralState(v string) string   { return term(referralStates, v) }
func UnitLevel(v string) string       { return term(unitLevels, v) }
func ClueKind(v string) string        { return term(clueKinds, v) }
func CadreRank(v string) string       { return term(cadreRanks, v) }

// RouteKeyZH names a referral routing table's key (casework.RouteKey,
// "CITY/DISCIPLINE/DIVISION") in Chinese: 市州级单位、违纪线索、县处级干部.
func RouteKeyZH(level, kind, rank string) string {
	return term(unitLevels, level) + "、" + term(clueKinds, kind) + "、" + term(cadreRanks, rank)
}
func LineupAction(v string) string { return term(lineupActions, v) }
func TeamRole(v string) string     { return term(teamRoles, v) }
func Role(v string) string         { return term(roles, v) }
func SubjectKind(v string) string  { return term(subjectKinds, v) }

// RecordDay is the Chinese name of a day an inspection's step records
// ("notified_on": 巡查预告日期), as a sentence names it.
func RecordDay(v string) string { return term(recordDays, v) }

// recordDays are the days an inspection's steps record.
var recordDays = map[string]string{
	"notified_on":           "巡查预告日期",
	"stationed_on":          "进驻日期",
	"onsite_ended_on":       "现场巡查结束日期",
	"feedback_delivered_on": "反馈日期",
	"approved_on":           "巡查报告审定日期",
}

// Term is a code as a Text: the code in English, its Chinese name (name
// gives it) in Chinese.
func Term(name func(string) string, code string) Text {
	return Text{EN: code, ZH: name(code)}
}

// Terms is a list of codes as a Text: the codes joined with sep in
// English, their Chinese names (name gives one) joined with 、 in Chinese,
// for a message's argument ("(STATIONED, ONSITE_ENDED)" /
// "（已进驻、现场结束）"); a Chinese message showed the codes.
func Terms(name func(string) string, sep string, codes ...string) Text {
	zh := make([]string, len(codes))
	for i, c := range codes {
		zh[i] = name(c)
	}
	return Text{EN: strings.Join(codes, sep), ZH: strings.Join(zh, "、")}
}

// Alternatives is a list of codes of which one is wanted, as a Text: the
// codes joined with " or " in English, their Chinese names with 或.
func Alternatives(name func(string) string, codes ...string) Text {
	zh := make([]string, len(codes))
	for i, c := range codes {
		zh[i] = name(c)
	}
	return Text{EN: strings.Join(codes, " or "), ZH: strings.Join(zh, "或")}
}

// ActionOf is the Chinese name of action as the lifecycle of subject
// ("invitation/…") names it: an invitation is withdrawn (撤回), a finding
// revoked (撤销); an inspection's report is approved as 审定 (to 已审定),
// an interview as 批准 (to 已批准).
func ActionOf(subject, action string) string {
	kind, _, _ := strings.Cut(subject, "/")
	switch {
	case kind == "invitation" && action == "withdraw":
		return "撤回"
	case kind == "inspection" && action == "approve": // to 已审定
		return "审定"
	}
	return Action(action)
}

// StageOf is the Chinese name of the stage of subject ("finding/f-1",
// "inspection/…", "interview/…", "invitation/…"): the name its own
// lifecycle gives the code (APPROVED is 已审定 for an inspection, 已批准
// for an interview), or the code.
func StageOf(subject, stage string) string {
	kind, _, _ := strings.Cut(subject, "/")
	names := map[string]map[string]string{"finding": findingStages, "inspection": inspectionStages,
		"interview": interviewStages, "invitation": invitationStages, "lineup": lineupStates}[kind]
	return term(names, stage)
}
