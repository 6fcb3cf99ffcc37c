import type { Knex } from 'knex';

// The credential Sinkron sends is chosen by the location's code, so a confirmation is of a pairing: this
// URL may receive this code's credential. locations.confirmed_online_url and confirmed_code hold the last
// pairing an admin confirmed with their password; the location is confirmed while both still equal its
// online_url and code, so a new location, a changed URL and a changed code all ask again. The boolean they
// replace defaulted to true, which let a new location (or a code taken over from another) skip the question.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('locations', (table) => {
    table.string('confirmed_online_url', 2048).nullable();
    table.string('confirmed_code', 32).nullable();
  });
  await knex('locations')
    .where({ online_url_confirmed: true })
    .whereNotNull('online_url')
    .update({ confirmed_online_url: knex.ref('online_url'), confirmed_code: knex.ref('code') });
  await knex.schema.alterTable('locations', (table) => {
    table.dropColumn('online_url_confirmed');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('locations', (table) => {
    table.boolean('online_url_confirmed').notNullable().defaultTo(true);
  });
  // A location without a URL was confirmed under the boolean (nothing to send anywhere).
  await knex.raw(`
    UPDATE locations
    SET online_url_confirmed = online_url IS NULL
      OR coalesce(confirmed_online_url = online_url AND upper(confirmed_code) = upper(code), false)`);
  await knex.schema.alterTable('locations', (table) => {
    table.dropColumn('confirmed_online_url');
    table.dropColumn('confirmed_code');
  });
}
