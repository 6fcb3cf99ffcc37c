import 'dotenv/config';
import { parseArgs } from 'node:util';
import { buildContainer } from '../container';
import { prepareSchema } from '../platform/db/migrate';
import { generatePassword } from '../auth/password';
import { emailLookAlikeReason, isValidEmail, normaliseEmail } from '../platform/email';
import { runCli } from './cli-support';

const USAGE = `Usage: npm run admin:create -- --email admin@example.com [--name "Jane Doe"] [--role admin|api]
Creates the account, or resets the password of the account with that email and makes it an active one
with that role. A reset signs the account out everywhere (its sessions and API tokens end).
--role admin (default): signs in to the admin pages; never to the API (unless API_ALLOW_ADMINS=1).
--role api: the account other Sinkron instances sync with (POST /api/auth/login, GET /api/users);
            never signs in to the admin pages. Give its email and password to the hub as
            EXTERNAL_API_<CODE>_EMAIL / EXTERNAL_API_<CODE>_PASSWORD.
The password is ADMIN_PASSWORD when set (at least 12 characters); otherwise one is generated and printed.
--email defaults to ADMIN_EMAIL.`;

let args: { email?: string; name?: string; role?: string; help?: boolean };
try {
  args = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', default: 'admin' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}

if (args.help) {
  console.log(USAGE);
} else {
  await runCli(async ({ config, logger, db }) => {
    const email = normaliseEmail(args.email ?? config.initialAdmin.email ?? '');
    const role = args.role === 'admin' || args.role === 'api' ? args.role : undefined;
    if (!role) {
      console.error(`Not a role: ${args.role} (admin or api)\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    const lookAlike = emailLookAlikeReason(email);
    if (lookAlike || !isValidEmail(email)) {
      console.error(`${lookAlike ? `Refused: ${lookAlike}` : email ? `Not an email address: ${email}` : 'No email given.'}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    // Same schema as the app: a fresh database gets its tables here as it would at `npm start`.
    await prepareSchema(db, { migrate: config.database.migrateOnStart });
    const { services } = await buildContainer({ config, db, logger });
    const password = config.initialAdmin.password ?? generatePassword();
    const account = await services.auth.createOrResetAccount(email, password, { role, name: args.name?.trim() || undefined });
    const what = role === 'api' ? 'API account' : 'Admin';
    console.log(`${what} ready: ${account.email} (user id ${account.id}, location ${config.appLocation.code}).`);
    if (!config.initialAdmin.password) console.log(`Generated password (shown once): ${password}`);
  });
}
