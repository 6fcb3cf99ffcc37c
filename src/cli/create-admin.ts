import 'dotenv/config';
import { parseArgs } from 'node:util';
import { buildContainer } from '../container';
import { migrateLatest } from '../platform/db/migrate';
import { generatePassword } from '../auth/password';
import { runCli } from './cli-support';

const USAGE = `Usage: npm run admin:create -- --email admin@example.com [--name "Jane Doe"]
Creates the admin, or resets the password of the account with that email and makes it an active admin.
The password is ADMIN_PASSWORD when set (at least 12 characters); otherwise one is generated and printed.
--email defaults to ADMIN_EMAIL.`;

const EMAIL = /^[^\s@]+@[^\s@]+$/;

let args: { email?: string; name?: string; help?: boolean };
try {
  args = parseArgs({
    options: { email: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}

if (args.help) {
  console.log(USAGE);
} else {
  await runCli(async ({ config, logger, db }) => {
    const email = (args.email ?? config.initialAdmin.email ?? '').trim().toLowerCase();
    if (!EMAIL.test(email)) {
      console.error(`${email ? `Not an email address: ${email}` : 'No email given.'}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    // Same schema as the app: a fresh database gets its tables here as it would at `npm start`.
    await migrateLatest(db);
    const { services } = await buildContainer({ config, db, logger });
    const password = config.initialAdmin.password ?? generatePassword();
    const admin = await services.auth.createOrResetAdmin(email, password, args.name?.trim() || 'Administrator');
    console.log(`Admin ready: ${admin.email} (user id ${admin.id}, location ${config.appLocation.code}).`);
    if (!config.initialAdmin.password) console.log(`Generated password (shown once): ${password}`);
  });
}
