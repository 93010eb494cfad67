-- The inspection expert pool (巡查专家库, issue 15): the people the office
-- may second to teams, the line-ups drawn from them (seed, exclusions and
-- members, so that a draw can be audited and repeated), and the invitation
-- each drawn person answers. Nothing is deleted: a person leaves the pool
-- with a date and a reason; a swapped or replaced member stays in the
-- line-up's members with the reason. Forward-only.

CREATE TABLE experts (
  id            text PRIMARY KEY,
  -- subject is the person's sign-in subject (the token's "sub"), when they
  -- have one: the expert role reaches the invitations of its own entry.
  subject       text UNIQUE,
  name          text NOT NULL,
  organisation  text NOT NULL,
  -- unit_code is the organisation's code: the member unit that seconds the
  -- person, and the unit that receives requests for criticism and notices.
  unit_code     text NOT NULL,
  rank          text NOT NULL,
  -- kind: STAFF (seconded staff: leader, deputy, members) or EXPERT.
  kind          text NOT NULL,
  content_areas integer[] NOT NULL,
  sectors       text[] NOT NULL DEFAULT '{}',
  home_region   text NOT NULL,
  -- affiliations: [{unit_code, from_year, to_year}] (to_year 0: current).
  affiliations  jsonb NOT NULL DEFAULT '[]',
  -- unavailable: [{from, to, reason}], dates YYYY-MM-DD, inclusive.
  unavailable   jsonb NOT NULL DEFAULT '[]',
  left_on       date,
  leave_reason  text NOT NULL DEFAULT '',
  created_by    jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  version       integer NOT NULL
);

CREATE INDEX experts_unit ON experts (unit_code);

CREATE TRIGGER experts_no_delete BEFORE DELETE ON experts
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER experts_no_truncate BEFORE TRUNCATE ON experts
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

CREATE TABLE lineups (
  id             text PRIMARY KEY,
  request_id     text NOT NULL,
  unit_code      text NOT NULL,
  unit_name      text NOT NULL,
  planned_start  date NOT NULL,
  planned_end    date NOT NULL,
  content_areas  integer[] NOT NULL,
  -- seed and the rules' parameters repeat the draw exactly.
  seed           bigint NOT NULL,
  conflict_years integer NOT NULL,
  team_size      integer NOT NULL,
  state          text NOT NULL,
  -- members: every person drawn, swapped in or drawn as a replacement,
  -- with their state (PROPOSED, INVITED, ACCEPTED, DECLINED, EXPIRED,
  -- SWAPPED_OUT) and, for those no longer on it, why.
  members        jsonb NOT NULL,
  -- exclusions: each person of the pool not eligible, with the reasons.
  exclusions     jsonb NOT NULL,
  -- draws counts the draws made (1 + replacements): a replacement's
  -- random stream is the seed's, advanced by it.
  draws          integer NOT NULL,
  inspection_id  text,
  created_by     jsonb NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  version        integer NOT NULL
);

CREATE INDEX lineups_dates ON lineups (planned_start, planned_end);

CREATE TRIGGER lineups_no_delete BEFORE DELETE ON lineups
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER lineups_no_truncate BEFORE TRUNCATE ON lineups
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

CREATE TABLE invitations (
  id            text PRIMARY KEY,
  workflow_id   text NOT NULL UNIQUE,
  lineup_id     text NOT NULL REFERENCES lineups (id),
  expert_id     text NOT NULL REFERENCES experts (id),
  -- subject: the expert's sign-in subject, for the expert role's reach.
  subject       text NOT NULL DEFAULT '',
  -- unit_code: the expert's unit (the seconding member unit).
  unit_code     text NOT NULL,
  team_role     text NOT NULL,
  stage         text NOT NULL,
  due_at        timestamptz,
  -- doc: the workflow's state (ledger.Invitation) as JSON.
  doc           jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  version       integer NOT NULL
);

CREATE INDEX invitations_lineup ON invitations (lineup_id, created_at);
CREATE INDEX invitations_expert ON invitations (expert_id, created_at);

CREATE TRIGGER invitations_no_delete BEFORE DELETE ON invitations
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER invitations_no_truncate BEFORE TRUNCATE ON invitations
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
