import type { Knex } from 'knex';

// One email may now exist once per location (case-insensitive), instead of once overall.
const MAX_LISTED = 20;

interface Collision {
  location_id: number;
  email: string;
  ids: number[];
}

export async function up(knex: Knex): Promise<void> {
  const collisions: Collision[] = (
    await knex.raw(`
      SELECT location_id, lower(email) AS email, array_agg(id ORDER BY id) AS ids
      FROM users
      GROUP BY location_id, lower(email)
      HAVING count(*) > 1
      ORDER BY location_id, lower(email)`)
  ).rows;
  if (collisions.length > 0) {
    const listed = collisions
      .slice(0, MAX_LISTED)
      .map((c) => `location ${c.location_id}: ${c.email} (user ids ${c.ids.join(', ')})`)
      .join('; ');
    const more = collisions.length > MAX_LISTED ? ` and ${collisions.length - MAX_LISTED} more` : '';
    throw new Error(
      `Cannot make emails unique per location: ${collisions.length} email(s) appear more than once ` +
        `in the same location (ignoring case): ${listed}${more}. Merge or remove the duplicates, then migrate again.`,
    );
  }
  await knex.schema.alterTable('users', (table) => table.dropUnique(['email'], 'users_email_unique'));
  await knex.raw('CREATE UNIQUE INDEX users_location_email_unique ON users (location_id, lower(email))');
}

export async function down(knex: Knex): Promise<void> {
  const shared: { email: string; locations: number }[] = (
    await knex.raw(`
      SELECT lower(email) AS email, count(DISTINCT location_id)::int AS locations
      FROM users
      GROUP BY lower(email)
      HAVING count(*) > 1
      ORDER BY lower(email)
      LIMIT ${MAX_LISTED + 1}`)
  ).rows;
  if (shared.length > 0) {
    const listed = shared
      .slice(0, MAX_LISTED)
      .map((s) => `${s.email} (${s.locations} locations)`)
      .join(', ');
    throw new Error(
      `Cannot roll back to one account per email: these emails exist more than once: ${listed}` +
        `${shared.length > MAX_LISTED ? ', …' : ''}. Remove the extra accounts first.`,
    );
  }
  await knex.raw('DROP INDEX users_location_email_unique');
  await knex.schema.alterTable('users', (table) => table.unique(['email'], { indexName: 'users_email_unique' }));
}
