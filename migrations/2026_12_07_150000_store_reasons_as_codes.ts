import type { Knex } from 'knex';

// Reasons as codes (src/sync/reasons.ts): a deactivation's, a revert's and a conflict's reason, and why a
// preview was superseded, are stored as a code and its parameters and put into words where an admin reads
// them, in the admin's language. The English sentences stored before are turned into codes here; a
// sentence no pattern knows is kept whole as 'legacy' {text}, so nothing is lost. Rejected rows keep the
// parser's words in `reason` (their codes are to come). Down turns the codes back into the sentences.
// The patterns' parameters come from regexp_match; where none matched, it is NULL and the text is kept.

/** Each stored sentence, as a pattern, and the code and parameters it becomes. */
const ITEM_SENTENCES: Array<[pattern: string, code: string, params: string]> = [
  ['^inactive on (.+)$', 'remote_inactive', "jsonb_build_object('location', x.m[1])"],
  ['^missing from (.+)$', 'remote_missing', "jsonb_build_object('location', x.m[1])"],
  ['^added by #([0-9]+)$', 'revert_added', "jsonb_build_object('run', x.m[1]::int)"],
  ['^reactivated by #([0-9]+)$', 'revert_reactivated', "jsonb_build_object('run', x.m[1]::int)"],
  ['^no longer exists$', 'conflict_gone', "'{}'::jsonb"],
  ['^moved to another location$', 'conflict_moved', "'{}'::jsonb"],
  [
    '^changed after #([0-9]+) was executed \\(last change (.+)\\)$',
    'conflict_changed',
    "jsonb_build_object('run', x.m[1]::int, 'changedAt', x.m[2])",
  ],
];

const SUPERSEDED_SENTENCES: Array<[pattern: string, code: string, params: string]> = [
  ['^(.+) was edited after the preview\\.$', 'location_edited', "jsonb_build_object('location', x.m[1])"],
  ['^(.+) was activated after the preview\\.$', 'location_activated', "jsonb_build_object('location', x.m[1])"],
  ['^(.+) was deactivated after the preview\\.$', 'location_deactivated', "jsonb_build_object('location', x.m[1])"],
  ['^(.+) was removed after the preview\\.$', 'location_removed', "jsonb_build_object('location', x.m[1])"],
  ['^The preview of (.+) does not record where its list came from\\.$', 'source_unrecorded', "jsonb_build_object('location', x.m[1])"],
  [
    '^The online URL of (.+) changed after the preview \\(from (.*) to (.*)\\)\\.$',
    'url_changed',
    "jsonb_build_object('location', x.m[1], 'from', x.m[2], 'to', CASE WHEN x.m[3] = 'none' THEN '' ELSE x.m[3] END)",
  ],
  ['^The API credentials of (.+) were removed after the preview\\.$', 'credentials_removed', "jsonb_build_object('location', x.m[1])"],
  [
    '^The API login of (.+) changed after the preview \\(from (.*) to (.*)\\)\\.$',
    'login_changed',
    "jsonb_build_object('location', x.m[1], 'from', CASE WHEN x.m[2] = 'none' THEN '' ELSE x.m[2] END, 'to', x.m[3])",
  ],
];

/** The English each code stood for, to go back. */
const ITEM_WORDS: Record<string, string> = {
  remote_inactive: "'inactive on ' || (reason_params ->> 'location')",
  remote_missing: "'missing from ' || (reason_params ->> 'location')",
  revert_added: "'added by #' || (reason_params ->> 'run')",
  revert_reactivated: "'reactivated by #' || (reason_params ->> 'run')",
  conflict_gone: "'no longer exists'",
  conflict_moved: "'moved to another location'",
  conflict_changed: "'changed after #' || (reason_params ->> 'run') || ' was executed (last change ' || (reason_params ->> 'changedAt') || ')'",
  legacy: "reason_params ->> 'text'",
};

const SUPERSEDED_WORDS: Record<string, string> = {
  location_edited: "(superseded_params ->> 'location') || ' was edited after the preview.'",
  location_activated: "(superseded_params ->> 'location') || ' was activated after the preview.'",
  location_deactivated: "(superseded_params ->> 'location') || ' was deactivated after the preview.'",
  location_removed: "(superseded_params ->> 'location') || ' was removed after the preview.'",
  source_unrecorded: "'The preview of ' || (superseded_params ->> 'location') || ' does not record where its list came from.'",
  url_changed:
    "'The online URL of ' || (superseded_params ->> 'location') || ' changed after the preview (from ' || (superseded_params ->> 'from') || ' to ' || coalesce(nullif(superseded_params ->> 'to', ''), 'none') || ').'",
  credentials_removed: "'The API credentials of ' || (superseded_params ->> 'location') || ' were removed after the preview.'",
  login_changed:
    "'The API login of ' || (superseded_params ->> 'location') || ' changed after the preview (from ' || coalesce(nullif(superseded_params ->> 'from', ''), 'none') || ' to ' || (superseded_params ->> 'to') || ').'",
  legacy: "superseded_params ->> 'text'",
};

/** One statement per table: the first pattern that matches gives the code, its parameters added to any there. */
function toCodes(table: string, column: string, paramsColumn: string, sentences: typeof ITEM_SENTENCES, where: string): string {
  const cases = sentences.map(([pattern]) => `WHEN ${column} ~ '${pattern}' THEN '${pattern}'`).join(' ');
  const codes = sentences.map(([pattern, code]) => `WHEN '${pattern}' THEN '${code}'`).join(' ');
  const params = sentences.map(([pattern, , built]) => `WHEN '${pattern}' THEN ${built}`).join(' ');
  return `
    UPDATE ${table} t SET ${column} = CASE x.pattern ${codes} ELSE 'legacy' END,
                          ${paramsColumn} = coalesce(t.${paramsColumn}, '{}')
                            || CASE x.pattern ${params} ELSE jsonb_build_object('text', t.${column}) END
    FROM (SELECT id, pattern, regexp_match(${column}, pattern) AS m
          FROM (SELECT id, ${column}, CASE ${cases} END AS pattern FROM ${table} WHERE ${where}) matched) x
    WHERE t.id = x.id`;
}

const ACCEPTED_SUFFIX = '; reverted anyway';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_run_items', (table) => table.jsonb('reason_params').nullable());
  await knex.schema.alterTable('sync_runs', (table) => table.jsonb('superseded_params').nullable());
  // A conflict ticked to be reverted anyway said so at the end of its sentence: a parameter now.
  await knex.raw(`UPDATE sync_run_items SET reason = left(reason, -?::int), reason_params = '{"accepted": true}' WHERE reason LIKE ?`, [
    ACCEPTED_SUFFIX.length,
    `%${ACCEPTED_SUFFIX}`,
  ]);
  await knex.raw(toCodes('sync_run_items', 'reason', 'reason_params', ITEM_SENTENCES, "kind <> 'rejected' AND reason IS NOT NULL"));
  await knex.raw(toCodes('sync_runs', 'superseded_reason', 'superseded_params', SUPERSEDED_SENTENCES, 'superseded_reason IS NOT NULL'));
}

export async function down(knex: Knex): Promise<void> {
  const words = (map: Record<string, string>, column: string) =>
    `CASE ${column} ${Object.entries(map)
      .map(([code, text]) => `WHEN '${code}' THEN ${text}`)
      .join(' ')} ELSE ${column} END`;
  await knex.raw(
    `UPDATE sync_run_items SET reason = ${words(ITEM_WORDS, 'reason')}
       || CASE WHEN (reason_params ->> 'accepted')::boolean THEN '${ACCEPTED_SUFFIX}' ELSE '' END
     WHERE reason_params IS NOT NULL`,
  );
  await knex.raw(`UPDATE sync_runs SET superseded_reason = ${words(SUPERSEDED_WORDS, 'superseded_reason')} WHERE superseded_params IS NOT NULL`);
  await knex.schema.alterTable('sync_runs', (table) => table.dropColumn('superseded_params'));
  await knex.schema.alterTable('sync_run_items', (table) => table.dropColumn('reason_params'));
}
