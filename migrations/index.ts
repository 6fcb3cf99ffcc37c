import type { Knex } from 'knex';
import * as createLocations from './2025_01_01_000000_create_locations_table';
import * as createUsers from './2025_01_01_000001_create_users_table';
import * as modifyUsersEmailUnique from './2025_11_08_000000_modify_users_email_unique_constraint';
import * as createSessionTable from './2025_11_09_000000_create_session_table';
import * as createSyncRuns from './2025_11_20_000000_create_sync_runs_tables';
import * as addUsersListingIndexes from './2025_11_21_000000_add_users_listing_indexes';
import * as addUnchangedUserIds from './2025_11_22_000000_add_unchanged_user_ids_to_sync_runs';
import * as checkSyncRunItemsPerStatement from './2025_11_30_000000_check_sync_run_items_per_statement';
import * as skipTouchTriggerWhenSet from './2025_11_30_000001_skip_touch_trigger_when_updated_at_is_set';
import * as bindPreviewsAndRecordEndings from './2026_11_30_140000_bind_previews_and_record_endings';
import * as addTokenVersionAndUrlConfirmation from './2026_11_30_150000_add_token_version_and_online_url_confirmation';
import * as runSyncsAsJobs from './2026_11_30_160000_run_syncs_as_jobs';
import * as addViaToSyncRuns from './2026_11_30_180000_add_via_to_sync_runs';
import * as countUsersPerLocation from './2026_11_30_180001_count_users_per_location';
import * as addLanguageToUsers from './2026_11_30_170000_add_language_to_users';
import * as revertSyncRuns from './2026_11_30_190000_revert_sync_runs';
import * as addGenerationToLocationUserCounts from './2026_12_07_120000_add_generation_to_location_user_counts';
import * as addDetailsPurgedAtToSyncRuns from './2026_12_07_140000_add_details_purged_at_to_sync_runs';
import * as bindOnlineUrlConfirmationToCode from './2026_12_07_143000_bind_online_url_confirmation_to_code';
import * as storeReasonsAsCodes from './2026_12_07_150000_store_reasons_as_codes';
import * as addErrorCodesToSyncRuns from './2026_12_07_160000_add_error_codes_to_sync_runs';
import * as recordSyncSightings from './2026_12_07_170000_record_when_a_sync_saw_each_user';
import * as recordAdditiveMigrations from './2026_12_07_200000_record_additive_migrations';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
  /**
   * `export const additive = true`: the previous version keeps working on the schema with this migration
   * applied (it only adds tables, nullable or defaulted columns, indexes, functions the old code does not
   * call), so instances can be upgraded one at a time. Without it, every instance is stopped to migrate.
   */
  additive?: boolean;
}

/**
 * The migrations in order. Listed here (not discovered on disk) so that they load the same way
 * under tsx, vitest and a compiled build; the names are those of the files.
 */
export const migrations: Array<[name: string, migration: Migration]> = [
  ['2025_01_01_000000_create_locations_table', createLocations],
  ['2025_01_01_000001_create_users_table', createUsers],
  ['2025_11_08_000000_modify_users_email_unique_constraint', modifyUsersEmailUnique],
  ['2025_11_09_000000_create_session_table', createSessionTable],
  ['2025_11_20_000000_create_sync_runs_tables', createSyncRuns],
  ['2025_11_21_000000_add_users_listing_indexes', addUsersListingIndexes],
  ['2025_11_22_000000_add_unchanged_user_ids_to_sync_runs', addUnchangedUserIds],
  ['2025_11_30_000000_check_sync_run_items_per_statement', checkSyncRunItemsPerStatement],
  ['2025_11_30_000001_skip_touch_trigger_when_updated_at_is_set', skipTouchTriggerWhenSet],
  ['2026_11_30_140000_bind_previews_and_record_endings', bindPreviewsAndRecordEndings],
  ['2026_11_30_150000_add_token_version_and_online_url_confirmation', addTokenVersionAndUrlConfirmation],
  ['2026_11_30_160000_run_syncs_as_jobs', runSyncsAsJobs],
  ['2026_11_30_180000_add_via_to_sync_runs', addViaToSyncRuns],
  ['2026_11_30_180001_count_users_per_location', countUsersPerLocation],
  ['2026_11_30_170000_add_language_to_users', addLanguageToUsers],
  ['2026_11_30_190000_revert_sync_runs', revertSyncRuns],
  ['2026_12_07_120000_add_generation_to_location_user_counts', addGenerationToLocationUserCounts],
  ['2026_12_07_140000_add_details_purged_at_to_sync_runs', addDetailsPurgedAtToSyncRuns],
  ['2026_12_07_143000_bind_online_url_confirmation_to_code', bindOnlineUrlConfirmationToCode],
  ['2026_12_07_150000_store_reasons_as_codes', storeReasonsAsCodes],
  ['2026_12_07_160000_add_error_codes_to_sync_runs', addErrorCodesToSyncRuns],
  ['2026_12_07_170000_record_when_a_sync_saw_each_user', recordSyncSightings],
  ['2026_12_07_200000_record_additive_migrations', recordAdditiveMigrations],
];
