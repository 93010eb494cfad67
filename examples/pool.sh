#!/bin/sh
# The expert pool of the README's walk-through (巡查专家库): 18 people of four
# member units, and 李娜's unavailability. Run from the repository's root
# against `xuncha dev`: P, J and O from the environment (export them), or
# the README's values. Each line printed is an answer's HTTP status and the
# person's ID; a second run is answered as the first (same request_ids).
#
# Who the README's draws take, and why:
#   Xiangtan (430300): 张伟 worked there until 2024 (conflict of interest);
#     李娜 is abroad on 12-05 and 12-06.
#   Changsha (430100): the twelve whose home region is Changsha (4301xx) are
#     excluded; the six others (何军 刘洋 卢芳 吴刚 严波 周华) are drawn,
#     and booked from 12-08 to 12-20.
#   Xiangtan, seed 20261201: of the ten left, 王强 is the only leader,
#     徐磊 the deputy, 唐宁 (content item 1) and 郑宇 (5, the only one)
#     cover the items, then 孙丽 郭鹏 陈杰; 赵敏, the only division chief
#     left, replaces 徐磊.
set -u
P=${P:-http://localhost:8080/v1}
J=${J:-'Content-Type: application/json'}
O=${O:-"Authorization: Bearer $(bin/xuncha token --role office)"}
failed=0

# post URL LABEL BODY: prints the answer's status and LABEL.
post() {
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$1" -H "$J" -H "$O" -d "$3")
  echo "$code $2"
  [ "$code" = 200 ] || failed=1
}

# add ID EXPERT-JSON: adds a person; the request_id is x-ID, the subject expert-ID.
add() {
  post "$P/experts" "$1" '{"request_id":"x-'"$1"'","expert_id":"'"$1"'","expert":{"subject":"expert-'"$1"'",'"$2"'}}'
}

# 省应急管理厅 (hn-yjt)
add zhang-wei '"name":"张伟","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"INSPECTOR_LEVEL_2",
  "kind":"STAFF","content_areas":[1,2],"home_region":"430100",
  "affiliations":[{"unit_code":"430300","from_year":2018,"to_year":2024}]'
add wang-qiang '"name":"王强","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"DEPARTMENT_LEVEL",
  "kind":"STAFF","content_areas":[2,3],"home_region":"430102"'
add tang-ning '"name":"唐宁","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"OTHER",
  "kind":"EXPERT","content_areas":[1,6],"home_region":"430104"'
add deng-hui '"name":"邓辉","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"OTHER",
  "kind":"EXPERT","content_areas":[6,9],"home_region":"430105"'
add he-jun '"name":"何军","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"INSPECTOR_LEVEL_1",
  "kind":"STAFF","content_areas":[2,5],"home_region":"430200"'
add yan-bo '"name":"严波","organisation":"省应急管理厅","unit_code":"hn-yjt","rank":"DEPUTY_DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[1,2],"home_region":"430900"'

# 省住房和城乡建设厅 (hn-zjt)
add xu-lei '"name":"徐磊","organisation":"省住房和城乡建设厅","unit_code":"hn-zjt","rank":"DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[3,4],"home_region":"430103"'
add chen-jie '"name":"陈杰","organisation":"省住房和城乡建设厅","unit_code":"hn-zjt","rank":"DEPUTY_DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[3],"home_region":"430103"'
add peng-fei '"name":"彭飞","organisation":"省住房和城乡建设厅","unit_code":"hn-zjt","rank":"DEPUTY_DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[3,10],"home_region":"430111"'
add lu-fang '"name":"卢芳","organisation":"省住房和城乡建设厅","unit_code":"hn-zjt","rank":"OTHER",
  "kind":"EXPERT","content_areas":[2,3],"home_region":"430600"'

# 省交通运输厅 (hn-jtt)
add zheng-yu '"name":"郑宇","organisation":"省交通运输厅","unit_code":"hn-jtt","rank":"DEPUTY_DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[5,7],"home_region":"430105"'
add guo-peng '"name":"郭鹏","organisation":"省交通运输厅","unit_code":"hn-jtt","rank":"DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[4],"home_region":"430102"'
add liu-yang '"name":"刘洋","organisation":"省交通运输厅","unit_code":"hn-jtt","rank":"DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[2,7],"home_region":"430400"'
add zhou-hua '"name":"周华","organisation":"省交通运输厅","unit_code":"hn-jtt","rank":"OTHER",
  "kind":"STAFF","content_areas":[6],"home_region":"431000"'

# 省市场监督管理局 (hn-scjgj)
add sun-li '"name":"孙丽","organisation":"省市场监督管理局","unit_code":"hn-scjgj","rank":"OTHER",
  "kind":"EXPERT","content_areas":[1,8],"home_region":"430111"'
add zhao-min '"name":"赵敏","organisation":"省市场监督管理局","unit_code":"hn-scjgj","rank":"DIVISION_CHIEF",
  "kind":"STAFF","content_areas":[2,4],"home_region":"430104"'
add li-na '"name":"李娜","organisation":"省市场监督管理局","unit_code":"hn-scjgj","rank":"OTHER",
  "kind":"EXPERT","content_areas":[1,5],"home_region":"430102"'
add wu-gang '"name":"吴刚","organisation":"省市场监督管理局","unit_code":"hn-scjgj","rank":"OTHER",
  "kind":"EXPERT","content_areas":[5,8],"home_region":"430700"'

# 李娜 is abroad on 12-05 and 12-06 (the README's own request: sent again, it is answered as a replay).
post "$P/experts/li-na:addUnavailability" "li-na unavailable 2026-12-05 to 2026-12-06" '{"request_id":"u1",
  "unavailability":{"from":"2026-12-05","to":"2026-12-06","reason":"出国考察"}}'

exit $failed
