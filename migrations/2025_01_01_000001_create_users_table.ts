import type { Knex } from 'knex';

// The product's first schema: one account per email across every location.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.increments('id');
    table.integer('location_id').notNullable().references('id').inTable('locations').onDelete('RESTRICT');
    table.string('email', 320).notNullable().unique('users_email_unique');
    table.string('name', 255).notNullable().defaultTo('');
    table.string('role', 64).nullable();
    table.boolean('is_active').notNullable().defaultTo(true);
    table.string('remote_id', 255).nullable();
    table.string('password_hash', 255).nullable();
    table.timestamp('last_synced_at', { useTz: true }).nullable();
    table.timestamp('deactivated_at', { useTz: true }).nullable();
    table.timestamps(true, true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
